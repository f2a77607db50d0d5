"""libvirtd + libvirt-dbus from the distribution, isolated for the benchmark.

libvirtd runs as root (/dev/kvm is root-only here) in its own mount and network namespaces:
tmpfs over /run/libvirt, /var/lib/libvirt, /var/cache/libvirt, /var/log/libvirt and
/etc/libvirt, so nothing of the host's libvirt is read or changed and everything vanishes
with the process. libvirt-dbus joins those namespaces (its qemu:///system is then our
libvirtd) and serves a private dbus-daemon given as its system bus. virsh reaches the socket
through /proc/PID/root.
"""
import os
import shutil
import subprocess
import tempfile
import time

import dbus

from common import CLEANUP, QEMU, stop_proc
from mgmt import start_bus, wait_for

LV_BUS = "org.libvirt"
LV_PATH = "/org/libvirt/QEMU"
TMPFS = ("/run/libvirt", "/var/lib/libvirt", "/var/cache/libvirt", "/var/log/libvirt",
         "/etc/libvirt")
ROOT_PORTS = 24  # PCIe unplug needs the guest's consent: every attach takes a fresh port


def domain_xml(name, kernel, memory_mib=64):
    ports = "".join("<controller type='pci' model='pcie-root-port'/>" for _ in range(ROOT_PORTS))
    return (f"<domain type='kvm'><name>{name}</name><memory unit='MiB'>{memory_mib}</memory>"
            f"<vcpu>1</vcpu><os><type arch='x86_64' machine='q35'>hvm</type>"
            f"<kernel>{kernel}</kernel></os>"
            f"<cpu mode='host-passthrough'><feature policy='disable' name='arch-capabilities'/>"
            f"</cpu><devices><emulator>{QEMU}</emulator>"
            f"<controller type='pci' model='pcie-root'/>{ports}"
            f"<memballoon model='none'/></devices></domain>")


def disk_xml(image, i):
    return (f"<disk type='file' device='disk'><driver name='qemu' type='raw'/>"
            f"<source file='{image}'/><target dev='vd{chr(ord('b') + i)}' bus='virtio'/>"
            f"</disk>")


class Libvirt:
    label = "libvirt"

    def __init__(self, b, work):
        for prog in ("libvirtd", "libvirt-dbus", "virsh", "unshare", "nsenter"):
            if not shutil.which(prog):
                raise RuntimeError(f"{prog} is not installed (Debian: libvirt-daemon, "
                                   "libvirt-daemon-driver-qemu, libvirt-clients, libvirt-dbus)")
        self.b = b
        self.work = tempfile.mkdtemp(dir=work, prefix="libvirt-")
        conf = os.path.join(self.work, "etc")
        os.makedirs(conf)
        log = os.path.join(self.work, "libvirtd.log")
        with open(os.path.join(conf, "libvirtd.conf"), "w") as f:
            f.write('auth_unix_rw = "none"\nauth_unix_ro = "none"\nunix_sock_rw_perms = "0700"\n'
                    f'log_outputs = "3:file:{log}"\nmax_clients = 64\n')
        with open(os.path.join(conf, "qemu.conf"), "w") as f:
            f.write('user = "root"\ngroup = "root"\ndynamic_ownership = 0\nremember_owner = 0\n'
                    'security_driver = "none"\ncgroup_controllers = [ ]\nnamespaces = [ ]\n'
                    'stdio_handler = "file"\n')
        mounts = "; ".join(f"mkdir -p {d} && mount -t tmpfs tmpfs {d}" for d in TMPFS)
        script = (f"set -e; {mounts}; cp -a {conf}/. /etc/libvirt/; "
                  "exec libvirtd -f /etc/libvirt/libvirtd.conf")
        # unshare execs the shell, which execs libvirtd: the PID is libvirtd's.
        self.libvirtd = CLEANUP.proc(subprocess.Popen(
            ["unshare", "--mount", "--net", "--propagation", "private", "sh", "-c", script],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=open(os.path.join(self.work, "libvirtd.stderr"), "wb")))
        CLEANUP.call(self.kill_qemus)
        self.sock = f"/proc/{self.libvirtd.pid}/root/run/libvirt/libvirt-sock"
        wait_for(lambda: os.path.exists(self.sock) or self.libvirtd.poll() is not None, 60,
                 "libvirtd's socket")
        if self.libvirtd.poll() is not None:
            raise RuntimeError("libvirtd exited at start: " + self.log())
        self.uri = f"qemu+unix:///system?socket={self.sock}"
        self.addr = start_bus(self.work, "libvirt")
        env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=self.addr)
        self.dbusd = CLEANUP.proc(subprocess.Popen(
            ["nsenter", "-t", str(self.libvirtd.pid), "-m", "-n", "libvirt-dbus", "--system"],
            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=open(os.path.join(self.work, "libvirt-dbus.stderr"), "wb")))
        self.bus = dbus.bus.BusConnection(self.addr)
        wait_for(lambda: self.bus.name_has_owner(LV_BUS) or self.dbusd.poll() is not None, 60,
                 "libvirt-dbus on the bus")
        if self.dbusd.poll() is not None:
            raise RuntimeError("libvirt-dbus exited at start")
        self.conn = dbus.Interface(self.bus.get_object(LV_BUS, LV_PATH), "org.libvirt.Connect")

    def log(self):
        try:
            with open(os.path.join(self.work, "libvirtd.log")) as f:
                return f.read()[-1500:]
        except OSError:
            return "(no log)"

    def kill_qemus(self):
        """QEMUs libvirtd started, found by their pidfiles in its namespace."""
        run = f"/proc/{self.libvirtd.pid}/root/run/libvirt/qemu"
        for name in os.listdir(run) if os.path.isdir(run) else ():
            if name.endswith(".pid"):
                try:
                    with open(os.path.join(run, name)) as f:
                        os.kill(int(f.read()), 9)
                except (OSError, ValueError):
                    pass

    def pids(self):
        # nsenter execs libvirt-dbus: the PID is libvirt-dbus's.
        return [self.libvirtd.pid, self.dbusd.pid]

    def dom(self, path):
        return dbus.Interface(self.bus.get_object(LV_BUS, path), "org.libvirt.Domain")

    def define(self, name, memory_mib=64):
        return self.conn.DomainDefineXML(domain_xml(name, self.b.probe, memory_mib))

    def undefine(self, path):
        self.dom(path).Undefine(0)

    def lookup(self, name):
        return self.conn.DomainLookupByName(name)

    def list(self):
        return self.conn.ListDomains(0)

    def console(self, name):
        return ""

    def boot(self, name, memory_mib=64):
        """Defined and started paused (VIR_DOMAIN_START_PAUSED): QEMU runs, the guest not."""
        path = self.define(name, memory_mib)
        t0 = time.monotonic()
        self.dom(path).Create(1, timeout=120)
        self.start_s = time.monotonic() - t0
        return path

    def disk_xml(self, image, i):
        return disk_xml(image, i)

    def attach(self, path, xml):
        self.dom(path).AttachDevice(xml, 1)

    def detach(self, path, xml):
        pass  # a paused q35 guest never acknowledges a PCIe unplug; the next port is used

    def cli_attach(self, name, xml_file):
        return ["virsh", "-q", "-c", self.uri, "attach-device", name, xml_file, "--live"]

    def cli_detach(self, name, xml_file):
        return ["true"]

    def stop(self):
        try:
            for path in self.list():
                try:
                    self.dom(path).Destroy(0)
                except dbus.DBusException:
                    pass
        except dbus.DBusException:
            pass
        stop_proc(self.dbusd)
        self.kill_qemus()
        stop_proc(self.libvirtd, timeout=15)
