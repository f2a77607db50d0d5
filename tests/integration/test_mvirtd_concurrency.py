"""Concurrency, with real VMMs: a VMM stopped with SIGSTOP (a slow VMM) delays
only the calls on its own domain; ListDomains and calls on another domain are answered
while it is stopped; calls on one domain are answered in the order they were made. Also
the detach whose device_del the stopped VMM does not answer: it returns with the device
detaching (its alias Busy), and the DEVICE_DELETED that comes after SIGCONT finishes it.

Ordering is asserted, not timing: replies are collected by python3-dbus reply handlers in
the order the bus delivers them.
"""
import os
import re
import signal
import time
import xml.etree.ElementTree as ET

import dbus
import pytest
from gi.repository import GLib

from mvirt_test import dbus_bus, env_path, require_kvm, wait_for, workdir  # noqa: F401
from mvirtd_helpers import (Signals, disk_xml, domain_xml, make_image,  # noqa: F401
                            mvirtd)
from mvirtd_helpers import console  # complete lines only

# Where it runs: on a KVM (tests/run-pytest; tools/with-kvm when this host has none).
KVM = "any"


def vmm_pid(d, name):
    with open(os.path.join(d.runtime_dir, name, "vmm.pid")) as f:
        return int(f.read().strip())


def boot(d, workdir, name):
    require_kvm()
    img = make_image(os.path.join(workdir, f"{name}-root.img"))
    dom, props, path = d.define(domain_xml(name, env_path("MVIRT_PROBE"), img))
    sig = Signals(d.bus, path)
    dom.Start()
    sig.wait("StateChanged", "running")
    wait_for(lambda: "PROBE ready" in console(d, name), 60, what=f"the probe of {name}")
    return dom, props, sig


class Replies:
    """Collects async replies as (tag, error name or None) in the order they arrive."""

    def __init__(self):
        self.order = []

    def call(self, method, *args, tag):
        method(*args, reply_handler=lambda *r: self.order.append((tag, None)),
               error_handler=lambda e: self.order.append((tag, e.get_dbus_name())),
               timeout=120)

    def tags(self):
        return [t for t, _ in self.order]

    def wait(self, tags, timeout=60):
        deadline = time.monotonic() + timeout
        ctx = GLib.MainContext.default()
        while not set(tags) <= set(self.tags()):
            while ctx.iteration(False):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"no replies {tags} within {timeout}s; got {self.order}")
            time.sleep(0.01)


class Stopped:
    """SIGSTOP a VMM for a with-block; SIGCONT on the way out, also on failure."""

    def __init__(self, pid):
        self.pid = pid

    def __enter__(self):
        os.kill(self.pid, signal.SIGSTOP)
        return self

    def resume(self):
        if self.pid:
            os.kill(self.pid, signal.SIGCONT)
            self.pid = None

    def __exit__(self, *exc):
        self.resume()


def test_stopped_vmm_does_not_block_other_domains(mvirtd, workdir):
    dom_a, _, sig_a = boot(mvirtd, workdir, "slow")
    dom_b, _, sig_b = boot(mvirtd, workdir, "quick")
    img_a = make_image(os.path.join(workdir, "a.img"), 2 << 20)
    img_b = make_image(os.path.join(workdir, "b.img"), 3 << 20)
    r = Replies()
    with Stopped(vmm_pid(mvirtd, "slow")) as stopped:
        # Sent first on one connection, so the daemon receives it before the others.
        r.call(dom_a.AttachDevice, disk_xml(img_a, "vdb"), 1, tag="attach-slow")
        t0 = time.monotonic()
        r.call(mvirtd.manager().ListDomains, tag="list")
        r.call(dom_b.AttachDevice, disk_xml(img_b, "vdb"), 1, tag="attach-quick")
        r.wait(["list", "attach-quick"])
        other_ms = (time.monotonic() - t0) * 1000
        assert "attach-slow" not in r.tags(), r.order
        # A synchronous ListDomains while the slow domain's call is still pending.
        t1 = time.monotonic()
        assert len(mvirtd.manager().ListDomains()) == 2
        list_ms = (time.monotonic() - t1) * 1000
        r.wait([], timeout=0)
        assert "attach-slow" not in r.tags(), r.order
        stopped.resume()
        r.wait(["attach-slow"])
    # list and attach-quick are independent; both come before the slow domain's reply.
    assert sorted(r.order[:2]) == [("attach-quick", None), ("list", None)]
    assert r.order[2:] == [("attach-slow", None)]
    print(f"while a VMM is stopped: ListDomains {list_ms:.1f} ms; ListDomains + AttachDevice "
          f"on another domain {other_ms:.1f} ms")
    assert sig_b.wait("DeviceAdded")[0] == "disk-vdb"
    assert sig_a.wait("DeviceAdded")[0] == "disk-vdb"
    wait_for(lambda: "PROBE blk index=1 capacity=6144" in console(mvirtd, "quick"), 30,
             what="the quick probe to see its disk")
    wait_for(lambda: "PROBE blk index=1 capacity=4096" in console(mvirtd, "slow"), 30,
             what="the slow probe to see its disk")
    mvirtd.destroy_all()


def test_calls_on_one_domain_are_answered_in_order(mvirtd, workdir):
    dom, _, sig = boot(mvirtd, workdir, "serial")
    imgs = [make_image(os.path.join(workdir, f"d{i}.img"), (i + 1) << 20) for i in range(2)]
    r = Replies()
    with Stopped(vmm_pid(mvirtd, "serial")) as stopped:
        r.call(dom.AttachDevice, disk_xml(imgs[0], "vdb"), 1, tag="attach-vdb")
        r.call(dom.AttachDevice, disk_xml(imgs[1], "vdc"), 1, tag="attach-vdc")
        # Succeeds only if it runs after the attach of vdb.
        r.call(dom.DetachDevice, disk_xml(imgs[0], "vdb"), 1, tag="detach-vdb")
        r.call(dom.Suspend, tag="suspend")
        assert len(mvirtd.manager().ListDomains()) == 1
        r.wait([], timeout=0)
        assert r.order == []
        stopped.resume()
        r.wait(["attach-vdb", "attach-vdc", "detach-vdb", "suspend"])
    assert r.order == [("attach-vdb", None), ("attach-vdc", None), ("detach-vdb", None),
                       ("suspend", None)]
    live = ET.fromstring(str(dom.GetXML(1)))
    assert [t.get("dev") for t in live.findall("devices/disk/target")] == ["vda", "vdc"]
    sig.wait("StateChanged", "paused")
    dom.Resume()
    sig.wait("StateChanged", "running")
    wait_for(lambda: "PROBE blk index=2 capacity=4096" in console(mvirtd, "serial"), 30,
             what="the probe to see vdc")
    mvirtd.destroy_all()


def test_detach_unanswered_stays_detaching_until_event(mvirtd, workdir):
    dom, _, sig = boot(mvirtd, workdir, "late")
    img = make_image(os.path.join(workdir, "late.img"), 2 << 20)
    dom.AttachDevice(disk_xml(img, "vdb"), 1)
    assert sig.wait("DeviceAdded")[0] == "disk-vdb"
    wait_for(lambda: "PROBE blk index=1 capacity=4096" in console(mvirtd, "late"), 30,
             what="the probe to see vdb")
    with Stopped(vmm_pid(mvirtd, "late")) as stopped:
        # The stopped VMM never answers device_del: success, with the device detaching.
        dom.DetachDeviceAlias("disk-vdb", 1, timeout=60)
        with pytest.raises(dbus.DBusException) as e:
            dom.AttachDevice(disk_xml(img, "vdb"), 1, timeout=60)
        assert e.value.get_dbus_name() == "org.mvirt.Error.Busy"
        with pytest.raises(dbus.DBusException) as e:
            dom.DetachDeviceAlias("disk-vdb", 1, timeout=60)
        assert e.value.get_dbus_name() == "org.mvirt.Error.Busy"
        sig.pump()
        assert not [m for m, _ in sig.items if m == "DeviceRemoved"]
        stopped.resume()
    # The VMM does the device_del it got while stopped; its DEVICE_DELETED finishes it.
    assert sig.wait("DeviceRemoved")[0] == "disk-vdb"
    wait_for(lambda: re.findall(r"PROBE blk index=1 capacity=(\d+)",
                                console(mvirtd, "late"))[-1:] == ["0"], 30,
             what="the probe to see vdb gone")
    dom.AttachDevice(disk_xml(img, "vdb"), 1)
    assert sig.wait("DeviceAdded")[0] == "disk-vdb"
    mvirtd.destroy_all()


def test_device_removed_behind_the_daemons_back(mvirtd, workdir):
    from test_mvirtd_restore import qmp
    dom, _, sig = boot(mvirtd, workdir, "behind")
    img = make_image(os.path.join(workdir, "behind.img"), 2 << 20)
    dom.AttachDevice(disk_xml(img, "vdb"), 1)
    assert sig.wait("DeviceAdded")[0] == "disk-vdb"
    # Another QMP client unplugs it: the daemon follows the VMM's DEVICE_DELETED.
    replies = qmp(os.path.join(mvirtd.runtime_dir, "behind", "qmp.sock"),
                  {"execute": "device_del", "arguments": {"id": "disk-vdb"}})
    assert "return" in replies[0], replies
    assert sig.wait("DeviceRemoved")[0] == "disk-vdb"
    live = ET.fromstring(str(dom.GetXML(1)))
    assert [t.get("dev") for t in live.findall("devices/disk/target")] == ["vda"]
    # The slot and the alias are free again (blockdev-del ran too).
    dom.AttachDevice(disk_xml(img, "vdb"), 1)
    assert sig.wait("DeviceAdded")[0] == "disk-vdb"
    mvirtd.destroy_all()
