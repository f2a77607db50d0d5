"""mvirt-vmm giving up privileges once the VM is built: -runas USER (uid, gid, no capabilities,
no_new_privs) and -sandbox DIR (a private mount namespace where only DIR is visible, so
hot-plug works only with descriptors passed by getfd), each running the probe on real KVM."""
import os
import pwd
import zlib

import pytest

from mvirt_test import require_kvm, require_root, workdir  # noqa: F401 (fixture)
from qmp_client import QmpClient
from vmm_helpers import Vmm

# Where it runs: on a KVM (tests/run-pytest; tools/with-kvm when this host has none).
KVM = "any"


def make_image(path, sectors):
    data = os.urandom(512 * sectors)
    with open(path, "wb") as f:
        f.write(data)
    return f"{zlib.crc32(data[:512]):08x}"


def status_fields(pid):
    with open(f"/proc/{pid}/status") as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)


def nobody():
    try:
        return pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("there is no user 'nobody' on this machine")


def test_runas_nobody_runs_the_probe_without_capabilities(workdir):  # noqa: F811
    require_kvm()
    require_root()
    who = nobody()
    disk = os.path.join(workdir, "d.img")
    sum0 = make_image(disk, 64)
    sock = os.path.join(workdir, "qmp.sock")
    vm = Vmm(workdir, ["-runas", "nobody", "-qmp", f"unix:{sock},server,nowait",
                       "-drive", f"file={disk},id=d0",
                       "-device", "virtio-blk-device,drive=d0,id=d0"],
             cmdline="probe.write=0:3:ASNOBODY")
    q = None
    try:
        vm.wait_event("ready", timeout=60)
        assert vm.events("blk")[0]["sum0"] == sum0
        # The image was opened as root; writes go through the open descriptor.
        vm.wait_event("write", index=0, sector=3)
        st = status_fields(vm.pid)
        assert st["Uid"].split() == [str(who.pw_uid)] * 4, st["Uid"]
        assert st["Gid"].split() == [str(who.pw_gid)] * 4, st["Gid"]
        assert st["Groups"].split() in ([str(who.pw_gid)], []), st["Groups"]
        for caps in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
            assert int(st[caps], 16) == 0, (caps, st[caps])
        assert st["NoNewPrivs"] == "1"
        assert st["Seccomp"] == "2"  # the allowlists are still installed
        q = QmpClient(sock)
        assert "return" in q.execute("query-status")
        # A hot-plug by path is now subject to nobody's permissions: a clear refusal.
        secret = os.path.join(workdir, "root-only.img")
        make_image(secret, 8)
        os.chmod(secret, 0o600)
        r = q.execute("blockdev-add", {"node-name": "drive-1",
                                       "file": {"driver": "file", "filename": secret}})
        assert "error" in r and secret in r["error"]["desc"], r
        assert "Running as uid" in vm.stderr()
    finally:
        if q:
            q.close()
        rc = vm.stop()
    assert rc == 0, vm.stderr()
    with open(disk, "rb") as f:
        f.seek(3 * 512)
        assert f.read(8) == b"ASNOBODY"


def test_runas_unknown_user_is_refused(workdir):  # noqa: F811
    require_kvm()
    vm = Vmm(workdir, ["-runas", "no-such-user-mvirt"])
    try:
        assert vm.wait_exit(30) == 1
        assert "The user 'no-such-user-mvirt' (-runas) does not exist" in vm.stderr()
    finally:
        vm.stop()


@pytest.mark.parametrize("spec", ["nobody:root", "nobody:0"])
def test_runas_group_root_is_refused(workdir, spec):  # noqa: F811
    """Group 0 is refused as user 0 is, before anything runs."""
    require_kvm()
    nobody()
    vm = Vmm(workdir, ["-runas", spec])
    try:
        assert vm.wait_exit(30) == 1
        assert "is root (group 0)" in vm.stderr()
    finally:
        vm.stop()


def test_sandbox_hotplug_only_through_getfd(workdir):  # noqa: F811
    require_kvm()
    require_root()
    run = os.path.join(workdir, "run")
    os.mkdir(run)
    sock = os.path.join(run, "qmp.sock")
    image = os.path.join(workdir, "outside.img")
    sum0 = make_image(image, 128)
    vm = Vmm(workdir, ["-sandbox", run, "-runas", "nobody",
                       "-qmp", f"unix:{sock},server,nowait"])
    q = None
    try:
        vm.wait_event("ready", timeout=60)
        # Only the runtime directory is visible to the VMM.
        root = os.listdir(f"/proc/{vm.pid}/root/")
        assert root == [run.split("/")[1]], root
        assert os.listdir(f"/proc/{vm.pid}/root{run}") == ["qmp.sock"]
        assert not os.path.exists(f"/proc/{vm.pid}/root{image}")
        q = QmpClient(sock)
        r = q.execute("blockdev-add", {"node-name": "drive-0",
                                       "file": {"driver": "file", "filename": image}})
        assert "error" in r, r
        desc = r["error"]["desc"]
        assert "sandbox" in desc and image in desc and "getfd" in desc, desc
        r = q.execute("netdev_add", {"id": "net-0", "ifname": "tap0"})
        assert "error" in r and "getfd" in r["error"]["desc"], r
        # The same image passed as a descriptor plugs and the probe reads it.
        fd = os.open(image, os.O_RDWR | os.O_CLOEXEC)
        try:
            q.send("getfd", {"fdname": "img0"}, fds=[fd])
            assert q.reply() == {"return": {}}
        finally:
            os.close(fd)
        q.ok("blockdev-add", {"node-name": "drive-0", "file": {"driver": "file", "fd": "img0"}})
        q.ok("device_add", {"id": "drive-0", "driver": "virtio-blk-mmio"})
        seen = vm.wait_event("blk", capacity=128)
        assert seen["sum0"] == sum0
        assert vm.proc.alive()
    finally:
        if q:
            q.close()
        rc = vm.stop()
    assert rc == 0, vm.stderr()


def test_pidfile_and_logs_are_not_opened_through_links(workdir):  # noqa: F811
    """-pidfile (O_TRUNC), -D and logfile= (O_APPEND) are opened as root
    in a folder another user may own: a symlink or a hard link there is refused, and the file
    it points to is left as it was."""
    require_kvm()
    require_root()
    victim = os.path.join(workdir, "victim")
    with open(victim, "w") as f:
        f.write("root's own text\n")
    cases = {
        "pid": ["-pidfile", os.path.join(workdir, "vmm.pid")],
        "log": ["-D", os.path.join(workdir, "vmm.log")],
        "console": ["-serial", f"unix:{workdir}/console.sock,logfile={workdir}/console.log"],
    }
    for what, args in cases.items():
        for kind in ("symlink", "hardlink"):
            target = args[1] if what != "console" else os.path.join(workdir, "console.log")
            if kind == "symlink":
                os.symlink(victim, target)
            else:
                os.link(victim, target)
            vm = Vmm(workdir, args, name=f"links-{what}-{kind}")
            try:
                assert vm.wait_exit(30) == 1, f"{what} {kind}"
            finally:
                vm.stop()
                os.unlink(target)
            with open(victim) as f:
                assert f.read() == "root's own text\n", f"{what} written through a {kind}"
