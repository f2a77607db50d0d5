"""QMP over mvirt-vmm's unix socket for the QMP tests: raw lines, commands,
events kept in arrival order, fds sent with SCM_RIGHTS; and the guide's network
(bridge qbr0 with TAPs tap0, tap1) in a private namespace.

Everything is closed or deleted by the test that made it, also on failure.
"""
import array
import json
import os
import socket
import subprocess
import sys
import time

import pytest

HOST_IP = "10.0.0.1"
HERE = os.path.dirname(os.path.abspath(__file__))


class QmpClient:
    def __init__(self, path, timeout=10):
        deadline = time.monotonic() + timeout
        while not os.path.exists(path):
            if time.monotonic() > deadline:
                pytest.fail(f"the QMP socket {path} did not appear")
            time.sleep(0.02)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.buf = b""
        self.log = []  # every message received, in order
        self.pending = []  # events not yet taken
        self.greeting = self.read()
        assert "QMP" in self.greeting, f"not a QMP greeting: {self.greeting}"

    def readline(self):
        while b"\n" not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                pytest.fail("the QMP socket closed")
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        assert line.endswith(b"\r"), f"a QMP line without CRLF: {line!r}"
        return line[:-1]

    def read(self):
        msg = json.loads(self.readline())
        self.log.append(msg)
        return msg

    def send_raw(self, data, fds=()):
        if fds:
            self.sock.sendmsg([data], [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                                        array.array("i", fds))])
        else:
            self.sock.sendall(data)

    def send(self, execute, arguments=None, fds=(), **extra):
        msg = {"execute": execute, **extra}
        if arguments is not None:
            msg["arguments"] = arguments
        self.send_raw(json.dumps(msg).encode() + b"\r\n", fds)

    def reply(self):
        """The next reply; events before it are kept for event()."""
        while True:
            msg = self.read()
            if "event" in msg:
                self.pending.append(msg)
            else:
                return msg

    def execute(self, execute, arguments=None, **extra):
        self.send(execute, arguments, **extra)
        return self.reply()

    def ok(self, execute, arguments=None):
        r = self.execute(execute, arguments)
        assert r == {"return": {}} or "return" in r, f"{execute} {arguments}: {r}"
        return r["return"]

    def error(self, execute, arguments=None, cls="GenericError", names=()):
        r = self.execute(execute, arguments)
        assert "error" in r, f"{execute} {arguments} should fail: {r}"
        assert r["error"]["class"] == cls, r
        for value in names:
            assert str(value) in r["error"]["desc"], (value, r["error"]["desc"])
        return r["error"]["desc"]

    def event(self, name):
        while True:
            for e in self.pending:
                if e["event"] == name:
                    self.pending.remove(e)
                    return e
            msg = self.read()
            if "event" in msg:
                self.pending.append(msg)

    def close(self):
        self.sock.close()


class Transcript:
    """A QMP transcript from tests/data/qmp (its README says the format): play(q, step)
    sends the step's lines word for word and checks every line that comes back."""

    def __init__(self, name, **subst):
        path = os.path.join(os.environ.get("top_srcdir", os.path.join(HERE, "..", "..")),
                            "tests", "data", "qmp", name)
        self.steps = {}
        step = None
        with open(path, encoding="utf-8") as f:
            for line in f.read().splitlines():
                for key, value in subst.items():
                    line = line.replace(f"@{key}@", value)
                if line.startswith("== "):
                    step = self.steps.setdefault(line[3:].strip(), [])
                elif line.startswith(("<- ", "-> ")):
                    assert step is not None, f"{name}: a line before the first step"
                    step.append((line[:2], line[3:]))

    def play(self, q, step):
        for direction, text in self.steps[step]:
            if direction == "<-":
                q.send_raw(text.encode() + b"\r\n")
                continue
            want, got = json.loads(text), q.read()
            if "timestamp" in want:
                stamp = got.get("timestamp", {})
                assert set(stamp) == {"seconds", "microseconds"}, got
                assert abs(stamp["seconds"] - time.time()) < 60, got
                want["timestamp"] = stamp
            assert got == want, f"{step}: sent before it {self.steps[step]}"


class GuideNet:
    """The guide's preparation in a private namespace: bridge qbr0 (HOST_IP/24),
    TAPs tap0 and tap1 up and in the bridge."""

    def __init__(self):
        self.name = f"mvqmp{os.getpid()}{time.monotonic_ns() % 100000}"
        subprocess.run(["ip", "netns", "add", self.name], check=True)
        try:
            self.ip("link", "set", "lo", "up")
            self.ip("link", "add", "qbr0", "type", "bridge")
            self.ip("addr", "add", f"{HOST_IP}/24", "dev", "qbr0")
            self.ip("link", "set", "qbr0", "up")
            for tap in ("tap0", "tap1", "tap2"):
                self.ip("tuntap", "add", tap, "mode", "tap")
                self.ip("link", "set", tap, "up")
                self.ip("link", "set", tap, "master", "qbr0")
        except Exception:
            self.close()
            raise

    def ip(self, *args):
        subprocess.run(["ip", "netns", "exec", self.name, "ip", *args], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=10)

    def prefix(self):
        return ("ip", "netns", "exec", self.name)

    def ping(self, address, count=2, timeout=20):
        """Replies to ICMP echo from the bridge (probe_netns.py's raw-socket ping)."""
        out = subprocess.run(["ip", "netns", "exec", self.name, sys.executable,
                              os.path.join(HERE, "probe_netns.py"), "ping", address, str(count)],
                             check=False, capture_output=True, text=True, timeout=timeout)
        return [line for line in out.stdout.splitlines() if line.startswith("reply")]

    def close(self):
        subprocess.run(["ip", "netns", "del", self.name], check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=10)
