"""Helpers shared by the integration and end-to-end tests.

Everything a test starts or creates here is ended or removed by the test itself,
also when it fails: processes by PID, network namespaces by name, files in a
temporary folder.
"""
import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time

import pytest


def env_path(name, default=None):
    """Path of a built program or file from the harness's environment."""
    value = os.environ.get(name, default)
    if not value:
        pytest.fail(f"{name} is not set: run the tests through 'make check'")
    return value


def require_kvm():
    """A test of a file marked KVM = "..." runs where tools/with-kvm found a KVM for it
    (tests/run-pytest): a missing /dev/kvm there is a failure, never a skip."""
    if not os.path.exists("/dev/kvm"):
        pytest.fail("/dev/kvm is absent: run this test through 'make check' (tests/run-pytest "
                    "gives it a KVM with tools/with-kvm), or mark its file KVM = \"any\".")


def require_root():
    if os.geteuid() != 0:
        pytest.skip("needs root (network namespaces, TAP devices)")


def wait_for(predicate, timeout, interval=0.05, what="condition"):
    """Polls predicate until it returns a true value; fails the test on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


class Process:
    """A child process that is killed by PID when the test ends."""

    def __init__(self, argv, log_path=None, **kwargs):
        self.argv = argv
        self.log_path = log_path
        self._log = open(log_path, "ab") if log_path else subprocess.DEVNULL
        kwargs.setdefault("stdout", self._log)
        kwargs.setdefault("stderr", subprocess.STDOUT if log_path else subprocess.DEVNULL)
        kwargs.setdefault("stdin", subprocess.DEVNULL)
        self.proc = subprocess.Popen(argv, **kwargs)
        self.pid = self.proc.pid

    def alive(self):
        return self.proc.poll() is None

    def wait(self, timeout):
        return self.proc.wait(timeout=timeout)

    def stop(self, sig=signal.SIGTERM, timeout=5):
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=timeout)
        if self._log is not subprocess.DEVNULL:
            self._log.close()
            self._log = subprocess.DEVNULL
        return self.proc.returncode

    def log(self):
        if not self.log_path or not os.path.exists(self.log_path):
            return ""
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")


class Netns:
    """A private network namespace (ip netns), deleted when the test ends."""

    def __init__(self, prefix="mvt"):
        self.name = f"{prefix}{os.getpid()}{int(time.monotonic_ns()) % 100000}"
        subprocess.run(["ip", "netns", "add", self.name], check=True)
        self.run("ip", "link", "set", "lo", "up")

    def argv(self, *argv):
        return ["ip", "netns", "exec", self.name, *argv]

    def run(self, *argv, check=True, **kwargs):
        kwargs.setdefault("capture_output", True)
        kwargs.setdefault("text", True)
        return subprocess.run(self.argv(*argv), check=check, **kwargs)

    def delete(self):
        subprocess.run(["ip", "netns", "delete", self.name], check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@pytest.fixture
def netns():
    require_root()
    ns = Netns()
    try:
        yield ns
    finally:
        ns.delete()


class DBusBus:
    """A private dbus-daemon, as libvirt-dbus's tests start one, ended by PID."""

    def __init__(self, workdir):
        self.config = os.path.join(workdir, "bus.conf")
        with open(self.config, "w") as f:
            f.write(f"""<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir={workdir}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
""")
        self.proc = subprocess.Popen(
            ["dbus-daemon", "--config-file", self.config, "--nofork", "--print-address"],
            stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
        self.address = self.proc.stdout.readline().strip()
        if not self.address:
            self.stop()
            pytest.fail("dbus-daemon did not print its address")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=5)
        self.proc.stdout.close()


@pytest.fixture
def workdir():
    path = tempfile.mkdtemp(prefix="mvirt-test-")
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def dbus_bus(workdir):
    bus = DBusBus(workdir)
    try:
        yield bus
    finally:
        bus.stop()
