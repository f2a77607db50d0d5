"""AttachDevice / DetachDevice through D-Bus on real VMMs booting the probe, with the probe
confirming each change on its console; NICs with real TAPs and bridges in a private
network namespace, and the host pinging the guest through the bridge.
"""
import os
import re
import time
import xml.etree.ElementTree as ET

import dbus
import pytest

from mvirt_test import (dbus_bus, env_path, netns, require_kvm, require_root, wait_for,  # noqa: F401
                        workdir)
from mvirtd_helpers import (Mvirtd, Signals, dbus_error_name, disk_xml, domain_xml, make_image,
                            mvirtd, nic_xml)  # noqa: F401
from mvirtd_helpers import console  # complete lines only

# Where it runs: on a KVM (tests/run-pytest; tools/with-kvm when this host has none).
KVM = "any"

MAC0 = "52:54:00:aa:00:01"


def blk_lines(d, name, index):
    return re.findall(rf"PROBE blk index={index} capacity=(\d+)", console(d, name))


def boot(d, workdir, name, extra="", cmdline=""):
    require_kvm()
    img = make_image(os.path.join(workdir, f"{name}-root.img"))
    dom, props, path = d.define(domain_xml(name, env_path("MVIRT_PROBE"), img,
                                           extra_devices=extra, cmdline=cmdline))
    sig = Signals(d.bus, path)
    dom.Start()
    sig.wait("StateChanged", "running")
    wait_for(lambda: "PROBE ready" in console(d, name), 60, what="the probe to be ready")
    return dom, props, sig


def test_disk_attach_detach_live(mvirtd, workdir):
    dom, props, sig = boot(mvirtd, workdir, "hp")
    img = make_image(os.path.join(workdir, "data.img"), 4 << 20)
    t0 = time.monotonic()
    dom.AttachDevice(disk_xml(img, "vdc"), 1)
    call_ms = (time.monotonic() - t0) * 1000
    assert sig.wait("DeviceAdded")[0] == "disk-vdc"
    wait_for(lambda: "8192" in blk_lines(mvirtd, "hp", 2), 30, what="the probe to see vdc")
    print(f"AttachDevice(disk) D-Bus call: {call_ms:.1f} ms")
    live = ET.fromstring(str(dom.GetXML(1)))
    assert [t.get("dev") for t in live.findall("devices/disk/target")] == ["vda", "vdc"]
    config = ET.fromstring(str(dom.GetXML(2)))
    assert [t.get("dev") for t in config.findall("devices/disk/target")] == ["vda"]
    # The same slot again, the root disk, a missing image: typed errors, nothing changes.
    with pytest.raises(dbus.DBusException) as e:
        dom.AttachDevice(disk_xml(img, "vdc"), 1)
    assert dbus_error_name(e) == "org.mvirt.Error.AlreadyExists"
    with pytest.raises(dbus.DBusException) as e:
        dom.AttachDevice(disk_xml(os.path.join(workdir, "missing.img"), "vdd"), 1)
    assert dbus_error_name(e) == "org.mvirt.Error.Failed"
    assert "blockdev-add" in str(e.value)
    with pytest.raises(dbus.DBusException) as e:
        dom.DetachDevice(disk_xml(os.path.join(workdir, "hp-root.img"), "vda"), 1)
    assert dbus_error_name(e) == "org.mvirt.Error.InvalidArgument"
    # Detach: DEVICE_DELETED, DeviceRemoved, the probe sees capacity 0.
    dom.DetachDevice(disk_xml(img, "vdc"), 1)
    assert sig.wait("DeviceRemoved")[0] == "disk-vdc"
    wait_for(lambda: blk_lines(mvirtd, "hp", 2)[-1] == "0", 30, what="the probe to lose vdc")
    live = ET.fromstring(str(dom.GetXML(1)))
    assert [t.get("dev") for t in live.findall("devices/disk/target")] == ["vda"]
    # Detach by alias (device.rng requires <target>, so every disk names its slot).
    dom.AttachDevice(disk_xml(img, "vdb"), 1)
    assert sig.wait("DeviceAdded")[0] == "disk-vdb"
    dom.DetachDeviceAlias("disk-vdb", 1)
    assert sig.wait("DeviceRemoved")[0] == "disk-vdb"
    dom.Destroy()


def test_disk_persistent_comes_back_after_restart(mvirtd, workdir):
    dom, props, sig = boot(mvirtd, workdir, "pers")
    img = make_image(os.path.join(workdir, "p.img"), 2 << 20)
    dom.AttachDevice(disk_xml(img, "vdb"), 3)
    sig.wait("DeviceAdded", "disk-vdb")
    config = ET.fromstring(str(dom.GetXML(2)))
    assert [t.get("dev") for t in config.findall("devices/disk/target")] == ["vda", "vdb"]
    dom.Destroy()
    sig.wait("StateChanged", "shutoff")
    os.remove(os.path.join(mvirtd.runtime_dir, "pers", "console.log"))
    dom.Start()
    sig.wait("StateChanged", "running")
    wait_for(lambda: "4096" in blk_lines(mvirtd, "pers", 1), 60, what="vdb after restart")
    dom.Destroy()


@pytest.fixture
def mvirtd_ns(workdir, dbus_bus, netns):
    d = Mvirtd(workdir, dbus_bus.address, netns=netns).start()
    try:
        yield d
    finally:
        try:
            d.destroy_all()
        except dbus.DBusException:
            pass
        d.stop()


def links(netns):
    return netns.run("ip", "-o", "link", "show").stdout


def test_nic_attach_ping_detach(mvirtd_ns, workdir, netns):
    require_root()
    d = mvirtd_ns
    dom, props, sig = boot(d, workdir, "net", cmdline="probe.ip=10.0.0.2")
    before = links(netns)
    # A MAC no free slot has: refused, with the slots' MACs and the way out.
    with pytest.raises(dbus.DBusException) as e:
        dom.AttachDevice(nic_xml("mvbr0", mac="52:54:00:ff:ff:ff"), 1)
    assert dbus_error_name(e) == "org.mvirt.Error.InvalidArgument"
    assert "--config" in str(e.value)
    assert links(netns) == before
    t0 = time.monotonic()
    dom.AttachDevice(nic_xml("mvbr0", tap="mvtest0"), 1)
    call_ms = (time.monotonic() - t0) * 1000
    alias = sig.wait("DeviceAdded")[0]
    print(f"AttachDevice(nic) D-Bus call: {call_ms:.1f} ms")
    out = links(netns)
    assert "mvtest0" in out and "master mvbr0" in out
    wait_for(lambda: re.search(r"PROBE net index=0 mac=\S+ link=up", console(d, "net")), 30,
             what="the probe to see eth0 up")
    netns.run("ip", "addr", "add", "10.0.0.1/24", "dev", "mvbr0")
    wait_for(lambda: netns.run("ping", "-c", "1", "-W", "1", "10.0.0.2", check=False).returncode == 0,
             30, what="the guest to answer ping through the bridge")
    dom.DetachDeviceAlias(alias, 1)
    sig.wait("DeviceRemoved", alias)
    wait_for(lambda: "mvtest0" not in links(netns), 10, what="the TAP to go")
    # The bridge was made by mvirtd and is empty: it goes too.
    wait_for(lambda: "mvbr0" not in links(netns), 10, what="the bridge to go")
    dom.Destroy()


def test_nic_without_mac_detached_with_the_same_xml(mvirtd_ns, workdir, netns):
    """libvirt's way: the XML attach-device took, without <mac>, detaches it."""
    require_root()
    d = mvirtd_ns
    dom, props, sig = boot(d, workdir, "nomac")
    xml = nic_xml("mvbr2")
    dom.AttachDevice(xml, 1)
    alias = sig.wait("DeviceAdded")[0]
    dom.DetachDevice(xml, 1)
    assert sig.wait("DeviceRemoved", alias)[0] == alias
    wait_for(lambda: "mvbr2" not in links(netns), 10, what="the bridge to go")
    assert ET.fromstring(str(dom.GetXML(1))).find("devices/interface") is None
    dom.Destroy()


def test_nic_failure_rolls_back(mvirtd_ns, workdir, netns):
    require_root()
    d = mvirtd_ns
    dom, props, sig = boot(d, workdir, "rb")
    netns.run("ip", "tuntap", "add", "dev", "taken0", "mode", "tap")
    before = links(netns)
    with pytest.raises(dbus.DBusException) as e:
        dom.AttachDevice(nic_xml("mvbr1", tap="taken0"), 1)
    assert dbus_error_name(e) == "org.mvirt.Error.AlreadyExists"
    assert "taken0" in str(e.value)
    assert links(netns) == before  # no TAP, no bridge left behind
    with pytest.raises(dbus.DBusException) as e:
        dom.AttachDevice(nic_xml("bad name!"), 1)
    assert dbus_error_name(e) in ("org.mvirt.Error.InvalidXML", "org.mvirt.Error.InvalidArgument")
    live = ET.fromstring(str(dom.GetXML(1)))
    assert live.findall("devices/interface") == []
    dom.Destroy()


def test_first_disk_hot_plugged_into_a_diskless_domain_detaches(mvirtd, workdir):
    """A domain that booted without disks has no root disk: the first disk hot-plugged into
    it is a data disk like any other (it once read as the root and could never leave)."""
    require_kvm()
    dom, props, path = mvirtd.define(domain_xml("bare", env_path("MVIRT_PROBE")))
    sig = Signals(mvirtd.bus, path)
    dom.Start()
    sig.wait("StateChanged", "running")
    wait_for(lambda: "PROBE ready" in console(mvirtd, "bare"), 60, what="the probe to be ready")
    img = make_image(os.path.join(workdir, "first.img"), 4 << 20)
    dom.AttachDevice(disk_xml(img, "vdb"), 1)
    assert sig.wait("DeviceAdded")[0] == "disk-vdb"
    wait_for(lambda: "8192" in blk_lines(mvirtd, "bare", 1), 30, what="the probe to see vdb")
    dom.DetachDevice(disk_xml(img, "vdb"), 1)
    assert sig.wait("DeviceRemoved")[0] == "disk-vdb"
    live = ET.fromstring(str(dom.GetXML(1)))
    assert live.findall("devices/disk") == []
