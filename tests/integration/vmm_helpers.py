"""Running mvirt-vmm with the guest probe: console capture and line waits (QMP is
qmp_client.QmpClient).

Every VMM is started through mvirt_test.Process and stopped by PID when the
test ends; files live in the test's workdir.
"""
import os
import re
import time

import pytest

from mvirt_test import Process, env_path


def probe_fields(line):
    """'PROBE blk index=1 capacity=8' -> ('blk', {'index': '1', 'capacity': '8'})."""
    words = line.split()
    return words[1], dict(w.split("=", 1) for w in words[2:] if "=" in w)


class Vmm:
    """One mvirt-vmm process whose console (stdout) and log (stderr) go to files."""

    def __init__(self, workdir, args, cmdline="", prefix=(), name="vm", env=None):
        self.console_path = os.path.join(workdir, f"{name}.console")
        self.stderr_path = os.path.join(workdir, f"{name}.stderr")
        self.argv = [*prefix, env_path("MVIRT_VMM"), "-machine", "microvm",
                     "-kernel", env_path("MVIRT_PROBE"), "-m", "128M", *args]
        if cmdline:
            self.argv += ["-append", cmdline]
        self.started = time.monotonic()
        self._err = open(self.stderr_path, "wb")
        self.proc = Process(self.argv, log_path=self.console_path, stderr=self._err,
                            env={**os.environ, **(env or {})})
        self.pid = self.proc.pid

    def console(self):
        return self.proc.log()

    def stderr(self):
        with open(self.stderr_path, "rb") as f:
            return f.read().decode(errors="replace")

    def events(self, event):
        # Only complete lines: the serial port writes a line a byte at a time, and a
        # line still without its newline may lack its last fields.
        lines = [line.strip() for line in self.console().split("\n")[:-1]]
        return [probe_fields(line)[1] for line in lines
                if line.startswith(f"PROBE {event} ") or line == f"PROBE {event}"]

    def wait_event(self, event, timeout=30, after=0, **want):
        """The first 'PROBE event' line (from the after-th on) whose fields include want."""
        deadline = time.monotonic() + timeout
        while True:
            for fields in self.events(event)[after:]:
                if all(fields.get(k) == str(v) for k, v in want.items()):
                    return fields
            if not self.proc.alive() or time.monotonic() > deadline:
                pytest.fail(f"no 'PROBE {event}' with {want} "
                            f"({'VMM exited' if not self.proc.alive() else 'timed out'}); "
                            f"console:\n{self.console()}\nstderr:\n{self.stderr()}")
            time.sleep(0.02)

    def wait_exit(self, timeout=30):
        return self.proc.wait(timeout)

    def stop(self):
        rc = self.proc.stop()
        self._err.close()
        return rc


def vmm_with_qmp(workdir):
    """A VMM booting the probe, ready, with its QMP socket at .sock; the caller stops it."""
    sock = os.path.join(workdir, "qmp.sock")
    v = Vmm(workdir, ["-qmp", f"unix:{sock},server,nowait"])
    v.wait_event("ready", timeout=60)
    v.sock = sock
    return v


def wait_gone(path, timeout=5):
    deadline = time.monotonic() + timeout
    while os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.02)
    return not os.path.exists(path)


def strip_ansi(text):
    return re.sub(r"\x1b\[[0-9;]*m", "", text)
