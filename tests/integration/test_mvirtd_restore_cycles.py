"""Restore under stress, with real parts: mvirtd killed with SIGKILL in the middle
of attach/detach calls, again and again, and each time after the restart the guest's view
(the probe's console), the VMM's slot list (query-slots) and the database agree; and a
restart with 20 running domains reconnects every one of them.

100 kill cycles by default (a few seconds here: a restart with one domain is tens
of milliseconds); MVIRT_KILL_CYCLES sets another count.
"""
import os
import random
import re
import sqlite3
import time

from mvirt_test import dbus_bus, env_path, require_kvm, wait_for, workdir  # noqa: F401
from mvirtd_helpers import Mvirtd, Signals, disk_xml, domain_xml, make_image
from mvirtd_helpers import console  # complete lines only
from test_mvirtd_restore import cleanup, live_targets, qmp, vmm_pid

# Where it runs: on a KVM (tests/run-pytest; tools/with-kvm when this host has none).
KVM = "any"

DISK_SECTORS = 4096  # the 2 MiB image the cycles plug as vdb


def db_devices(d, uuid):
    db = sqlite3.connect(f"file:{d.state_dir}/mvirt.db?mode=ro", uri=True, timeout=10)
    try:
        return sorted(db.execute("SELECT alias, state, slot FROM devices WHERE domain_uuid = ?",
                                 (uuid,)).fetchall())
    finally:
        db.close()


def vmm_disks(d, name):
    slots = qmp(os.path.join(d.runtime_dir, name, "qmp.sock"), {"execute": "query-slots"})
    return sorted((s["id"], s["slot"]) for s in slots[0]["return"]
                  if s["kind"] == "blk" and s.get("id") and not s.get("boot"))


def probe_capacity(d, name, index):
    caps = re.findall(rf"PROBE blk index={index} capacity=(\d+)", console(d, name))
    return int(caps[-1]) if caps else 0


def views(d, dom, uuid, name):
    """(database, VMM, live XML, guest) as the set of hot-plugged disks each one sees."""
    db = db_devices(d, uuid)
    return {
        "db": [(a, slot) for a, state, slot in db] if all(s == "attached" for _, s, _ in db)
        else db,
        "vmm": vmm_disks(d, name),
        "xml": [t for t in live_targets(dom) if t != "vda"],
        "guest": probe_capacity(d, name, 1),
    }


def agree(v):
    want_attached = v["vmm"] == [("disk-vdb", 1)]
    if not want_attached and v["vmm"] != []:
        return False
    if want_attached:
        return (v["db"] == [("disk-vdb", 1)] and v["xml"] == ["vdb"] and
                v["guest"] == DISK_SECTORS)
    return v["db"] == [] and v["xml"] == [] and v["guest"] == 0


def test_kill9_during_attach_detach_cycles(workdir, dbus_bus):
    require_kvm()
    cycles = int(os.environ.get("MVIRT_KILL_CYCLES", "100"))
    rng = random.Random(7)
    d = Mvirtd(workdir, dbus_bus.address).start()
    pids = []
    try:
        img = make_image(os.path.join(workdir, "root.img"))
        dom, props, path = d.define(domain_xml("cyc", env_path("MVIRT_PROBE"), img))
        uuid = str(props.Get("org.mvirt.Domain1", "UUID"))
        sig = Signals(d.bus, path)
        dom.Start()
        sig.wait("StateChanged", "running")
        wait_for(lambda: "PROBE ready" in console(d, "cyc"), 60, what="the probe")
        pids.append(vmm_pid(d, "cyc"))
        data = make_image(os.path.join(workdir, "data.img"), DISK_SECTORS * 512)
        # How long a call takes here (a few ms on a host's KVM, more under emulation): the
        # kills are spread over that window.
        t = time.monotonic()
        dom.AttachDevice(disk_xml(data, "vdb"), 1)
        dom.DetachDeviceAlias("disk-vdb", 1)
        window = max(0.008, 0.75 * (time.monotonic() - t))
        seen = {"attached": 0, "detached": 0, "changed": 0, "unchanged": 0}
        t0 = time.monotonic()
        for i in range(cycles):
            before = "vdb" in live_targets(dom)
            if before:
                dom.DetachDeviceAlias("disk-vdb", 1, reply_handler=lambda: None,
                                      error_handler=lambda e: None)
            else:
                dom.AttachDevice(disk_xml(data, "vdb"), 1, reply_handler=lambda: None,
                                 error_handler=lambda e: None)
            # From before the call arrives to after it is done: kills land before, during
            # and after the change.
            time.sleep(rng.uniform(0, window))
            d.kill9()
            d.start()
            dom, props = d.domain(path)
            assert d.state(props) == "running"
            assert vmm_pid(d, "cyc") == pids[0], "the restart must not restart the VMM"
            last = {}

            def settled():
                last["v"] = views(d, dom, uuid, "cyc")
                return agree(last["v"])
            wait_for(settled, 30, what=f"cycle {i}: db, VMM, XML and guest to agree "
                     f"(last seen {last.get('v')})")
            after = bool(last["v"]["vmm"])
            seen["attached" if after else "detached"] += 1
            seen["changed" if after != before else "unchanged"] += 1
        print(f"{cycles} kill -9 cycles in {time.monotonic() - t0:.1f} s; after the "
              f"restarts vdb was attached {seen['attached']} and detached "
              f"{seen['detached']} times; the call took effect {seen['changed']} times, "
              f"not {seen['unchanged']} times")
        # Kills must have landed both before and after calls took effect.
        assert seen["changed"] > 0 and seen["unchanged"] > 0
        db = sqlite3.connect(f"file:{d.state_dir}/mvirt.db?mode=ro", uri=True)
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        db.close()
    finally:
        cleanup(d, pids)


def test_restart_with_20_running_domains_reconnects_all(workdir, dbus_bus):
    require_kvm()
    n = 20
    d = Mvirtd(workdir, dbus_bus.address).start()
    pids = []
    try:
        doms = []
        for i in range(n):
            name = f"many{i:02d}"
            img = make_image(os.path.join(workdir, f"{name}.img"))
            dom, props, path = d.define(domain_xml(name, env_path("MVIRT_PROBE"), img,
                                                   memory_mib=32))
            dom.Start()
            pids.append(vmm_pid(d, name))
            doms.append((name, path))
        for name, _ in doms:
            wait_for(lambda: "PROBE ready" in console(d, name), 120, what=f"probe {name}")
        data = [make_image(os.path.join(workdir, f"d{i}.img"), DISK_SECTORS * 512)
                for i in range(n)]
        for i, (name, path) in enumerate(doms):
            d.domain(path)[0].AttachDevice(disk_xml(data[i], "vdb"), 1)
        d.kill9()
        t0 = time.monotonic()
        d.start()
        restart_s = time.monotonic() - t0
        for i, (name, path) in enumerate(doms):
            dom, props = d.domain(path)
            assert d.state(props) == "running", name
            assert vmm_pid(d, name) == pids[i], name
            assert live_targets(dom) == ["vda", "vdb"], name
            assert vmm_disks(d, name) == [("disk-vdb", 1)], name
        print(f"mvirtd restart with {n} running domains to its bus name: {restart_s:.2f} s")
        # Each reconnected domain answers: detach through the daemon, seen by its guest.
        for name, path in doms:
            d.domain(path)[0].DetachDeviceAlias("disk-vdb", 1)
        for name, _ in doms:
            wait_for(lambda: probe_capacity(d, name, 1) == 0, 30, what=f"{name} to lose vdb")
    finally:
        cleanup(d, pids)
