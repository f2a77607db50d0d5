"""VMM benchmarks: mvirt-vmm and QEMU microvm side by side on the same probe and files."""
import os
import subprocess
import time

from common import (CLEANUP, QEMU, Guest, Qmp, make_image, netns_add, note, rollup_kib, row,
                    smaps_kib, stop_proc, summarize)

GUEST_MEM_MB = 64
IMAGE_SIZE = 256 << 20
WHO = ("mvirt", "qemu")


def vmm_argv(who, b, mem_mb=GUEST_MEM_MB, disk=None, direct=False, append="", qmp=None,
             tap=None, netns=None):
    """The command line of one VMM with the same devices under both: a virtio-mmio disk on
    `disk`, a virtio-net device on `tap`, the console on stdout."""
    if who == "mvirt":
        argv = [b.vmm, "-machine", "microvm", "-kernel", b.probe, "-m", f"{mem_mb}M",
                "-smp", "1", "-serial", "stdio"]
        if disk:
            argv += ["-drive", f"file={disk},id=d0" + (",direct=on" if direct else ""),
                     "-device", "virtio-blk-device,drive=d0,id=vda"]
        if tap:
            argv += ["-netdev", f"tap,id=n0,ifname={tap}",
                     "-device", "virtio-net-device,netdev=n0,id=net0"]
    else:
        argv = [QEMU, "-M", "microvm,acpi=on", "-accel", "kvm", "-cpu", "host,-arch-capabilities",
                "-m", f"{mem_mb}M", "-smp", "1", "-nodefaults", "-no-user-config",
                "-display", "none", "-kernel", b.probe, "-serial", "stdio",
                "-global", "virtio-mmio.force-legacy=false"]
        if disk:
            argv += ["-drive", f"file={disk},if=none,id=d0,format=raw,cache.direct="
                     + ("on" if direct else "off"),
                     "-device", "virtio-blk-device,drive=d0,id=vda"]
        if tap:
            argv += ["-netdev", f"tap,id=n0,ifname={tap},script=no,downscript=no,vhost=off",
                     "-device", "virtio-net-device,netdev=n0,id=net0"]
    if append:
        argv += ["-append", append]
    if qmp:
        argv += ["-qmp", f"unix:{qmp},server,nowait"]
    if netns:
        argv = ["ip", "netns", "exec", netns] + argv
    return argv


def image(work):
    path = os.path.join(work, "disk-256m.img")
    if not os.path.exists(path):
        make_image(path, IMAGE_SIZE)
    return path


def bench_boot(b, work, rounds):
    """exec to the first probe line and to PROBE ready with a disk; RSS beyond guest RAM."""
    res = {}
    for who in WHO:
        first, ready, rss = [], [], []
        for i in range(rounds):
            g = Guest(vmm_argv(who, b, disk=image(work)))
            try:
                first.append(g.since_start("PROBE "))
                ready.append(g.since_start("PROBE ready"))
                if ready[-1] is not None:
                    rss.append(smaps_kib(g.proc.pid, "Rss", GUEST_MEM_MB * 1024) / 1024)
            finally:
                g.stop()
        res[who] = [summarize(v) for v in (first, ready, rss)]
    row("exec to first probe line (1 disk)", "ms", *[ms(res[w][0]) for w in WHO])
    row("exec to PROBE ready (1 disk)", "ms", *[ms(res[w][1]) for w in WHO])
    row("RSS beyond guest RAM, idle", "MiB", res["mvirt"][2], res["qemu"][2])


def ms(s):
    return None if s is None else tuple(v * 1000 for v in s)


def run_bench(who, b, work, mode, count, direct=False, tap=None, netns=None, after=None):
    """Boots the probe with probe.bench=mode:count; returns (seconds, done line fields) timed
    by the host between the probe's start and done lines; `after(guest)` runs before stop."""
    g = Guest(vmm_argv(who, b, disk=None if tap else image(work), direct=direct,
                       append=f"probe.bench={mode}:{count}", tap=tap, netns=netns))
    try:
        start = g.wait_line(f"bench mode={mode} phase=start", timeout=60)
        done = g.wait_line(f"bench mode={mode} n=", after=start[0] + 1 if start else 0,
                           timeout=300) if start else None
        if not done:
            note(f"{who} {mode}: no result; console:\n{g.text()[-2000:]}")
            return None, {}, None
        fields = dict(kv.split("=", 1) for kv in g.lines[done[0]][1].split()[2:] if "=" in kv)
        extra = after(g) if after else None
        return done[1] - start[1], fields, extra
    finally:
        g.stop()


DISK_MODES = (("blk-randread-4k", 4000, "4 KiB random read", "IOPS"),
              ("blk-seqread-64k", 2000, "64 KiB sequential read", "MiB/s"),
              ("blk-seqwrite-64k", 2000, "64 KiB sequential write", "MiB/s"))


def bench_disk(b, work, rounds):
    """Probe-measured throughput on a 256 MiB image, queue depth 1, direct=off and on."""
    for direct in (False, True):
        for mode, count, label, unit in DISK_MODES:
            res = {}
            for who in WHO:
                vals = []
                for _ in range(rounds):
                    secs, f, _ = run_bench(who, b, work, mode, count, direct)
                    if secs and f.get("errors") == "0":
                        vals.append(count / secs if unit == "IOPS"
                                    else int(f["bytes"]) / secs / (1 << 20))
                res[who] = summarize(vals)
            row(f"{label}, direct={'on' if direct else 'off'}", unit, res["mvirt"], res["qemu"])


def bench_rss_io(b, work, rounds):
    """RSS beyond guest RAM after 1 GiB of 64 KiB reads (16384 requests) through the disk."""
    res = {}
    for who in WHO:
        vals = []
        for _ in range(max(1, rounds // 2)):
            _, f, rss = run_bench(who, b, work, "blk-seqread-64k", 16384,
                                  after=lambda g: smaps_kib(g.proc.pid, "Rss",
                                                            GUEST_MEM_MB * 1024) / 1024)
            if rss is not None and f.get("errors") == "0":
                vals.append(rss)
        res[who] = summarize(vals)
    row("RSS beyond guest RAM, after 1 GiB disk I/O", "MiB", res["mvirt"], res["qemu"])


def tap_rx_packets(ns, tap):
    out = subprocess.run(["ip", "netns", "exec", ns, "cat",
                          f"/sys/class/net/{tap}/statistics/rx_packets"],
                         capture_output=True, text=True, timeout=10)
    return int(out.stdout.strip() or 0)


def bench_net(b, work, rounds):
    """1514-byte frames from the probe to a TAP in a private netns, timed by the host; the
    TAP's rx counter confirms how many arrived."""
    ns = netns_add("mvbench")
    tap = "mvbtap0"
    for cmd in (["ip", "tuntap", "add", "mode", "tap", "name", tap, "vnet_hdr"],
                ["ip", "link", "set", tap, "up"]):
        subprocess.run(["ip", "netns", "exec", ns] + cmd, check=True, timeout=10)
    count = 20000
    fps, arrived = {}, {}
    for who in WHO:
        vals, got = [], []
        for _ in range(rounds):
            before = tap_rx_packets(ns, tap)
            secs, f, _ = run_bench(who, b, work, "net-tx", count, tap=tap, netns=ns)
            if secs:
                vals.append(int(f["bytes"]) // 1514 / secs)
                got.append(tap_rx_packets(ns, tap) - before)
        fps[who] = summarize(vals)
        arrived[who] = summarize(got)
    row("frames probe -> TAP (1514 B)", "frames/s", fps["mvirt"], fps["qemu"])
    mbit = {w: None if not fps[w] else tuple(v * 1514 * 8 / 1e6 for v in fps[w]) for w in WHO}
    row("bytes probe -> TAP", "Mbit/s", mbit["mvirt"], mbit["qemu"])
    note(f"net-tx: {count} frames a round; frames the host counted on the TAP: "
         f"mvirt {arrived['mvirt']}, QEMU {arrived['qemu']}")


# Run inside the benchmark's netns: 1514-byte broadcast frames of ethertype 0x88b5 written
# to the TAP from a raw socket, in bursts, until killed. Each frame the TAP cannot queue for
# its VMM is dropped by the kernel and counted in the TAP's tx_dropped.
SENDER = """
import socket, sys, time
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((sys.argv[1], 0))
frame = b"\\xff" * 6 + b"\\x02\\x00\\x00\\x00\\x00\\x01\\x88\\xb5" + bytes(1500)
while True:
    for _ in range(int(sys.argv[2])):
        try:
            s.send(frame)
        except OSError:
            pass
    time.sleep(float(sys.argv[3]))
"""
RX_BURST, RX_PAUSE = 128, 0.001  # at most ~100,000 frames/s offered


def tap_stat(ns, tap, name):
    out = subprocess.run(["ip", "netns", "exec", ns, "cat",
                          f"/sys/class/net/{tap}/statistics/{name}"],
                         capture_output=True, text=True, timeout=10)
    return int(out.stdout.strip() or 0)


def run_rx(who, b, work, ns, tap, count):
    """One net-rx round: (frames/s from the probe's first counted frame to its last, frames
    offered per second, frames the TAP dropped), or None."""
    g = Guest(vmm_argv(who, b, append=f"probe.bench=net-rx:{count}", tap=tap, netns=ns))
    sender = None
    try:
        start = g.wait_line("bench mode=net-rx phase=start", timeout=60)
        if not start:
            note(f"{who} net-rx: no start line; console:\n{g.text()[-2000:]}")
            return None
        sent0, drop0 = tap_stat(ns, tap, "tx_packets"), tap_stat(ns, tap, "tx_dropped")
        t_send = time.monotonic()
        sender = CLEANUP.proc(subprocess.Popen(
            ["ip", "netns", "exec", ns, "python3", "-c", SENDER, tap, str(RX_BURST),
             str(RX_PAUSE)], stdin=subprocess.DEVNULL))
        first = g.wait_line("bench mode=net-rx phase=first", after=start[0] + 1, timeout=30)
        done = g.wait_line("bench mode=net-rx n=", after=start[0] + 1, timeout=120)
        stop_proc(sender)
        t_sent = time.monotonic() - t_send
        sent = tap_stat(ns, tap, "tx_packets") - sent0
        dropped = tap_stat(ns, tap, "tx_dropped") - drop0
        if not first or not done:
            note(f"{who} net-rx: no result; console:\n{g.text()[-2000:]}")
            return None
        f = dict(kv.split("=", 1) for kv in g.lines[done[0]][1].split()[2:] if "=" in kv)
        if f.get("errors") != "0":
            note(f"{who} net-rx: {f.get('errors')} of {count} frames missing")
            return None
        return (count - 1) / (done[1] - first[1]), (sent + dropped) / t_sent, dropped
    finally:
        if sender:
            stop_proc(sender)
        g.stop()


def bench_net_rx(b, work, rounds):
    """1514-byte frames from the host (a raw socket on the TAP in a private netns) to the
    probe, which counts COUNT of them; timed by the host from the probe's "phase=first" line
    to its result line. The sender offers more than either VMM takes, so the TAP's queue
    stays full and the rate is the VMM + guest receive path's."""
    ns = netns_add("mvbrx")
    tap = "mvbrx0"
    for cmd in (["ip", "tuntap", "add", "mode", "tap", "name", tap, "vnet_hdr"],
                ["ip", "link", "set", tap, "up"]):
        subprocess.run(["ip", "netns", "exec", ns] + cmd, check=True, timeout=10)
    count = 20000
    fps, offered, dropped = {}, {}, {}
    for who in WHO:
        res = [run_rx(who, b, work, ns, tap, count) for _ in range(rounds)]
        res = [r for r in res if r]
        fps[who] = summarize([r[0] for r in res])
        offered[who] = summarize([r[1] for r in res])
        dropped[who] = summarize([r[2] for r in res])
    row("frames TAP -> probe (1514 B)", "frames/s", fps["mvirt"], fps["qemu"])
    mbit = {w: None if not fps[w] else tuple(v * 1514 * 8 / 1e6 for v in fps[w]) for w in WHO}
    row("bytes TAP -> probe", "Mbit/s", mbit["mvirt"], mbit["qemu"])
    med = {w: {k: "n/a" if not v[w] else f"{v[w][0]:.0f}" for k, v in
               (("offered", offered), ("dropped", dropped))} for w in WHO}
    note(f"net-rx: {count} frames counted a round; medians of frames/s offered by the host "
         f"sender: mvirt {med['mvirt']['offered']}, QEMU {med['qemu']['offered']}; frames the "
         f"TAP dropped (queue full) a round: mvirt {med['mvirt']['dropped']}, "
         f"QEMU {med['qemu']['dropped']}")


def bench_qmp(b, work, rounds):
    """Round trip of query-status from one connected client."""
    res = {}
    for who in WHO:
        qmp_path = os.path.join(work, f"{who}-qmp.sock")
        g = Guest(vmm_argv(who, b, qmp=qmp_path))
        samples = []
        try:
            q = Qmp(qmp_path)
            for _ in range(rounds * 40):
                t = time.perf_counter()
                q.execute("query-status")
                samples.append((time.perf_counter() - t) * 1e6)
            q.close()
        finally:
            g.stop()
        res[who] = summarize(samples)
    row("QMP query-status round trip", "µs", res["mvirt"], res["qemu"])


def qemu_q35_argv(b, qmp, ports):
    argv = [QEMU, "-M", "q35", "-accel", "kvm", "-cpu", "host,-arch-capabilities", "-m",
            f"{GUEST_MEM_MB}M", "-nodefaults", "-no-user-config", "-display", "none",
            "-kernel", b.probe, "-serial", "stdio", "-qmp", f"unix:{qmp},server,nowait"]
    for i in range(ports):
        argv += ["-device", f"pcie-root-port,id=rp{i},chassis={i + 1},slot={i + 1}"]
    return argv


def bench_hotplug(b, work, rounds):
    """QMP blockdev-add + device_add: reply time under both; on mvirt also device_add to the
    probe printing the new capacity (QEMU's microvm has no hot-plug on virtio-mmio, so its
    raw QMP cost is measured on q35 with a free pcie-root-port per round)."""
    n = max(rounds * 4, 10)  # QEMU q35 needs a free pcie-root-port per round
    probe_rounds = max(n, 100)  # the probe-seen latency is a median over 100 rounds
    disk = image(work)
    capacity = IMAGE_SIZE // 512
    cost = {"mvirt": [], "qemu": []}
    seen = []
    qmp_path = os.path.join(work, "hp-mvirt.sock")
    g = Guest(vmm_argv("mvirt", b, qmp=qmp_path))
    try:
        g.wait_line("PROBE ready")
        q = Qmp(qmp_path)
        for i in range(probe_rounds):
            after = len(g.lines)
            t0 = time.monotonic()
            r1 = q.execute("blockdev-add", **{"node-name": "hp", "file": {
                "driver": "file", "filename": disk}, "cache": {"direct": False},
                "read-only": False})
            td = time.monotonic()
            r2 = q.execute("device_add", id="hp", driver="virtio-blk-mmio", addr="0x1")
            t1 = time.monotonic()
            if "return" not in r1 or "return" not in r2:
                note(f"mvirt hot-plug failed: {r1} {r2}")
                break
            hit = g.wait_line(f"PROBE blk index=1 capacity={capacity}", after=after, timeout=10)
            cost["mvirt"].append((t1 - t0) * 1000)
            seen.append(None if not hit else (hit[1] - td) * 1000)
            after = len(g.lines)
            q.execute("device_del", id="hp")
            q.wait_event("DEVICE_DELETED")
            g.wait_line("PROBE blk index=1 capacity=0", after=after, timeout=10)
        q.close()
    finally:
        g.stop()
    qmp_path = os.path.join(work, "hp-qemu.sock")
    g = Guest(qemu_q35_argv(b, qmp_path, n))
    try:
        q = Qmp(qmp_path)
        for i in range(n):
            t0 = time.perf_counter()
            r1 = q.execute("blockdev-add", **{"node-name": f"hp{i}", "driver": "raw", "file": {
                "driver": "file", "filename": disk}, "cache": {"direct": False},
                "read-only": True})
            r2 = q.execute("device_add", id=f"hp{i}", driver="virtio-blk-pci", drive=f"hp{i}",
                           bus=f"rp{i}")
            t1 = time.perf_counter()
            if "return" not in r1 or "return" not in r2:
                note(f"QEMU q35 hot-plug failed: {r1} {r2}")
                break
            cost["qemu"].append((t1 - t0) * 1000)
        q.close()
    finally:
        g.stop()
    row("QMP blockdev-add + device_add replies (QEMU: q35, pcie-root-port)", "ms",
        summarize(cost["mvirt"]), summarize(cost["qemu"]))
    row("QMP device_add sent -> probe prints capacity", "ms", summarize(seen), None,
        "QEMU microvm cannot hot-plug virtio-mmio; the probe has no PCI driver")


def bench_density(b, work, rounds, budget_mib=256, cap=160, mem_mb=32):
    """Idle 32 MiB VMs started one after another (each waited to PROBE ready) until their
    summed PSS passes the budget or `cap` run; PSS counts shared pages fairly."""
    res = {}
    for who in WHO:
        guests, pss = [], []
        try:
            while len(guests) < cap:
                g = Guest(vmm_argv(who, b, mem_mb=mem_mb))
                guests.append(g)
                if not g.wait_line("PROBE ready", timeout=60):
                    note(f"{who}: VM {len(guests)} did not reach PROBE ready")
                    break
                pss = [rollup_kib(x.proc.pid, "Pss") / 1024 for x in guests]
                if sum(pss) > budget_mib:
                    break
            fit = sum(1 for i in range(len(pss)) if sum(pss[:i + 1]) <= budget_mib)
            res[who] = (fit, summarize(pss))
        finally:
            for g in guests:
                g.stop()
    capped = {w: f"{res[w][0]}{'+' if res[w][0] >= cap else ''}" for w in WHO}
    row(f"idle {mem_mb} MiB VMs within {budget_mib} MiB (PSS)", "VMs",
        (res["mvirt"][0],) * 3, (res["qemu"][0],) * 3,
        f"mvirt {capped['mvirt']}, QEMU {capped['qemu']}; stopped at {cap}")
    row(f"memory per idle {mem_mb} MiB VM (PSS, whole process)", "MiB", res["mvirt"][1],
        res["qemu"][1])


BENCHES = {"boot": bench_boot, "qmp": bench_qmp, "disk": bench_disk, "rss-io": bench_rss_io,
           "net": bench_net, "net-rx": bench_net_rx, "hotplug": bench_hotplug, "density": bench_density}
