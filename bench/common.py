"""Shared pieces of bench/run: guests with timestamped consoles, QMP, statistics, clean-up.

Everything started here is registered with Cleanup and ended by PID (SIGTERM, then SIGKILL
after a bounded wait), also when the run is interrupted with Ctrl-C.
"""
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import threading
import time

QEMU = shutil.which("qemu-system-x86_64") or "/usr/bin/qemu-system-x86_64"


class Cleanup:
    """Processes, namespaces and paths to remove, in reverse order of registration."""

    def __init__(self):
        self.items = []

    def proc(self, p):
        self.items.append(("proc", p))
        return p

    def netns(self, name):
        self.items.append(("netns", name))
        return name

    def path(self, path):
        self.items.append(("path", path))
        return path

    def call(self, fn):
        self.items.append(("call", fn))

    def run(self):
        while self.items:
            kind, what = self.items.pop()
            try:
                if kind == "proc":
                    stop_proc(what)
                elif kind == "netns":
                    subprocess.run(["ip", "netns", "delete", what], timeout=10,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                elif kind == "path":
                    shutil.rmtree(what, ignore_errors=True)
                else:
                    what()
            except Exception as e:  # clean-up goes on whatever one item does
                print(f"# clean-up of {kind} failed: {e}", flush=True)


CLEANUP = Cleanup()


def stop_proc(p, timeout=5):
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=timeout)


class Guest:
    """A VMM whose serial console is its stdout: every line is stamped when it arrives."""

    def __init__(self, argv, log=None):
        self.lines = []  # (monotonic time, text)
        self.cond = threading.Condition()
        self.started = time.monotonic()
        err = open(log, "wb") if log else subprocess.DEVNULL
        self.proc = CLEANUP.proc(subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                                  stdout=subprocess.PIPE, stderr=err))
        if log:
            err.close()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        for raw in self.proc.stdout:
            t = time.monotonic()
            with self.cond:
                self.lines.append((t, raw.decode(errors="replace").rstrip("\r\n")))
                self.cond.notify_all()
        with self.cond:
            self.lines.append((time.monotonic(), None))  # end of output
            self.cond.notify_all()

    def wait_line(self, needle, after=0, timeout=60):
        """(index, time) of the first line from index `after` containing needle, or None."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for i in range(after, len(self.lines)):
                    text = self.lines[i][1]
                    if text is None:
                        return None
                    if needle in text:
                        return i, self.lines[i][0]
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(left)

    def since_start(self, needle, timeout=60):
        hit = self.wait_line(needle, timeout=timeout)
        return None if hit is None else hit[1] - self.started

    def text(self):
        with self.cond:
            return "\n".join(t for _, t in self.lines if t is not None)

    def stop(self):
        stop_proc(self.proc)
        self.thread.join(timeout=5)
        self.proc.stdout.close()


def smaps_kib(pid, field="Rss", skip_at_least_kib=None):
    """Sum of one smaps field over the mappings of pid, skipping mappings of at least the
    given size (the guest RAM) when asked."""
    total = size = 0
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            if line.startswith("Size:"):
                size = int(line.split()[1])
            elif line.startswith(field + ":"):
                if skip_at_least_kib is None or size < skip_at_least_kib:
                    total += int(line.split()[1])
    return total


def rollup_kib(pid, field):
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


class Qmp:
    """A blocking QMP client; events are kept in self.events."""

    def __init__(self, path, timeout=30):
        deadline = time.monotonic() + timeout
        while True:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
            try:
                self.sock.connect(path)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                self.sock.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.01)
        self.sock.settimeout(timeout)
        self.file = self.sock.makefile("rb")
        self.events = []
        self.file.readline()
        self.execute("qmp_capabilities")

    def execute(self, cmd, **args):
        msg = {"execute": cmd}
        if args:
            msg["arguments"] = args
        self.sock.sendall(json.dumps(msg).encode() + b"\r\n")
        while True:
            line = self.file.readline()
            if not line:
                raise ConnectionError("QMP connection closed")
            reply = json.loads(line)
            if "event" in reply:
                self.events.append(reply)
            else:
                return reply

    def wait_event(self, name, timeout=10):
        deadline = time.monotonic() + timeout
        while not any(e["event"] == name for e in self.events):
            if time.monotonic() > deadline:
                return False
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                line = self.file.readline()
            except socket.timeout:
                return False
            if line:
                self.events.append(json.loads(line))
        self.events = [e for e in self.events if e["event"] != name]
        return True

    def close(self):
        self.file.close()
        self.sock.close()


def summarize(values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    return statistics.median(values), min(values), max(values)


ROWS = []


def row(name, unit, ours, theirs, note=""):
    """One table row; ours/theirs are summarize() results or None (n/a)."""
    def cell(s):
        return "n/a" if s is None else f"{s[0]:.4g} ({s[1]:.4g}..{s[2]:.4g})"
    ratio = "n/a" if not ours or not theirs or theirs[0] == 0 else f"{ours[0] / theirs[0]:.2f}"
    line = f"| {name} | {unit} | {cell(ours)} | {cell(theirs)} | {ratio} |"
    if note:
        line += f" {note} |"
    ROWS.append(line)
    print(line, flush=True)


def note(text):
    print(f"# {text}", flush=True)


def make_image(path, size):
    """A file of `size` bytes with real blocks (not sparse), so reads touch the disk cache
    the same way under both VMMs."""
    with open(path, "wb") as f:
        chunk = bytes(range(256)) * 4096
        left = size
        while left > 0:
            f.write(chunk[:min(left, len(chunk))])
            left -= len(chunk)
    return path


def netns_add(prefix):
    name = f"{prefix}{os.getpid()}"
    subprocess.run(["ip", "netns", "add", name], check=True, timeout=10)
    CLEANUP.netns(name)
    subprocess.run(["ip", "netns", "exec", name, "ip", "link", "set", "lo", "up"], check=True,
                   timeout=10)
    return name
