"""Privilege separation: mvirtd opens the images and TAPs and passes them to a VMM that runs as
an unprivileged user with no capabilities in a sandbox; image paths are checked against the
image folders (--image-dir) and devices are refused unless allowed (--allow-devices)."""
import os
import re
import shutil
import stat
import tempfile

import dbus
import pytest

from mvirt_test import (dbus_bus, env_path, netns, require_kvm, require_root, wait_for,  # noqa: F401
                        workdir)
from mvirtd_helpers import (Mvirtd, Signals, _vmm_pids, dbus_error_name, disk_xml, domain_xml,
                            make_image, mvirtd, nic_xml, stop_daemon)  # noqa: F401
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
        # A domain whose root disk lies outside does not start, and says why.
        _, props, path = mvirtd.define(domain_xml("outside", env_path("MVIRT_PROBE"), outside))
        dom2 = mvirtd.domain(path)[0]
        with pytest.raises(dbus.DBusException) as e:
            dom2.Start()
        assert dbus_error_name(e) == "org.mvirt.Error.InvalidArgument"
        assert outside in str(e.value)
        assert mvirtd.state(props) == "shutoff"
    finally:
        shutil.rmtree(outside_dir)
    dom.Destroy()
