"""Management-plane benchmarks: mvirtd against libvirtd + libvirt-dbus (libvirt.py), each on
its own private dbus-daemon, driven from one long-lived python3-dbus client."""
import os
import re
import signal
import subprocess
import tempfile
import time

import dbus

from common import CLEANUP, note, rollup_kib, row, stop_proc, summarize

MVIRT_BUS = "org.mvirt.Manager1"
MVIRT_PATH = "/org/mvirt/Manager1"


def start_bus(work, tag):
    """A private dbus-daemon (as the tests start one); returns its address."""
    conf = os.path.join(work, f"{tag}-bus.conf")
    sockdir = os.path.join(work, f"{tag}-bus")
    os.makedirs(sockdir, exist_ok=True)
    with open(conf, "w") as f:
        f.write(f"""<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><type>session</type><listen>unix:dir={sockdir}</listen><auth>EXTERNAL</auth>
<policy context="default"><allow send_destination="*" eavesdrop="true"/>
<allow eavesdrop="true"/><allow own="*"/></policy></busconfig>
""")
    p = CLEANUP.proc(subprocess.Popen(["dbus-daemon", "--config-file", conf, "--nofork",
                                       "--print-address"], stdout=subprocess.PIPE,
                                      stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                      text=True))
    return p.stdout.readline().strip()


def wait_for(pred, timeout, what):
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise TimeoutError(f"no {what} within {timeout} s")
        time.sleep(0.005)


def rate(fn, seconds=2.0, cap=100000):
    """Calls fn() for about `seconds`; returns calls per second."""
    n = 0
    t0 = time.monotonic()
    while time.monotonic() - t0 < seconds and n < cap:
        fn(n)
        n += 1
    return n / (time.monotonic() - t0)


def mvirt_domain_xml(name, kernel, memory_mib=64, root=None, cmdline=""):
    disk = mvirt_disk_xml(root, "vda") if root else ""
    cmd = f"<cmdline>{cmdline}</cmdline>" if cmdline else ""
    return (f"<domain type='kvm'><name>{name}</name><memory unit='MiB'>{memory_mib}</memory>"
            f"<vcpu>1</vcpu><os><type arch='x86_64' machine='microvm'>hvm</type>"
            f"<kernel>{kernel}</kernel>{cmd}</os><devices>{disk}</devices></domain>")


def mvirt_disk_xml(image, target):
    return (f"<disk type='file' device='disk'><source file='{image}'/>"
            f"<target dev='{target}' bus='virtio'/></disk>")


class Mvirtd:
    """mvirtd on a private bus with its own state and runtime folders."""
    label = "mvirtd"

    def __init__(self, b, work, netns=None):
        self.b = b
        self.netns = netns  # TAPs and bridges it makes go into this network namespace
        self.work = tempfile.mkdtemp(dir=work, prefix="mvirtd-")
        self.addr = start_bus(self.work, "mvirtd")
        self.bus = dbus.bus.BusConnection(self.addr)
        self.proc = None
        self.start()

    def start(self):
        argv = [self.b.mvirtd, "--bus-address", self.addr, "--state-dir",
                os.path.join(self.work, "state"), "--runtime-dir", os.path.join(self.work, "run"),
                "--vmm", self.b.vmm, "--image-dir", os.path.dirname(self.work),
                # The probe kernel: boot files follow the image folders like disks.
                "--image-dir", os.path.dirname(os.path.realpath(self.b.probe))]
        if self.netns:  # ip netns exec execs mvirtd: the pid stays its own
            argv = ["ip", "netns", "exec", self.netns] + argv
        with open(os.path.join(self.work, "mvirtd.log"), "ab") as log:
            self.proc = CLEANUP.proc(subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                                      stdout=log, stderr=log))
        CLEANUP.call(self.kill_vmms)
        t0 = time.monotonic()
        wait_for(lambda: self.bus.name_has_owner(MVIRT_BUS) or self.proc.poll() is not None,
                 120, "mvirtd on the bus")
        if self.proc.poll() is not None:
            raise RuntimeError("mvirtd exited at start; see its log")
        self.mgr = dbus.Interface(self.bus.get_object(MVIRT_BUS, MVIRT_PATH), MVIRT_BUS)
        return time.monotonic() - t0

    def kill9(self):
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        wait_for(lambda: not self.bus.name_has_owner(MVIRT_BUS), 10, "the name to be free")

    def kill_vmms(self):
        run = os.path.join(self.work, "run")
        for name in os.listdir(run) if os.path.isdir(run) else ():
            try:
                with open(os.path.join(run, name, "vmm.pid")) as f:
                    os.kill(int(f.read()), signal.SIGKILL)
            except (OSError, ValueError):
                pass

    def pids(self):
        return [self.proc.pid]

    def dom(self, path):
        return dbus.Interface(self.bus.get_object(MVIRT_BUS, path), "org.mvirt.Domain1")

    def define(self, name, memory_mib=64, root=None, cmdline=""):
        return self.mgr.DefineXML(mvirt_domain_xml(name, self.b.probe, memory_mib, root,
                                                   cmdline))

    def undefine(self, path):
        self.dom(path).Undefine()

    def lookup(self, name):
        return self.mgr.LookupByName(name)

    def list(self):
        return self.mgr.ListDomains()

    def console(self, name):
        try:
            with open(os.path.join(self.work, "run", name, "console.log"), "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def boot(self, name, memory_mib=64, cmdline=""):
        """A running domain with a 1 MiB root disk in vda, as mvirtd's domains have."""
        root = os.path.join(self.work, f"{name}-root.img")
        with open(root, "wb") as f:
            f.truncate(1 << 20)
        path = self.define(name, memory_mib, root, cmdline)
        self.dom(path).Start()
        wait_for(lambda: "PROBE ready" in self.console(name), 60, f"{name} to be ready")
        return path

    def disk_xml(self, image, i):
        return mvirt_disk_xml(image, "vdb")

    def attach(self, path, xml):
        self.dom(path).AttachDevice(xml, 1)

    def detach(self, path, xml):
        self.dom(path).DetachDevice(xml, 1)

    def cli_attach(self, name, xml_file):
        return [self.b.mvirtctl, "--bus-address", self.addr, "attach-device", name, xml_file,
                "--live"]

    def cli_detach(self, name, xml_file):
        return [self.b.mvirtctl, "--bus-address", self.addr, "detach-device", name, xml_file,
                "--live"]

    def stop(self):
        stop_proc(self.proc)


def rss_mib(pids):
    return sum(rollup_kib(p, "Rss") for p in pids) / 1024


def bench_api(b, work, rounds, planes):
    """Lookups/s, define+undefine/s, list of 1,000 domains, resident memory with 20."""
    res = {p.label: {} for p in planes}
    for p in planes:
        r = res[p.label]
        p.define("lk-0")
        r["lookup"] = summarize([rate(lambda n: p.lookup("lk-0"), 1.5) for _ in range(rounds)])
        r["defundef"] = summarize([rate(lambda n: p.undefine(p.define(f"du-{n}")), 1.5)
                                   for _ in range(rounds)])
        for i in range(1, 20):
            p.define(f"lk-{i}")
        r["rss20"] = summarize([rss_mib(p.pids())])
        t0 = time.monotonic()
        for i in range(20, 1000):
            p.define(f"lk-{i}")
        r["define1000"] = summarize([(time.monotonic() - t0) / 980 * 1000])
        lists = []
        for _ in range(rounds):
            t0 = time.monotonic()
            n = len(p.list())
            lists.append((time.monotonic() - t0) * 1000)
        if n < 1000:
            note(f"{p.label}: listed {n} domains, expected 1000")
        r["list1000"] = summarize(lists)
        r["rss1000"] = summarize([rss_mib(p.pids())])
        for i in range(1000):
            p.undefine(p.lookup(f"lk-{i}"))
    names = [p.label for p in planes]
    other = lambda k: res[names[1]][k] if len(names) > 1 else None  # noqa: E731
    tag = f"{names[0]} vs {names[1]}" if len(names) > 1 else names[0]
    row(f"D-Bus LookupByName ({tag})", "calls/s", res[names[0]]["lookup"], other("lookup"))
    row(f"D-Bus define + undefine ({tag})", "pairs/s", res[names[0]]["defundef"],
        other("defundef"))
    row(f"D-Bus define, with 20..1000 defined ({tag})", "ms each", res[names[0]]["define1000"],
        other("define1000"))
    row(f"D-Bus ListDomains of 1,000 ({tag})", "ms", res[names[0]]["list1000"],
        other("list1000"))
    row(f"resident memory, 20 domains defined ({tag})", "MiB", res[names[0]]["rss20"],
        other("rss20"))
    row(f"resident memory, 1,000 domains defined ({tag})", "MiB", res[names[0]]["rss1000"],
        other("rss1000"))


def bench_attach(b, work, rounds, planes):
    """D-Bus AttachDevice of a virtio-blk disk from one client, and the same through the
    CLIs; mvirt also to the probe printing the capacity."""
    res = {}
    n = max(rounds * 2, 10)
    images = []
    for i in range(2 * n):  # one image an attach: QEMU keeps a write lock on attached ones
        images.append(os.path.join(work, f"attach-{i}.img"))
        with open(images[-1], "wb") as f:
            f.truncate(64 << 20)
    for p in planes:
        path = p.boot("att")
        call, cli, seen = [], [], []
        for i in range(n):
            xml = p.disk_xml(images[i], i)
            before = p.console("att").count("PROBE blk index=1 capacity=131072")
            t0 = time.monotonic()
            p.attach(path, xml)
            call.append((time.monotonic() - t0) * 1000)
            if p.label == "mvirtd":
                wait_for(lambda: p.console("att").count("PROBE blk index=1 capacity=131072")
                         > before, 10, "the probe to see the disk")
                seen.append((time.monotonic() - t0) * 1000)
            p.detach(path, xml)
        xml_file = os.path.join(work, "disk.xml")
        for i in range(n):
            with open(xml_file, "w") as f:
                f.write(p.disk_xml(images[n + i], n + i))
            t0 = time.monotonic()
            subprocess.run(p.cli_attach("att", xml_file), check=True, timeout=60,
                           stdout=subprocess.DEVNULL)
            cli.append((time.monotonic() - t0) * 1000)
            subprocess.run(p.cli_detach("att", xml_file), check=False, timeout=60,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        res[p.label] = (summarize(call), summarize(cli), summarize(seen))
    names = [p.label for p in planes]
    o = res[names[1]] if len(names) > 1 else (None, None, None)
    tag = f"{names[0]} vs {names[1]}" if len(names) > 1 else names[0]
    row(f"D-Bus AttachDevice virtio-blk, call ({tag})", "ms", res[names[0]][0], o[0])
    row(f"CLI attach-device, exec to exit (mvirtctl vs virsh)", "ms", res[names[0]][1], o[1])
    row("D-Bus AttachDevice -> probe prints capacity (mvirtd)", "ms", res[names[0]][2], None,
        "libvirt's q35 guest would need a PCI driver in the probe")


def bench_restart(b, work, rounds, planes):
    """mvirtd killed with -9 while 20 domains run; exec of the new one to its name on the bus
    (it reconnects to and reconciles every VMM before claiming the name)."""
    p = planes[0]
    for i in range(20):
        p.boot(f"rs-{i}", memory_mib=32)
    times = []
    for _ in range(rounds):
        p.kill9()
        times.append(p.start() * 1000)
    alive = sum(1 for i in range(20) if "running" in str(
        dbus.Interface(p.bus.get_object(MVIRT_BUS, p.lookup(f"rs-{i}")),
                       "org.freedesktop.DBus.Properties").Get("org.mvirt.Domain1", "State")))
    row("mvirtd kill -9 + restart, 20 running domains reconciled", "ms", summarize(times), None,
        f"{alive}/20 domains running afterwards")


def nic_round(p, path, ns, xml):
    """One NIC attach: (D-Bus call ms, ms from the call to the first echo reply) with a ping
    every millisecond (for at most 10 s) already running toward the guest's address."""
    ping = CLEANUP.proc(subprocess.Popen(
        ["ip", "netns", "exec", ns, "stdbuf", "-oL", "ping", "-D", "-n", "-i", "0.001", "-w",
         "10", "10.0.0.2"],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        text=True))
    attached = False
    try:
        ping.stdout.readline()  # "PING 10.0.0.2 ...": it is sending
        t0 = time.time()
        p.attach(path, xml)
        attached = True
        call = (time.time() - t0) * 1000
        for line in ping.stdout:  # "[1764107533.123456] 1514 bytes from ..."
            if "bytes from" in line:
                return call, (float(line[1:line.index("]")]) - t0) * 1000
        return call, None
    finally:
        stop_proc(ping)
        if attached:
            p.detach(path, xml)


def bench_attach_nic(b, work, rounds, planes):
    """D-Bus AttachDevice of a bridged NIC (mvirtd makes the TAP, puts it on an existing
    bridge that has the host's address, hands it to the VMM) to the host's first echo reply
    from the probe through the bridge. The guest's MAC is a static neighbour entry, so the
    kernel's ARP retry timer (1 s) does not pace the first reply."""
    p = planes[0]
    ns = p.netns
    for cmd in (["ip", "link", "add", "mvbbr0", "type", "bridge"],
                ["ip", "addr", "add", "10.0.0.1/24", "dev", "mvbbr0"],
                ["ip", "link", "set", "mvbbr0", "up"]):
        subprocess.run(["ip", "netns", "exec", ns] + cmd, check=True, timeout=10)
    path = p.boot("nic", cmdline="probe.ip=10.0.0.2")
    # The VMM fixes each NIC slot's MAC at boot: one untimed attach learns the first slot's.
    xml = ("<interface type='bridge'><source bridge='mvbbr0'/><target dev='mvbtap1'/>"
           "<model type='virtio'/></interface>")
    p.attach(path, xml)
    wait_for(lambda: re.search(r"PROBE net index=0 mac=(\S+)", p.console("nic")), 30,
             "the probe to see the NIC")
    mac = re.search(r"PROBE net index=0 mac=(\S+)", p.console("nic")).group(1)
    xml = xml.replace("<target", f"<mac address='{mac}'/><target")
    p.detach(path, xml)
    subprocess.run(["ip", "netns", "exec", ns, "ip", "neigh", "replace", "10.0.0.2", "lladdr",
                    mac, "dev", "mvbbr0", "nud", "permanent"], check=True, timeout=10)
    call, seen = [], []
    for _ in range(max(rounds * 2, 10)):
        c, s = nic_round(p, path, ns, xml)
        call.append(c)
        seen.append(s)
        if s is None:
            note(f"attach-nic: no echo reply; console:\n{p.console('nic')[-1500:]}")
    row("D-Bus AttachDevice bridged NIC, call (mvirtd)", "ms", summarize(call), None,
        "libvirt's q35 guest would need a PCI driver in the probe")
    row("D-Bus AttachDevice bridged NIC -> host's first ping reply (mvirtd)", "ms",
        summarize(seen), None, f"{sum(1 for s in seen if s is not None)}/{len(seen)} rounds "
        "answered")


def with_netns_mvirtd(fn):
    def run(b, work, rounds):
        from common import netns_add
        p = Mvirtd(b, work, netns=netns_add("mvbatt"))
        try:
            fn(b, work, rounds, [p])
        finally:
            p.stop()
    return run


def planes_for(b, work):
    planes = [Mvirtd(b, work)]
    try:
        import libvirt_plane
        planes.append(libvirt_plane.Libvirt(b, work))
    except Exception as e:  # libvirt missing or refusing: say why, measure mvirtd alone
        note(f"libvirt comparison unavailable: {type(e).__name__}: {e}")
    return planes


def with_planes(fn, libvirt=True):
    def run(b, work, rounds):
        planes = planes_for(b, work) if libvirt else [Mvirtd(b, work)]
        try:
            fn(b, work, rounds, planes)
        finally:
            for p in reversed(planes):
                p.stop()
    return run


BENCHES = {"api": with_planes(bench_api), "attach": with_planes(bench_attach),
           "attach-nic": with_netns_mvirtd(bench_attach_nic),
           "restart": with_planes(bench_restart, libvirt=False)}
