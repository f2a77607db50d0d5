"""Starting mvirtd on a private bus and talking to it with python3-dbus.

Every mvirtd a test starts is stopped by PID; its state and runtime folders live in the
test's workdir, so nothing outlives the test.
"""
import os
import signal
import subprocess

import time

import dbus
import pytest
from dbus.mainloop.glib import DBusGMainLoop
from gi.repository import GLib

from mvirt_test import Process, env_path, wait_for

BUS_NAME = "org.mvirt.Manager1"
MANAGER_PATH = "/org/mvirt/Manager1"
MANAGER_IFACE = "org.mvirt.Manager1"
DOMAIN_IFACE = "org.mvirt.Domain1"
PROPS_IFACE = "org.freedesktop.DBus.Properties"

# Signals reach python3-dbus through a GLib main context, iterated by Signals.wait().
DBusGMainLoop(set_as_default=True)


class Signals:
    """Collects the signals of one domain object: (member, args) in arrival order."""

    def __init__(self, bus, path):
        self.items = []
        bus.add_signal_receiver(self._on, path=path, member_keyword="member",
                                interface_keyword="iface")

    def _on(self, *args, member=None, iface=None):
        self.items.append((str(member), args))

    def pump(self):
        ctx = GLib.MainContext.default()
        while ctx.iteration(False):
            pass

    def wait(self, member, value=None, timeout=30):
        """Waits for signal member (with first argument value, if given); consumes it."""
        deadline = time.monotonic() + timeout
        while True:
            self.pump()
            for i, (m, args) in enumerate(self.items):
                if m == member and (value is None or (args and args[0] == value)):
                    del self.items[i]
                    return args
            if time.monotonic() > deadline:
                pytest.fail(f"no {member} {value or ''} signal within {timeout}s; "
                            f"got {self.items}")
            time.sleep(0.02)


def domain_xml(name, kernel, root_image=None, uuid=None, extra_devices="", cmdline="",
               memory_mib=64, on_crash=None):
    uuid_el = f"<uuid>{uuid}</uuid>" if uuid else ""
    disk = ""
    if root_image:
        disk = (f"<disk type='file' device='disk'><source file='{root_image}'/>"
                f"<target dev='vda' bus='virtio'/></disk>")
    crash = f"<on_crash>{on_crash}</on_crash>" if on_crash else ""
    cmd = f"<cmdline>{cmdline}</cmdline>" if cmdline else ""
    return (f"<domain type='kvm'><name>{name}</name>{uuid_el}"
            f"<memory unit='MiB'>{memory_mib}</memory><vcpu>1</vcpu>"
            f"<os><type arch='x86_64' machine='microvm'>hvm</type><kernel>{kernel}</kernel>{cmd}</os>"
            f"{crash}<devices>{disk}{extra_devices}</devices></domain>")


def disk_xml(image, target=None, readonly=False):
    t = f"<target dev='{target}' bus='virtio'/>" if target else ""
    ro = "<readonly/>" if readonly else ""
    return f"<disk type='file' device='disk'><source file='{image}'/>{t}{ro}</disk>"


def nic_xml(bridge=None, mac=None, tap=None, ethernet=False, managed=True):
    """managed=False: <target managed='no'>, libvirt's way to name an existing TAP."""
    kind = "ethernet" if ethernet else "bridge"
    src = f"<source bridge='{bridge}'/>" if bridge else ""
    m = f"<mac address='{mac}'/>" if mac else ""
    managed_attr = "" if managed else " managed='no'"
    t = f"<target dev='{tap}'{managed_attr}/>" if tap else ""
    return f"<interface type='{kind}'>{src}{m}{t}<model type='virtio'/></interface>"


def make_image(path, size=1 << 20):
    with open(path, "wb") as f:
        f.truncate(size)
    return path


class Mvirtd:
    """One mvirtd process on the test's bus, with its own state and runtime folders."""

    def __init__(self, workdir, bus_address, netns=None, extra_args=(), env=None):
        self.env = env
        self.workdir = workdir
        self.bus_address = bus_address
        self.state_dir = os.path.join(workdir, "state")
        self.runtime_dir = os.path.join(workdir, "run")
        self.netns = netns
        self.extra_args = list(extra_args)
        self.proc = None
        self.bus = dbus.bus.BusConnection(bus_address)

    def start(self):
        # Images come from the test's workdir, and the examples' from the default folder.
        argv = [env_path("MVIRTD"), "--bus-address", self.bus_address,
                "--state-dir", self.state_dir, "--runtime-dir", self.runtime_dir,
                "--vmm", env_path("MVIRT_VMM"), "--image-dir", self.workdir,
                "--image-dir", "/var/lib/mvirt/images",
                # The probe kernel (a boot file, under the image policy like disks).
                "--image-dir", os.path.dirname(os.path.realpath(env_path("MVIRT_PROBE"))),
                *self.extra_args]
        if self.netns:
            argv = self.netns.argv(*argv)
        kw = {"env": {**os.environ, **self.env}} if self.env else {}
        self.proc = Process(argv, log_path=os.path.join(self.workdir, "mvirtd.log"), **kw)
        wait_for(lambda: self.bus.name_has_owner(BUS_NAME) or not self.proc.alive(), 20,
                 what="mvirtd to own its bus name")
        if not self.proc.alive():
            pytest.fail("mvirtd exited at start:\n" + self.proc.log())
        return self

    def kill9(self):
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        self.proc.stop()
        wait_for(lambda: not self.bus.name_has_owner(BUS_NAME), 10, what="the name to be free")

    def stop(self):
        if self.proc:
            self.proc.stop()

    def log(self):
        return self.proc.log() if self.proc else ""

    def manager(self):
        return dbus.Interface(self.bus.get_object(BUS_NAME, MANAGER_PATH), MANAGER_IFACE)

    def domain(self, path):
        obj = self.bus.get_object(BUS_NAME, path)
        return dbus.Interface(obj, DOMAIN_IFACE), dbus.Interface(obj, PROPS_IFACE)

    def define(self, xml):
        path = self.manager().DefineXML(xml)
        return self.domain(path) + (path,)

    def state(self, props):
        return str(props.Get(DOMAIN_IFACE, "State"))

    def destroy_all(self):
        """Stops every running domain (by the daemon), so no VMM outlives the test."""
        for path in self.manager().ListDomains():
            dom, props = self.domain(path)
            if self.state(props) in ("running", "paused"):
                dom.Destroy()


def console(d, name):
    """The complete lines of domain name's serial console log (<runtime-dir>/<name>/console.log),
    "" if there is none yet. The serial port writes a line a byte at a time: text after the
    last newline is left out, so a pattern never matches a line still being written."""
    try:
        with open(os.path.join(d.runtime_dir, name, "console.log"), errors="replace") as f:
            text = f.read()
    except OSError:
        return ""
    return text[:text.rfind("\n") + 1]


def dbus_error_name(excinfo):
    return excinfo.value.get_dbus_name()


@pytest.fixture
def mvirtd(workdir, dbus_bus):
    d = Mvirtd(workdir, dbus_bus.address).start()
    try:
        yield d
    finally:
        stop_daemon(d)


def kill_vmms(pids):
    """SIGKILLs each VMM still there: the last step of every test's cleanup."""
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def stop_daemon(d, destroy=False, pids=()):
    """Stops mvirtd d, then kills every VMM it ran (those in its runtime folder and the pids a
    test noted earlier), also when the test failed. destroy=True asks the daemon first."""
    pids = set(pids) | set(_vmm_pids(d.runtime_dir))
    if destroy:
        try:
            d.destroy_all()
        except Exception:  # noqa: BLE001 - the test may have failed; still end every VMM
            pass
    d.stop()
    kill_vmms(pids)


def _vmm_pids(runtime_dir):
    pids = []
    if not os.path.isdir(runtime_dir):
        return pids
    for name in os.listdir(runtime_dir):
        try:
            with open(os.path.join(runtime_dir, name, "vmm.pid")) as f:
                pids.append(int(f.read().strip()))
        except (OSError, ValueError):
            pass
    return pids


class QmpSession:
    """Another QMP client of a VMM, beside the daemon's: commands (with fds) and replies."""

    def __init__(self, path):
        import json
        import socket
        self._json = json
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.settimeout(10)
        self.sock.connect(path)
        self.buf = b""
        self._line()  # greeting
        assert "return" in self.execute("qmp_capabilities")

    def _line(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("the VMM closed QMP")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return self._json.loads(line)

    def execute(self, cmd, fds=(), **args):
        """Returns the reply ({"return": ...} or {"error": ...}); events are skipped."""
        import socket
        msg = {"execute": cmd}
        if args:
            msg["arguments"] = {k.replace("_", "-"): v for k, v in args.items()}
        data = (self._json.dumps(msg) + "\n").encode()
        if fds:
            socket.send_fds(self.sock, [data], list(fds))
        else:
            self.sock.sendall(data)
        while True:
            reply = self._line()
            if "event" not in reply:
                return reply

    def slots(self):
        return self.execute("query-slots")["return"]

    def close(self):
        self.sock.close()


def run_capture(*argv):
    return subprocess.run(argv, capture_output=True, text=True, timeout=30)
