"""Faults under a running mvirt-vmm with real parts: a disk image on a full tmpfs (mounted in
a private mount namespace that dies with the VMM), a TAP deleted in the VM's network namespace,
and QMP clients that hang up in the middle of a command. Each time the guest gets an error
status or a link change, the VMM goes on, other devices keep working, and the host's log has
one line for the cause."""
import os
import shutil
import socket
import subprocess
import zlib

import pytest

from mvirt_test import require_kvm, require_root, wait_for, workdir  # noqa: F401 (fixture)
from qmp_client import GuideNet, QmpClient
from vmm_helpers import Vmm

# Where it runs: on a KVM (tests/run-pytest; tools/with-kvm when this host has none).
KVM = "any"

NO_SPACE = "failed a read, write or flush"
TAP_GONE = "the TAP's interface went away"


def warnings(vm):
    return [line for line in vm.stderr().splitlines()
            if ": warning: " in line or ": error: " in line]


def make_image(path, sectors):
    data = os.urandom(512 * sectors)
    with open(path, "wb") as f:
        f.write(data)
    return data


def full_tmpfs_prefix(mnt, image):
    """unshare -m: a 256 KiB tmpfs on mnt, a sparse 1 MiB image on it, and a filler file
    taking every free page, so that a write into a hole of the image gets ENOSPC. Then exec
    the VMM, whose mount namespace (and so the tmpfs) goes away with it."""
    script = (f"mount --make-rprivate / && mount -t tmpfs -o size=256k mvirt-full {mnt} && "
              f"truncate -s 1M {image} && "
              f"(dd if=/dev/zero of={mnt}/filler bs=4k 2>/dev/null || true) && "
              'exec "$@"')
    return ["unshare", "-m", "sh", "-c", script, "sh"]


def test_disk_full_gives_the_guest_an_io_error(workdir):  # noqa: F811
    require_kvm()
    require_root()
    if not shutil.which("unshare"):
        pytest.skip("unshare (util-linux) is not installed")
    mnt = os.path.join(workdir, "full")
    os.mkdir(mnt)
    image = os.path.join(mnt, "full.img")
    other = os.path.join(workdir, "other.img")
    data = make_image(other, 64)
    sock = os.path.join(workdir, "qmp.sock")
    vm = Vmm(workdir, ["-qmp", f"unix:{sock},server,nowait",
                       "-drive", f"file={image},id=d0", "-device", "virtio-blk-device,drive=d0,id=d0",
                       "-drive", f"file={other},id=d1", "-device", "virtio-blk-device,drive=d1,id=d1"],
             cmdline="probe.write=0:100:FULL probe.write=0:300:FULL probe.write=1:5:STILLOK",
             prefix=full_tmpfs_prefix(mnt, image))
    q = None
    try:
        vm.wait_event("ready", timeout=60)
        err = vm.wait_event("error", what="write-failed", dev="blk", index=0, sector=100)
        assert err["status"] == "1", err  # VIRTIO_BLK_S_IOERR
        vm.wait_event("error", what="write-failed", dev="blk", index=0, sector=300)
        # The other disk, on a file system with room, takes its write and reads it back.
        wrote = vm.wait_event("write", index=1, sector=5)
        back = [r for r in vm.events("read") if r["index"] == "1" and r["sector"] == "5"]
        assert back and back[0]["sum"] == wrote["sum"], vm.console()
        # The VMM still answers its QMP socket.
        q = QmpClient(sock)
        assert "return" in q.execute("query-status")
        assert vm.proc.alive()
        lines = [line for line in warnings(vm) if NO_SPACE in line and "muted" not in line]
        assert len(lines) == 1, vm.stderr()
        assert "virtio device at 0xd0000000:" in lines[0], lines
        assert "No space left on device" in lines[0], lines
        muted = [line for line in warnings(vm) if "muted" in line]
        assert len(muted) <= 1 and len(warnings(vm)) == 1 + len(muted), vm.stderr()
    finally:
        if q:
            q.close()
        rc = vm.stop()
    assert rc == 0, vm.stderr()
    # The tmpfs lived only in the VMM's mount namespace: nothing is mounted here.
    assert not os.path.ismount(mnt) and os.listdir(mnt) == []
    with open(other, "rb") as f:
        assert f.read(512) == data[:512]


def test_image_truncated_under_the_vm_gives_read_errors(workdir):  # noqa: F811
    """An image that shrinks after it was opened (another process truncates it): the guest's
    reads past the new end get VIRTIO_BLK_S_IOERR, the VMM logs one line and goes on, and the
    other disk keeps working. (No device-mapper 'error' target here: this kernel has no
    device-mapper, and a loop device on a full tmpfs gives ENOSPC, the disk-full case.)"""
    require_kvm()
    sock = os.path.join(workdir, "qmp.sock")
    image = os.path.join(workdir, "shrinks.img")
    make_image(image, 256)
    other = os.path.join(workdir, "other.img")
    data = make_image(other, 64)
    vm = Vmm(workdir, ["-qmp", f"unix:{sock},server,nowait",
                       "-drive", f"file={other},id=d0",
                       "-device", "virtio-blk-device,drive=d0,id=d0"])
    q = None
    try:
        vm.wait_event("ready", timeout=60)
        q = QmpClient(sock)
        q.ok("blockdev-add", {"node-name": "drive-1",
                              "file": {"driver": "file", "filename": image}})
        os.truncate(image, 0)  # the VMM already holds it, with 256 sectors
        q.ok("device_add", {"id": "drive-1", "driver": "virtio-blk-mmio", "addr": "0x1"})
        err = vm.wait_event("error", what="read-failed", dev="blk", index=1, sector=0)
        assert err["status"] == "1", err
        wait_for(lambda: any(NO_SPACE in line for line in warnings(vm)), 10,
                 what="the log line for the failed read")
        lines = [line for line in warnings(vm) if NO_SPACE in line and "muted" not in line]
        assert len(lines) == 1 and "Input/output error" in lines[0], vm.stderr()
        assert "virtio device at 0xd0001000:" in lines[0], lines
        # The slot empties and takes a sound image; the first disk is as it was.
        q.send("device_del", {"id": "drive-1"})
        assert q.read().get("event") == "DEVICE_DELETED"
        assert q.read() == {"return": {}}
        third = os.path.join(workdir, "third.img")
        data3 = make_image(third, 32)
        q.ok("blockdev-add", {"node-name": "drive-2",
                              "file": {"driver": "file", "filename": third}})
        q.ok("device_add", {"id": "drive-2", "driver": "virtio-blk-mmio", "addr": "0x1"})
        seen = vm.wait_event("blk", index=1, capacity=32)
        assert seen["sum0"] == f"{zlib.crc32(data3[:512]):08x}"
        assert vm.events("blk")[0]["sum0"] == f"{zlib.crc32(data[:512]):08x}"
        assert vm.proc.alive()
    finally:
        if q:
            q.close()
        rc = vm.stop()
    assert rc == 0, vm.stderr()


def test_tap_deleted_under_a_running_vm(workdir):  # noqa: F811
    require_kvm()
    require_root()
    net = GuideNet()
    sock = os.path.join(workdir, "qmp.sock")
    disk = os.path.join(workdir, "d.img")
    data = make_image(disk, 64)
    vm = None
    q = None
    try:
        vm = Vmm(workdir, ["-qmp", f"unix:{sock},server,nowait",
                           "-drive", f"file={disk},id=d0", "-device", "virtio-blk-device,drive=d0,id=d0"],
                 prefix=net.prefix())
        vm.wait_event("ready", timeout=60)
        q = QmpClient(sock)
        q.ok("netdev_add", {"id": "net-0", "ifname": "tap0"})
        q.ok("device_add", {"id": "net-0", "driver": "virtio-net-mmio"})
        vm.wait_event("net", index=0, link="up")
        assert net.ping("10.0.0.2"), vm.console()
        n_net = len(vm.events("net"))
        # The host deletes the TAP the VM is using.
        net.ip("link", "del", "tap0")
        vm.wait_event("net", after=n_net, index=0, link="down")
        wait_for(lambda: any(TAP_GONE in line for line in warnings(vm)), 10,
                 what="the log line for the deleted TAP")
        assert vm.proc.alive()
        assert "return" in q.execute("query-status")
        # The slot empties with device_del, and a new TAP plugs into it.
        q.send("device_del", {"id": "net-0"})
        event = q.read()
        assert event.get("event") == "DEVICE_DELETED", event
        assert event["data"]["device"] == "net-0"
        assert q.read() == {"return": {}}
        net.ip("tuntap", "add", "tap9", "mode", "tap")
        net.ip("link", "set", "tap9", "master", "qbr0")
        net.ip("link", "set", "tap9", "up")
        q.ok("netdev_add", {"id": "net-9", "ifname": "tap9"})
        n_net = len(vm.events("net"))
        q.ok("device_add", {"id": "net-9", "driver": "virtio-net-mmio"})
        vm.wait_event("net", after=n_net, index=0, link="up")
        assert net.ping("10.0.0.2"), vm.console()
        # The disk was never disturbed.
        vm_reads = [b for b in vm.events("blk") if b["index"] == "0"]
        assert vm_reads[0]["sum0"] == f"{zlib.crc32(data[:512]):08x}"
        lines = [line for line in warnings(vm) if TAP_GONE in line]
        assert len(lines) == 1 and len(warnings(vm)) == 1, vm.stderr()
    finally:
        if q:
            q.close()
        if vm:
            rc = vm.stop()
        net.close()
    assert rc == 0, vm.stderr()


def test_qmp_client_hangs_up_mid_command(workdir):  # noqa: F811
    require_kvm()
    sock = os.path.join(workdir, "qmp.sock")
    vm = Vmm(workdir, ["-qmp", f"unix:{sock},server,nowait"])
    try:
        vm.wait_event("ready", timeout=60)
        for _ in range(3):
            # Half a command, then the client is gone.
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(sock)
            s.recv(4096)  # the greeting
            s.sendall(b'{"execute": "qmp_capabilities"}\r\n{"execute": "query-sl')
            s.close()
            # A whole command whose reply nobody reads, closed at once (RST on the reply).
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(sock)
            s.sendall(b'{"execute": "qmp_capabilities"}\r\n{"execute": "query-slots"}\r\n'
                      * 20)
            s.close()
            # The next client is served in full.
            q = QmpClient(sock)
            slots = q.execute("query-slots")
            assert "return" in slots, slots
            q.close()
        assert vm.proc.alive()
        assert [line for line in warnings(vm) if ": error: " in line] == [], vm.stderr()
    finally:
        rc = vm.stop()
    assert rc == 0, vm.stderr()


def test_mount_namespace_helper_needs_no_host_mount(workdir):  # noqa: F811
    """The disk-full test's namespace trick itself: the tmpfs is seen inside, never here."""
    require_root()
    if not shutil.which("unshare"):
        pytest.skip("unshare (util-linux) is not installed")
    mnt = os.path.join(workdir, "full")
    os.mkdir(mnt)
    image = os.path.join(mnt, "full.img")
    out = subprocess.run([*full_tmpfs_prefix(mnt, image), "sh", "-c",
                          f"df -k {mnt} | tail -1; dd if=/dev/zero of={image} bs=512 count=1 "
                          "seek=7 conv=notrunc 2>&1 || echo ENOSPC-SEEN"],
                         capture_output=True, text=True, timeout=30)
    assert "mvirt-full" in out.stdout, out
    assert "ENOSPC-SEEN" in out.stdout or "No space left" in out.stdout, out
    assert not os.path.ismount(mnt)
