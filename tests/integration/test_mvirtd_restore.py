"""Restore: mvirtd killed with SIGKILL and started again reconnects to running VMMs and
reconciles their slots with the store; a VMM that died is started again with its persistent
hot-plugged devices. Real dbus-daemon, mvirtd, KVM and the probe.
"""
import json
import os
import re
import signal
import socket
import xml.etree.ElementTree as ET

from mvirt_test import (dbus_bus, env_path, netns, require_kvm, require_root,  # noqa: F401
                        wait_for, workdir)
from mvirtd_helpers import Mvirtd, Signals, disk_xml, domain_xml, make_image, stop_daemon
from mvirtd_helpers import console  # complete lines only

# Where it runs: on a KVM (tests/run-pytest; tools/with-kvm when this host has none).
KVM = "any"


def blk(d, name, index):
    return re.findall(rf"PROBE blk index={index} capacity=(\d+)", console(d, name))


def vmm_pid(d, name):
    with open(os.path.join(d.runtime_dir, name, "vmm.pid")) as f:
        return int(f.read().strip())


def live_targets(dom):
    return [t.get("dev") for t in ET.fromstring(str(dom.GetXML(1))).findall("devices/disk/target")]


def qmp(path, *commands):
    """Speaks QMP to a VMM directly (the daemon is down): returns each command's reply."""
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(10)
    s.connect(path)
    f = s.makefile("rw")
    json.loads(f.readline())
    replies = []
    for cmd in ({"execute": "qmp_capabilities"},) + commands:
        f.write(json.dumps(cmd) + "\n")
        f.flush()
        while True:
            msg = json.loads(f.readline())
            if "event" not in msg:
                replies.append(msg)
                break
    s.close()
    return replies[1:]


def start_vm(d, workdir, name, **kw):
    require_kvm()
    img = make_image(os.path.join(workdir, f"{name}-root.img"))
    dom, props, path = d.define(domain_xml(name, env_path("MVIRT_PROBE"), img, **kw))
    sig = Signals(d.bus, path)
    dom.Start()
    sig.wait("StateChanged", "running")
    wait_for(lambda: "PROBE ready" in console(d, name), 60, what="the probe to be ready")
    return dom, props, sig, path


def daemon(workdir, dbus_bus):
    return Mvirtd(workdir, dbus_bus.address).start()


def cleanup(d, pids):
    stop_daemon(d, destroy=True, pids=pids)


def test_daemon_kill9_reconnects_and_reconciles(workdir, dbus_bus):
    d = daemon(workdir, dbus_bus)
    pids = []
    try:
        dom, props, sig, path = start_vm(d, workdir, "keep")
        pids.append(vmm_pid(d, "keep"))
        b = make_image(os.path.join(workdir, "b.img"), 2 << 20)
        c = make_image(os.path.join(workdir, "c.img"), 3 << 20)
        dom.AttachDevice(disk_xml(b, "vdb"), 1)
        dom.AttachDevice(disk_xml(c, "vdc"), 1)
        wait_for(lambda: "6144" in blk(d, "keep", 2), 30, what="vdc in the guest")
        d.kill9()
        # While the daemon is down, vdc disappears behind its back.
        replies = qmp(os.path.join(d.runtime_dir, "keep", "qmp.sock"),
                      {"execute": "device_del", "arguments": {"id": "disk-vdc"}})
        assert all("return" in r for r in replies), replies
        wait_for(lambda: blk(d, "keep", 2)[-1] == "0", 30, what="vdc gone in the guest")
        d.start()
        dom, props = d.domain(path)
        assert d.state(props) == "running"
        assert vmm_pid(d, "keep") == pids[0]  # the same VMM: never run twice
        # The store said vdc is attached: the daemon plugged it back.
        wait_for(lambda: blk(d, "keep", 2)[-1] == "6144", 30, what="vdc re-applied")
        assert live_targets(dom) == ["vda", "vdb", "vdc"]
        # QMP works after the reconnect: detach vdb.
        sig = Signals(d.bus, path)
        dom.DetachDeviceAlias("disk-vdb", 1)
        sig.wait("DeviceRemoved", "disk-vdb")
        wait_for(lambda: blk(d, "keep", 1)[-1] == "0", 30, what="vdb gone")
    finally:
        cleanup(d, pids)


def test_vmm_death_restarts_with_persistent_devices(workdir, dbus_bus):
    d = daemon(workdir, dbus_bus)
    pids = []
    try:
        dom, props, sig, path = start_vm(d, workdir, "phoenix", on_crash="restart")
        first = vmm_pid(d, "phoenix")
        pids.append(first)
        img = make_image(os.path.join(workdir, "p.img"), 2 << 20)
        dom.AttachDevice(disk_xml(img, "vde"), 3)  # live + config
        sig.wait("DeviceAdded", "disk-vde")
        os.kill(first, signal.SIGKILL)
        sig.wait("StateChanged", "crashed", timeout=10)
        sig.wait("StateChanged", "running", timeout=30)
        second = vmm_pid(d, "phoenix")
        pids.append(second)
        assert second != first
        wait_for(lambda: "vde" in live_targets(dom), 30, what="vde re-applied")
        wait_for(lambda: "4096" in blk(d, "phoenix", 4), 60, what="the new guest to see vde")
    finally:
        cleanup(d, pids)


def test_vmm_died_while_daemon_down(workdir, dbus_bus):
    d = daemon(workdir, dbus_bus)
    pids = []
    try:
        dom, props, sig, path = start_vm(d, workdir, "lazarus")
        first = vmm_pid(d, "lazarus")
        pids.append(first)
        img = make_image(os.path.join(workdir, "l.img"), 2 << 20)
        dom.AttachDevice(disk_xml(img, "vdb"), 3)
        sig.wait("DeviceAdded", "disk-vdb")
        d.kill9()
        os.kill(first, signal.SIGKILL)
        wait_for(lambda: not os.path.exists(f"/proc/{first}/stat") or
                 open(f"/proc/{first}/stat").read().split()[2] == "Z", 10, what="the VMM to die")
        d.start()
        dom, props = d.domain(path)
        wait_for(lambda: d.state(props) == "running", 30, what="the domain to run again")
        second = vmm_pid(d, "lazarus")
        pids.append(second)
        assert second != first
        assert live_targets(dom) == ["vda", "vdb"]
        wait_for(lambda: "4096" in blk(d, "lazarus", 1), 60, what="the new guest to see vdb")
    finally:
        cleanup(d, pids)


def test_bridged_nic_survives_daemon_kill9_and_vmm_death(workdir, dbus_bus, netns):  # noqa: F811
    """A persistent hot-plugged bridged NIC: after kill -9 of mvirtd it is still on the
    bridge and answers ping; after kill -9 of the VMM (on_crash=restart) its TAP is made
    again, on the bridge, and the new guest has the same MAC in the same slot, link up."""
    require_root()
    # The host's bridge with its address, as an administrator sets it up (a bridge mvirtd
    # made goes when its last TAP goes, and its address with it).
    netns.run("ip", "link", "add", "mvbr0", "type", "bridge")
    netns.run("ip", "addr", "add", "10.0.0.1/24", "dev", "mvbr0")
    netns.run("ip", "link", "set", "mvbr0", "up")
    d = Mvirtd(workdir, dbus_bus.address, netns=netns).start()
    pids = []

    def ping():
        return netns.run("ping", "-c", "1", "-W", "1", "10.0.0.2", check=False).returncode == 0

    def on_bridge():
        out = netns.run("ip", "-o", "link", "show", "mvrs0", check=False).stdout
        return "master mvbr0" in out and "UP" in out

    try:
        dom, props, sig, path = start_vm(d, workdir, "nicr", on_crash="restart",
                                         cmdline="probe.ip=10.0.0.2")
        first = vmm_pid(d, "nicr")
        pids.append(first)
        dom.AttachDevice("<interface type='bridge'><source bridge='mvbr0'/>"
                         "<target dev='mvrs0'/><model type='virtio'/></interface>", 3)
        alias = sig.wait("DeviceAdded")[0]
        mac = ET.fromstring(str(dom.GetXML(1))).find("devices/interface/mac").get("address")
        probe = rf"PROBE net index=0 mac={mac} link=up"
        wait_for(lambda: re.search(probe, console(d, "nicr")), 30, what="the probe: link up")
        wait_for(ping, 30, what="the guest to answer ping")
        d.kill9()
        d.start()
        dom, props = d.domain(path)
        assert d.state(props) == "running" and vmm_pid(d, "nicr") == first
        assert on_bridge()
        live = ET.fromstring(str(dom.GetXML(1))).findall("devices/interface")
        assert [i.find("mac").get("address") for i in live] == [mac]
        assert [i.find("alias").get("name") for i in live] == [alias]
        wait_for(ping, 30, what="ping after the daemon's restart")
        # The VMM dies: its TAP goes with its last fd, and comes back with the restart.
        sig = Signals(d.bus, path)
        mark = len(console(d, "nicr"))
        os.kill(first, signal.SIGKILL)
        sig.wait("StateChanged", "crashed", timeout=10)
        sig.wait("StateChanged", "running", timeout=60)
        second = vmm_pid(d, "nicr")
        pids.append(second)
        assert second != first
        wait_for(on_bridge, 30, what="the TAP back on the bridge")
        wait_for(lambda: re.search(probe, console(d, "nicr")[mark:]), 60,
                 what="the new guest: same MAC, slot 0, link up")
        live = ET.fromstring(str(dom.GetXML(1))).findall("devices/interface")
        assert [i.find("mac").get("address") for i in live] == [mac]
        wait_for(ping, 30, what="ping after the VMM's restart")
    finally:
        cleanup(d, pids)


def test_a_stopped_vmm_delays_only_its_own_domain(workdir, dbus_bus):
    """Each domain reconnects in a job of its own: with one VMM stopped (SIGSTOP), the
    restarted daemon takes its bus name and serves another domain's QMP calls while the
    stopped one's reconnect has not ended (order asserted through the daemon's log)."""
    d = daemon(workdir, dbus_bus)
    pids = []
    try:
        start_vm(d, workdir, "frozen")
        start_vm(d, workdir, "lively")
        path_a = d.manager().LookupByName("frozen")
        path_b = d.manager().LookupByName("lively")
        frozen = vmm_pid(d, "frozen")
        pids += [frozen, vmm_pid(d, "lively")]
        d.stop()
        os.kill(frozen, signal.SIGSTOP)
        try:
            d.start()
            dom_b, props_b = d.domain(path_b)
            # Suspend and Resume talk QMP: they queue behind lively's own reconnect only.
            dom_b.Suspend()
            assert d.state(props_b) == "paused"
            dom_b.Resume()
            assert d.state(props_b) == "running"
            log = d.log()
            assert "Reconnected to domain lively" in log, log
            # frozen's reconnect has neither succeeded nor given up yet.
            assert "Reconnected to domain frozen" not in log, log
            assert "of domain frozen" not in log, log
        finally:
            os.kill(frozen, signal.SIGCONT)
        dom_a, props_a = d.domain(path_a)
        # Running again, frozen is reconnected (or restarted, had its QMP timed out first).
        wait_for(lambda: "Reconnected to domain frozen" in d.log()
                 or "Killing unreachable VMM" in d.log(), 60, what="frozen's restore")
        wait_for(lambda: d.state(props_a) == "running", 60, what="frozen running")
        pids.append(vmm_pid(d, "frozen"))
        assert live_targets(dom_a) == ["vda"]
    finally:
        cleanup(d, pids)
