"""Privilege separation: mvirtd opens the images and TAPs and passes them to a VMM that runs as
an unprivileged user with no capabilities in a sandbox; image paths are checked against the
image folders (--image-dir) and devices are refused unless allowed (--allow-devices)."""
import json
import os
import re
import shutil
import stat
import tempfile
import time

import dbus
import pytest

from mvirt_test import (dbus_bus, env_path, netns, require_kvm, require_root, wait_for,  # noqa: F401
                        workdir)
from mvirtd_helpers import (Mvirtd, QmpSession, Signals, _vmm_pids, dbus_error_name,  # noqa: F401
                            disk_xml, domain_xml, kill_vmms, make_image, mvirtd, nic_xml,
                            stop_daemon)
from mvirtd_helpers import console  # complete lines only

# Where it runs: on a KVM (tests/run-pytest; tools/with-kvm when this host has none).
KVM = "any"


def boot(d, workdir, name, cmdline=""):
    require_kvm()
    img = make_image(os.path.join(workdir, f"{name}-root.img"))
    dom, props, path = d.define(domain_xml(name, env_path("MVIRT_PROBE"), img, cmdline=cmdline))
    sig = Signals(d.bus, path)
    dom.Start()
    sig.wait("StateChanged", "running")
    wait_for(lambda: "PROBE ready" in console(d, name), 60, what="the probe to be ready")
    return dom, sig


def proc_status(pid):
    with open(f"/proc/{pid}/status") as f:
        return dict(line.split(":", 1) for line in f.read().splitlines() if ":" in line)


@pytest.fixture
def daemon_nobody(workdir, dbus_bus, netns):
    require_root()
    d = Mvirtd(workdir, dbus_bus.address, netns=netns, extra_args=["--vmm-user", "nobody"])
    d.start()
    try:
        yield d
    finally:
        stop_daemon(d, destroy=True)


def test_vmm_runs_as_nobody_without_capabilities_and_hotplug_works(daemon_nobody, workdir,
                                                                    netns):
    d = daemon_nobody
    dom, sig = boot(d, workdir, "priv", cmdline="probe.ip=10.0.0.2")
    [pid] = _vmm_pids(d.runtime_dir)
    st = proc_status(pid)
    assert st["Uid"].split() == ["65534"] * 4, st["Uid"]
    assert int(st["CapEff"], 16) == 0 and int(st["CapPrm"], 16) == 0, st
    assert int(st["CapBnd"], 16) == 0 and int(st["NoNewPrivs"]) == 1, st
    # The sandbox: a mount namespace of its own.
    assert os.readlink(f"/proc/{pid}/ns/mnt") != os.readlink("/proc/self/ns/mnt")
    # Its runtime folder belongs to it; the daemon still reaches the sockets in it.
    rundir = os.path.join(d.runtime_dir, "priv")
    assert os.stat(rundir).st_uid == 65534
    assert stat.S_IMODE(os.stat(rundir).st_mode) == 0o700
    # A disk the VMM's user cannot read (root's, mode 0600) is hot-plugged through getfd.
    img = make_image(os.path.join(workdir, "data.img"), 4 << 20)
    os.chmod(img, 0o600)
    dom.AttachDevice(disk_xml(img, "vdc"), 1)
    assert sig.wait("DeviceAdded")[0] == "disk-vdc"
    wait_for(lambda: "8192" in re.findall(r"PROBE blk index=2 capacity=(\d+)",
                                          console(d, "priv")), 30, what="the probe to see vdc")
    # A bridged NIC: the TAP made by the daemon, passed with getfd; the host pings the guest.
    dom.AttachDevice(nic_xml("mvbr0", tap="mvpriv0"), 1)
    alias = sig.wait("DeviceAdded")[0]
    wait_for(lambda: re.search(r"PROBE net index=0 mac=\S+ link=up", console(d, "priv")), 30,
             what="the probe to see eth0 up")
    netns.run("ip", "addr", "add", "10.0.0.1/24", "dev", "mvbr0")
    wait_for(lambda: netns.run("ping", "-c", "1", "-W", "1", "10.0.0.2",
                               check=False).returncode == 0,
             30, what="the guest to answer ping through the bridge")
    dom.DetachDeviceAlias(alias, 1)
    sig.wait("DeviceRemoved", alias)
    dom.DetachDeviceAlias("disk-vdc", 1)
    sig.wait("DeviceRemoved", "disk-vdc")
    wait_for(lambda: re.findall(r"PROBE blk index=2 capacity=(\d+)", console(d, "priv"))[-1]
             == "0", 30, what="the probe to lose vdc")
    dom.Destroy()
    sig.wait("StateChanged", "shutoff")


def test_image_outside_the_image_folders_is_refused(mvirtd, workdir):
    dom, sig = boot(mvirtd, workdir, "paths")
    outside_dir = tempfile.mkdtemp(prefix="mvirt-outside-", dir="/var/tmp")
    try:
        outside = make_image(os.path.join(outside_dir, "o.img"))
        with pytest.raises(dbus.DBusException) as e:
            dom.AttachDevice(disk_xml(outside, "vdb"), 1)
        assert dbus_error_name(e) == "org.mvirt.Error.InvalidArgument"
        assert outside in str(e.value) and workdir in str(e.value), str(e.value)
        assert "--image-dir" in str(e.value)
        # A symlink inside an image folder does not lead out of it.
        link = os.path.join(workdir, "link.img")
        os.symlink(outside, link)
        with pytest.raises(dbus.DBusException) as e:
            dom.AttachDevice(disk_xml(link, "vdb"), 1)
        assert dbus_error_name(e) == "org.mvirt.Error.InvalidArgument"
        assert link in str(e.value)
        # A device node inside an image folder is refused without --allow-devices.
        if os.geteuid() == 0:
            node = os.path.join(workdir, "null.img")
            os.mknod(node, stat.S_IFCHR | 0o600, os.makedev(1, 3))
            with pytest.raises(dbus.DBusException) as e:
                dom.AttachDevice(disk_xml(node, "vdb"), 1)
            assert dbus_error_name(e) == "org.mvirt.Error.InvalidArgument"
            assert "--allow-devices" in str(e.value) and node in str(e.value)
        # Nothing was plugged: the live definition still has only the root disk.
        assert "vdb" not in str(dom.GetXML(1))
        # A domain whose root disk lies outside is not even defined, and says why.
        with pytest.raises(dbus.DBusException) as e:
            mvirtd.define(domain_xml("outside", env_path("MVIRT_PROBE"), outside))
        assert dbus_error_name(e) == "org.mvirt.Error.InvalidArgument"
        assert outside in str(e.value)
        # --config alone (flags=2) is refused at once too, not at the next Start.
        with pytest.raises(dbus.DBusException) as e:
            dom.AttachDevice(disk_xml(outside, "vdb"), 2)
        assert dbus_error_name(e) == "org.mvirt.Error.InvalidArgument"
        assert outside in str(e.value)
        assert "vdb" not in str(dom.GetXML(2))
    finally:
        shutil.rmtree(outside_dir)
    dom.Destroy()


def test_links_planted_by_the_vmm_user_are_not_followed(daemon_nobody, workdir):
    """The domain's runtime folder belongs to the VMM's user, who can
    plant vmm.log, console.log and vmm.pid as symlinks to root's files. Root (mvirtd, and the
    VMM before it drops privileges) must neither append to nor truncate those files."""
    d = daemon_nobody
    dom, sig = boot(d, workdir, "links")
    dom.Destroy()
    sig.wait("StateChanged", "shutoff")
    rundir = os.path.join(d.runtime_dir, "links")
    victims = {}
    for name in ("vmm.log", "console.log", "vmm.pid"):
        victim = os.path.join(workdir, f"victim-{name}")
        with open(victim, "w") as f:
            f.write("root's own text\n")
        os.chmod(victim, 0o600)
        victims[name] = victim
        path = os.path.join(rundir, name)
        if os.path.lexists(path):
            os.unlink(path)
        # Planted as the VMM's user would: a symlink it owns, in its folder.
        os.symlink(victim, path)
        os.lchown(path, 65534, 65534)
    dom.Start()
    sig.wait("StateChanged", "running")
    wait_for(lambda: "PROBE ready" in console(d, "links"), 60, what="the probe to be ready")
    for name, victim in victims.items():
        with open(victim) as f:
            assert f.read() == "root's own text\n", f"{name} was written through its link"
        path = os.path.join(rundir, name)
        assert not os.path.islink(path), name
        st = os.lstat(path)
        assert stat.S_ISREG(st.st_mode) and st.st_uid == 0 and st.st_nlink == 1, name
    dom.Destroy()
    sig.wait("StateChanged", "shutoff")


def test_kernel_and_initrd_follow_the_image_folders(mvirtd, workdir):
    """<kernel> and <initrd> are read by the VMM as root, and the initrd
    lands in guest memory: outside the image folders they are refused at define, and a kernel
    swapped for a link to outside after define does not start (it is passed by fd)."""
    probe = env_path("MVIRT_PROBE")
    for kernel, initrd in (("/etc/shadow", None), (probe, "/etc/gshadow")):
        xml = domain_xml("escape", kernel)
        if initrd:
            xml = xml.replace("</kernel>", f"</kernel><initrd>{initrd}</initrd>")
        with pytest.raises(dbus.DBusException) as e:
            mvirtd.define(xml)
        assert dbus_error_name(e) == "org.mvirt.Error.InvalidArgument", str(e.value)
        assert (initrd or kernel) in str(e.value)
    assert list(mvirtd.manager().ListDomains()) == []
    # A kernel inside a folder at define time, a link to outside at Start.
    kernel = os.path.join(workdir, "vmlinuz")
    shutil.copy(probe, kernel)
    dom, props, _ = mvirtd.define(domain_xml("swapped", kernel))
    os.unlink(kernel)
    os.symlink("/etc/shadow", kernel)
    with pytest.raises(dbus.DBusException) as e:
        dom.Start()
    assert dbus_error_name(e) == "org.mvirt.Error.InvalidArgument", str(e.value)
    assert kernel in str(e.value)
    assert mvirtd.state(props) == "shutoff"
    # The probe kernel in its folder boots, passed by fd: the VMM names /proc/self/fd/N.
    os.unlink(kernel)
    shutil.copy(probe, kernel)
    dom.Start()
    wait_for(lambda: "PROBE ready" in console(mvirtd, "swapped"), 60, what="the probe")
    [pid] = _vmm_pids(mvirtd.runtime_dir)
    with open(f"/proc/{pid}/cmdline") as f:
        argv = f.read().split("\0")
    assert argv[argv.index("-kernel") + 1].startswith("/proc/self/fd/"), argv
    dom.Destroy()


def test_qmp_socket_link_to_another_vmm_is_not_used(daemon_nobody, workdir):
    """qmp.sock lies in the VMM user's folder. A link planted
    there to another domain's socket must not make mvirtd reconcile (and unplug) that other
    domain's devices: mvirtd checks that the peer is the domain's own VMM."""
    d = daemon_nobody
    dom_a, sig_a = boot(d, workdir, "qa")
    dom_b, sig_b = boot(d, workdir, "qb")
    img = make_image(os.path.join(workdir, "b-data.img"))
    dom_b.AttachDevice(disk_xml(img, "vdb"), 1)
    assert sig_b.wait("DeviceAdded")[0] == "disk-vdb"
    sock_b = os.path.join(d.runtime_dir, "qb", "qmp.sock")

    def b_has_disk():
        q = QmpSession(sock_b)
        try:
            return "disk-vdb" in json.dumps(q.slots())
        finally:
            q.close()
    assert b_has_disk()
    pids = _vmm_pids(d.runtime_dir)
    d.kill9()
    sock_a = os.path.join(d.runtime_dir, "qa", "qmp.sock")
    os.unlink(sock_a)
    os.symlink(sock_b, sock_a)
    os.lchown(sock_a, 65534, 65534)
    d.start()
    dom_b, props_b = d.domain(d.manager().LookupByName("qb"))
    wait_for(lambda: d.state(props_b) == "running", 30, what="qb to be restored")
    time.sleep(2)  # the restore of qa has run by now
    assert b_has_disk(), d.log()
    assert "disk-vdb" in str(dom_b.GetXML(1))
    kill_vmms(pids)
