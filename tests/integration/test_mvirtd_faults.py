"""Refusals and daemon faults, with real parts: a real VMM booting the
probe, a second QMP client acting behind the daemon's back, TAPs and bridges in a private
network namespace, the daemon's SQLite file read directly.

mvirtd runs with MVIRT_DEBUG_PAUSE_AT=cmd,...: a hot-plug step stops just before it sends
cmd and waits until the test removes <rundir>/debug-pause-<cmd>. Meanwhile the test makes
the VMM refuse the step for real (a node-name, netdev id or slot taken by the other client,
the VMM's table of named fds full), or sends SIGTERM to the daemon mid-attach.
"""
import os
import re
import signal
import sqlite3
import xml.etree.ElementTree as ET

import pytest
from gi.repository import GLib

from mvirt_test import (dbus_bus, env_path, netns, require_kvm, require_root,  # noqa: F401
                        wait_for, workdir)
from mvirtd_helpers import (Mvirtd, QmpSession, Signals, disk_xml, domain_xml, kill_vmms,
                            make_image, _vmm_pids)
from mvirtd_helpers import console  # complete lines only

# Where it runs: on a KVM (tests/run-pytest; tools/with-kvm when this host has none).
KVM = "any"

NIC_ALIAS = "ua-nic1"


def nic(bridge, tap):
    return (f"<interface type='bridge'><source bridge='{bridge}'/><target dev='{tap}'/>"
            f"<model type='virtio'/><alias name='{NIC_ALIAS}'/></interface>")


def db_rows(d):
    db = sqlite3.connect(f"file:{d.state_dir}/mvirt.db?mode=ro", uri=True, timeout=10)
    try:
        return sorted(db.execute("SELECT alias, state, slot FROM devices").fetchall())
    finally:
        db.close()


def live(dom, what):
    return [e.get("dev") or e.get("address")
            for e in ET.fromstring(str(dom.GetXML(1))).findall(f"devices/{what}")]


class Call:
    """A D-Bus method call answered later, while the test acts."""

    def __init__(self, method, *args):
        self.reply = self.error = None
        method(*args, timeout=180, reply_handler=self._ok, error_handler=self._err)

    def _ok(self, *a):
        self.reply = a

    def _err(self, e):
        self.error = e

    def done(self):
        GLib.MainContext.default().iteration(False)
        return self.reply is not None or self.error is not None

    def wait(self):
        ctx = GLib.MainContext.default()
        wait_for(lambda: (ctx.iteration(False), self.reply is not None or self.error)[1], 120,
                 what="the call's reply")
        return self.error


class Daemon:
    """mvirtd (in netns, if given) with the debug pause at steps; stopped by PID at the end."""

    def __init__(self, workdir, bus, netns=None):
        self.workdir, self.bus, self.netns = workdir, bus, netns
        self.d = None
        self.vmm_pids = set()

    def start(self, pause_at="", extra_args=()):
        env = {"MVIRT_DEBUG_PAUSE_AT": pause_at} if pause_at else None
        self.d = Mvirtd(self.workdir, self.bus.address, netns=self.netns, env=env,
                        extra_args=extra_args).start()
        return self.d

    def pause_file(self, name, cmd):
        return os.path.join(self.d.runtime_dir, name, f"debug-pause-{cmd}")

    def wait_pause(self, name, cmd, call=None):
        path = self.pause_file(name, cmd)
        wait_for(lambda: os.path.exists(path) or (call and call.done()), 60,
                 what=f"the attach to pause before {cmd}")
        if not os.path.exists(path):
            pytest.fail(f"the call ended before {cmd}: {call.error}\n{self.d.log()}")
        return path

    def boot(self, name, cmdline=""):
        require_kvm()
        img = make_image(os.path.join(self.workdir, f"{name}-root.img"))
        dom, props, path = self.d.define(domain_xml(name, env_path("MVIRT_PROBE"), img,
                                                    cmdline=cmdline))
        sig = Signals(self.d.bus, path)
        dom.Start()
        sig.wait("StateChanged", "running")
        wait_for(lambda: "PROBE ready" in console(self.d, name), 60, what="the probe")
        self.vmm_pids.update(_vmm_pids(self.d.runtime_dir))
        return dom, sig, path

    def close(self):
        if self.d:
            self.vmm_pids.update(_vmm_pids(self.d.runtime_dir))
            self.d.stop()
        kill_vmms(self.vmm_pids)


@pytest.fixture
def daemon(workdir, dbus_bus):
    dm = Daemon(workdir, dbus_bus)
    yield dm
    dm.close()


@pytest.fixture
def daemon_ns(workdir, dbus_bus, netns):
    require_root()
    dm = Daemon(workdir, dbus_bus, netns)
    yield dm
    dm.close()


def links(netns):
    return sorted(re.findall(r"^\d+: ([^:@]+)", netns.run("ip", "-o", "link", "show").stdout,
                             re.M))


def test_detach_of_a_device_already_gone_finishes(daemon, workdir):
    """DeviceNotFound on device_del means it is gone already: the detach is done."""
    d = daemon.start("device_del")
    dom, sig, _ = daemon.boot("gone")
    img = make_image(os.path.join(workdir, "gone.img"), 2 << 20)
    dom.AttachDevice(disk_xml(img, "vdb"), 1)
    assert sig.wait("DeviceAdded")[0] == "disk-vdb"
    call = Call(dom.DetachDeviceAlias, "disk-vdb", 1)
    pause = daemon.wait_pause("gone", "device_del")
    q = QmpSession(os.path.join(d.runtime_dir, "gone", "qmp.sock"))
    assert "return" in q.execute("device_del", id="disk-vdb")
    os.unlink(pause)
    assert call.wait() is None  # the VMM said DeviceNotFound; the detach succeeds
    assert sig.wait("DeviceRemoved")[0] == "disk-vdb"
    sig.pump()
    assert not [m for m, _ in sig.items if m == "DeviceRemovalFailed"]
    assert live(dom, "disk/target") == ["vda"]
    assert db_rows(d) == []
    assert [s for s in q.slots() if s.get("id") == "disk-vdb"] == []
    q.close()
    # The alias and slot are free again.
    dom.AttachDevice(disk_xml(img, "vdb"), 1)
    assert sig.wait("DeviceAdded")[0] == "disk-vdb"


def refused(call, step):
    err = call.wait()
    assert err is not None, f"the attach was not refused at {step}"
    assert err.get_dbus_name() == "org.mvirt.Error.Failed", err
    assert f"at {step}" in str(err), str(err)
    return str(err)


def test_disk_attach_refused_by_the_vmm_rolls_back(daemon, workdir):
    # The other QMP client plugs by path and TAP name: the VMM runs without the sandbox.
    d = daemon.start("blockdev-add,device_add", ["--no-sandbox"])
    dom, sig, _ = daemon.boot("rbd")
    img = make_image(os.path.join(workdir, "rbd.img"), 2 << 20)
    other = make_image(os.path.join(workdir, "other.img"), 3 << 20)
    q = QmpSession(os.path.join(d.runtime_dir, "rbd", "qmp.sock"))
    before = q.slots()
    # blockdev-add: the other client took the node-name disk-vdb meanwhile.
    call = Call(dom.AttachDevice, disk_xml(img, "vdb"), 1)
    pause = daemon.wait_pause("rbd", "blockdev-add")
    assert "return" in q.execute("blockdev-add", node_name="disk-vdb", driver="raw",
                                 cache={"direct": False},
                                 file={"driver": "file", "filename": other})
    os.unlink(pause)
    msg = refused(call, "blockdev-add")
    assert "disk-vdb" in msg
    assert q.slots() == before and db_rows(d) == [] and live(dom, "disk/target") == ["vda"]
    # The rollback left the other client's node alone: it is still there to delete.
    assert "return" in q.execute("blockdev-del", node_name="disk-vdb")
    # device_add: the other client plugged its own disk into slot 1 (vdb) meanwhile.
    call = Call(dom.AttachDevice, disk_xml(img, "vdb"), 1)
    os.unlink(daemon.wait_pause("rbd", "blockdev-add"))
    pause = daemon.wait_pause("rbd", "device_add")
    assert "return" in q.execute("blockdev-add", node_name="theirs", driver="raw",
                                 cache={"direct": False},
                                 file={"driver": "file", "filename": other})
    assert "return" in q.execute("device_add", driver="virtio-blk-mmio", id="theirs",
                                 drive="theirs", addr="0x1")
    taken = q.slots()
    os.unlink(pause)
    refused(call, "device_add")
    assert q.slots() == taken and db_rows(d) == [] and live(dom, "disk/target") == ["vda"]
    # The daemon's node disk-vdb was deleted by the rollback: the name is free.
    assert "return" in q.execute("blockdev-add", node_name="disk-vdb", driver="raw",
                                 cache={"direct": False},
                                 file={"driver": "file", "filename": img})
    assert "return" in q.execute("blockdev-del", node_name="disk-vdb")
    assert "return" in q.execute("device_del", id="theirs")
    q.close()


def test_nic_attach_refused_by_the_vmm_rolls_back(daemon_ns, workdir, netns):
    d = daemon_ns.start("getfd,netdev_add,device_add", ["--no-sandbox"])
    dom, sig, _ = daemon_ns.boot("rbn")
    netns.run("ip", "tuntap", "add", "dev", "theirs0", "mode", "tap")
    q = QmpSession(os.path.join(d.runtime_dir, "rbn", "qmp.sock"))
    before_links, before_slots = links(netns), q.slots()

    def unchanged():
        assert links(netns) == before_links  # no TAP, no bridge left behind
        assert q.slots() == before_slots and db_rows(d) == []
        assert live(dom, "interface/mac") == []

    # getfd: another client filling its table of named fds (names are per client)
    # no longer locks the daemon out; the call below gets past getfd to netdev_add.
    null = os.open("/dev/null", os.O_RDONLY | os.O_CLOEXEC)
    n = 0
    while "return" in q.execute("getfd", fds=[null], fdname=f"theirs{n}"):
        n += 1
    os.close(null)
    assert n == 8
    # netdev_add: the other client made a netdev with the NIC's id meanwhile.
    call = Call(dom.AttachDevice, nic("mvbr0", "mvrb0"), 1)
    os.unlink(daemon_ns.wait_pause("rbn", "getfd", call))
    pause = daemon_ns.wait_pause("rbn", "netdev_add", call)
    assert "return" in q.execute("netdev_add", type="tap", id=NIC_ALIAS, ifname="theirs0")
    os.unlink(pause)
    assert NIC_ALIAS in refused(call, "netdev_add")
    unchanged()
    for i in range(n):
        assert "return" in q.execute("closefd", fdname=f"theirs{i}")
    # ... and the rollback did not delete the other client's netdev.
    assert "return" in q.execute("netdev_del", id=NIC_ALIAS)
    # device_add: the other client plugged its own NIC into slot 0 meanwhile.
    call = Call(dom.AttachDevice, nic("mvbr0", "mvrb0"), 1)
    os.unlink(daemon_ns.wait_pause("rbn", "getfd", call))
    os.unlink(daemon_ns.wait_pause("rbn", "netdev_add", call))
    pause = daemon_ns.wait_pause("rbn", "device_add", call)
    assert "return" in q.execute("netdev_add", type="tap", id="theirs", ifname="theirs0")
    assert "return" in q.execute("device_add", driver="virtio-net-mmio", id="theirs",
                                 netdev="theirs", addr="0x0")
    before_slots = q.slots()
    os.unlink(pause)
    refused(call, "device_add")
    unchanged()
    # The daemon's netdev went with the rollback: its id is free.
    assert "return" in q.execute("device_del", id="theirs")
    q.close()


def test_sigterm_at_every_step_of_an_attach(daemon_ns, workdir, netns):
    """SIGTERM while an attach waits before each step: the attach rolls back, the daemon
    exits, and after a restart the definition, the VMM, the namespace and the store agree."""
    d = daemon_ns.start()
    dom, sig, path = daemon_ns.boot("term")
    name = "term"
    uuid = str(dom.GetXML(2)).split("<uuid>")[1].split("<")[0]
    pid = _vmm_pids(d.runtime_dir)[0]
    img = make_image(os.path.join(workdir, "term.img"), 2 << 20)
    before_links = links(netns)
    steps = [("blockdev-add", disk_xml(img, "vdb")), ("device_add", disk_xml(img, "vdb")),
             ("getfd", nic("mvbr0", "mvtm0")), ("netdev_add", nic("mvbr0", "mvtm0")),
             ("device_add", nic("mvbr0", "mvtm0"))]
    for step, xml in steps:
        d.stop()
        d = daemon_ns.start(step)
        dom, _ = d.domain(path)
        call = Call(dom.AttachDevice, xml, 3)  # live + config
        daemon_ns.wait_pause(name, step, call)
        d.proc.proc.send_signal(signal.SIGTERM)
        assert d.proc.wait(timeout=60) == 0, d.log()
        err = call.wait()
        assert err is not None, step
        d = daemon_ns.start()
        dom, props = d.domain(path)
        assert d.state(props) == "running"
        assert _vmm_pids(d.runtime_dir) == [pid]  # the VM ran on
        assert live(dom, "disk/target") == ["vda"], step
        assert live(dom, "interface/mac") == [], step
        cfg = ET.fromstring(str(dom.GetXML(2)))
        assert cfg.findtext("uuid") == uuid
        assert len(cfg.findall("devices/disk")) == 1 and cfg.findall("devices/interface") == []
        assert db_rows(d) == [], step
        assert links(netns) == before_links, step
        q = QmpSession(os.path.join(d.runtime_dir, name, "qmp.sock"))
        assert [s for s in q.slots() if s.get("id") and not s.get("boot")] == [], step
        q.close()
    # And the same attach works afterwards.
    dom.AttachDevice(disk_xml(img, "vdb"), 3)
    wait_for(lambda: "PROBE blk index=1 capacity=4096" in console(d, name), 30, what="vdb")


def test_attach_timed_out_at_blockdev_add_leaves_no_orphan(daemon, workdir):
    """A VMM stopped (SIGSTOP) before blockdev-add: the attach times out and rolls back; the
    late blockdev-add, once the VMM runs again, is followed by the rollback's blockdev-del,
    so the alias and the node-name are free for the next attach."""
    d = daemon.start("blockdev-add")
    dom, sig, _ = daemon.boot("late")
    pid = _vmm_pids(d.runtime_dir)[0]
    img = make_image(os.path.join(workdir, "late.img"), 2 << 20)
    call = Call(dom.AttachDevice, disk_xml(img, "vdb"), 1)
    pause = daemon.wait_pause("late", "blockdev-add", call)
    os.kill(pid, signal.SIGSTOP)
    try:
        os.unlink(pause)
        err = call.wait()
        assert err is not None and "blockdev-add" in str(err), err
        assert db_rows(d) == []
    finally:
        os.kill(pid, signal.SIGCONT)
    call = Call(dom.AttachDevice, disk_xml(img, "vdb"), 1)
    os.unlink(daemon.wait_pause("late", "blockdev-add", call))
    assert call.wait() is None, call.error
    wait_for(lambda: "PROBE blk index=1 capacity=4096" in console(d, "late"), 30, what="vdb")
    assert [row[0] for row in db_rows(d)] == ["disk-vdb"]


def test_restart_removes_a_bare_backend_of_the_daemons_naming(daemon, workdir):
    """A backend without a device under a name of the daemon's scheme (left by a late
    answer while the daemon was down) is deleted by the reconcile at restart."""
    d = daemon.start(extra_args=["--no-sandbox"])
    dom, sig, path = daemon.boot("bare")
    img = make_image(os.path.join(workdir, "bare.img"), 2 << 20)
    d.stop()
    q = QmpSession(os.path.join(d.runtime_dir, "bare", "qmp.sock"))
    assert "return" in q.execute("blockdev-add", node_name="disk-vdc", driver="raw",
                                 cache={"direct": False},
                                 file={"driver": "file", "filename": img})
    q.close()
    d = daemon.start(extra_args=["--no-sandbox"])
    dom, _ = d.domain(path)
    wait_for(lambda: "Removed backend disk-vdc of domain bare" in d.log(), 30,
             what="the bare backend's removal")
    dom.AttachDevice(disk_xml(img, "vdc"), 1)
    wait_for(lambda: "PROBE blk index=2 capacity=4096" in console(d, "bare"), 30, what="vdc")
