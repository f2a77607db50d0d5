"""Boot the guest probe under QEMU's microvm and read its console (tests/guest/PROTOCOL.md).

Used by test_probe_qemu.py: QEMU's own virtio devices show that the probe is a correct
driver before the probe is used to judge mvirt-vmm. Every QEMU started here is ended here,
by its PID, and every wait has a deadline: a probe that hangs fails a test, never hangs it.
"""
import json
import os
import queue
import re
import shutil
import socket
import subprocess
import threading
import time
import zlib

import pytest

QEMU_DEFAULT = "/usr/bin/qemu-system-x86_64"
SECTOR = 512
LINE_RE = re.compile(r"^PROBE (\S+)(.*)$")


def qemu_path():
    path = os.environ.get("QEMU") or QEMU_DEFAULT
    return path if path and shutil.which(path) else None


def probe_path():
    path = os.environ.get("MVIRT_PROBE")
    if not path:
        top = os.environ.get("top_builddir", os.path.join(os.path.dirname(__file__), "..", ".."))
        path = os.path.join(top, "tests", "guest", "mvirt-probe")
    return path if os.path.exists(path) else None


def parse_line(text):
    """'PROBE blk index=1 capacity=8' -> ('blk', {'index': '1', 'capacity': '8'}).

    A 'text=' key takes the rest of the line (the command line may hold spaces)."""
    m = LINE_RE.match(text.rstrip("\r\n"))
    if not m:
        return None
    event, rest = m.group(1), m.group(2).strip()
    fields = {}
    while rest:
        key, _, rest = rest.partition("=")
        if key == "text":
            fields[key] = rest
            break
        value, _, rest = rest.partition(" ")
        fields[key] = value
    return event, fields


class ProbeVM:
    """One QEMU running the probe; the console is collected by a reader thread."""

    def __init__(self, probe, args, cmdline="", accel="tcg", netns=None, memory="128M"):
        self.qemu = qemu_path()
        cmd = [self.qemu, "-M", "microvm,acpi=on", "-m", memory, "-nodefaults",
               "-no-user-config", "-display", "none", "-serial", "stdio",
               "-kernel", probe, "-append", cmdline, "-device", "isa-debug-exit"]
        if accel == "kvm":
            cmd += ["-accel", "kvm", "-cpu", "host,-arch-capabilities"]
        else:
            cmd += ["-accel", "tcg"]
        cmd += args
        if netns:
            cmd = ["ip", "netns", "exec", netns] + cmd
        self.cmd = cmd
        self.lines = []
        self.events = queue.Queue()
        self.started = time.monotonic()
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, errors="replace")
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for text in self.proc.stdout:
            stamp = time.monotonic() - self.started
            self.lines.append((stamp, text.rstrip("\r\n")))
            parsed = parse_line(text)
            if parsed:
                self.events.put((stamp, parsed[0], parsed[1]))
        self.events.put((time.monotonic() - self.started, None, None))

    def wait_for(self, event, timeout=30, **match):
        """Returns (seconds since start, fields) of the next line of `event` whose fields
        include `match`; fails on timeout or when QEMU ends first."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no 'PROBE {event}' {match} within {timeout} s; "
                                     f"console:\n{self.console()}")
            try:
                stamp, ev, fields = self.events.get(timeout=left)
            except queue.Empty:
                continue
            if ev is None:
                self.events.put((stamp, None, None))
                raise AssertionError(f"QEMU ended before 'PROBE {event}': "
                                     f"{self.stderr_text()}\nconsole:\n{self.console()}")
            if ev == event and all(fields.get(k) == str(v) for k, v in match.items()):
                return stamp, fields

    def all(self, event):
        return [parse_line(t)[1] for _, t in self.lines
                if parse_line(t) and parse_line(t)[0] == event]

    def console(self):
        return "\n".join(t for _, t in self.lines[-60:])

    def stderr_text(self):
        if self.proc.poll() is None or not self.proc.stderr:
            return ""
        return self.proc.stderr.read()

    def wait_exit(self, timeout=30):
        return self.proc.wait(timeout=timeout)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.reader.join(timeout=5)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream:
                stream.close()


class QMP:
    """A minimal QMP client for QEMU's monitor socket (commands only; events are skipped)."""

    def __init__(self, path, timeout=10):
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.settimeout(timeout)
                self.sock.connect(path)
                break
            except OSError:
                self.sock.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        self.file = self.sock.makefile("rw")
        json.loads(self.file.readline())  # greeting
        self.execute("qmp_capabilities")

    def execute(self, command, **arguments):
        self.file.write(json.dumps({"execute": command, "arguments": arguments}) + "\n")
        self.file.flush()
        while True:
            reply = json.loads(self.file.readline())
            if "event" in reply:
                continue
            if "error" in reply:
                raise RuntimeError(f"QMP {command}: {reply['error']}")
            return reply["return"]

    def close(self):
        self.file.close()
        self.sock.close()


def blk_args(images, legacy=False):
    """-drive/-device pairs for raw images, plus the transport version to present."""
    args = ["-global", f"virtio-mmio.force-legacy={'true' if legacy else 'false'}"]
    for i, path in enumerate(images):
        args += ["-drive", f"file={path},if=none,id=d{i},format=raw",
                 "-device", f"virtio-blk-device,drive=d{i}"]
    return args


def sector_crc(path, sector):
    with open(path, "rb") as f:
        f.seek(sector * SECTOR)
        return f"{zlib.crc32(f.read(SECTOR)):08x}"


@pytest.fixture
def disks(tmp_path):
    """Two raw images of different sizes (the size tells which is which in the probe's
    order) with recognisable, different sectors."""
    images = []
    for n, sectors in ((1, 2048), (2, 4096)):
        path = tmp_path / f"disk{n}.img"
        with open(path, "wb") as f:
            for s in range(sectors):
                f.write((f"disk{n}-sector{s}-".encode() * 40)[:SECTOR])
        images.append(str(path))
    return images


@pytest.fixture
def vms():
    """Starts QEMUs running the probe; each is stopped when the test ends."""
    started = []

    def start(*args, **kwargs):
        vm = ProbeVM(probe_path(), *args, **kwargs)
        started.append(vm)
        return vm

    start.started = started
    yield start
    for vm in started:
        vm.stop()


def check_host_pings_probe(vms, accel):
    """Two NICs on one bridge, each answering ARP and ping for its own address."""
    from probe_netns import HOST_IP, TAP, NetNS

    try:
        ns = NetNS(taps=2)
    except Exception as e:  # no netns support in this sandbox: say so, do not fail
        pytest.skip(f"cannot create a network namespace: {e}")
    try:
        args = []
        for n in range(2):
            args += ["-netdev", f"tap,id=n{n},ifname={TAP.format(n)},script=no,downscript=no",
                     "-device", f"virtio-net-device,netdev=n{n},mac=52:54:00:12:34:5{6 + n}"]
        vm = vms(args, cmdline="probe.ip=10.0.0.2 probe.ip1=10.0.0.9", netns=ns.name,
                 accel=accel)
        vm.wait_for("ready", net=2)
        nics = {n["ip"]: n for n in vm.all("net")}
        assert set(nics) == {"10.0.0.2", "10.0.0.9"} and all(
            n["link"] == "up" for n in nics.values())
        for ip in nics:
            replies = ns.ping(ip, count=3)
            assert len(replies) == 3 and all("intact=1" in r for r in replies), vm.console()
            index = nics[ip]["index"]
            vm.wait_for("ping", **{"from": HOST_IP}, index=index)
        assert len(vm.all("ping")) >= 6
        assert {a["from"] for a in vm.all("arp")} == {HOST_IP}
    finally:
        for vm in vms.started:
            vm.stop()  # QEMU holds the TAPs: end it before the namespace goes
        ns.close()


def check_time_to_ready(vms, disks, accel):
    """Start of QEMU to 'PROBE ready' (reported; bounded so that a regression shows)."""
    vm = vms(blk_args(disks) + ["-netdev", "user,id=n0",
                                "-device", "virtio-net-device,netdev=n0"], accel=accel)
    stamp, _ = vm.wait_for("ready", blk=2, net=1, timeout=60)
    first = vm.lines[0][0]
    print(f"{accel}: first line {first:.3f} s, ready {stamp:.3f} s after QEMU started")
    assert stamp < 30
