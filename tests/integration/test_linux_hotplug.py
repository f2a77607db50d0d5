"""The product's promise on a real Linux guest: Debian's kernel under mvirt-vmm started by
mvirtd, disks and NICs hot-plugged and unplugged through mvirtctl (XML files, as a user
types them), the guest's own shell (`mvirtctl console`) reading and writing the disks and
pinging over the bridge, and the devices surviving mvirtd's kill -9 and the VMM's.

One domain serves the whole file (a Linux boot costs ~15 s inside the TCG guest that
tools/with-kvm starts on hosts without a hardware KVM); the tests run in file order.
"""
import hashlib
import os
import re
import signal
import subprocess
import time

import pytest

from linux_guest import GuestShell, guest_images, guest_lines, linux_domain_xml
from mvirt_test import DBusBus, Netns, env_path, require_kvm, require_root, wait_for
from mvirtd_helpers import Mvirtd, Signals, console, stop_daemon

# Where it runs: on a KVM (tests/run-pytest; tools/with-kvm when this host has none).
KVM = "linux"

NAME = "lx"
GUEST_IP, HOST_IP = "10.0.0.2", "10.0.0.1"
ATTEMPT_S, ATTEMPTS = 75, 5  # a boot takes ~15 s in the TCG guest, ~2 s on a hardware KVM
DISK_MIB, ROOT_MIB = 8, 4
SECTORS = DISK_MIB << 11


class Linux:
    """mvirtd in a private network namespace and bus, and one running Linux domain."""

    def __init__(self, workdir, name=NAME, features=""):
        """features: the domain's <features> element, e.g. the dynamic hot-plug model's."""
        self.workdir = workdir
        self.name = name
        self.shell = self.bus = self.daemon = None
        self.netns = Netns()
        try:
            self._start(features)
        except BaseException:
            self.close()  # a boot that never came up leaves nothing behind either
            raise

    def _start(self, features):
        name, workdir = self.name, self.workdir
        self.bus = DBusBus(workdir)
        self.daemon = Mvirtd(workdir, self.bus.address, netns=self.netns).start()
        self.images = guest_images(workdir)
        # A root disk (vda), as a domain with a system has: the disks plugged later keep
        # their slots when the domain restarts.
        root = os.path.join(workdir, "root.img")
        with open(root, "wb") as f:
            f.truncate(ROOT_MIB << 20)
        xml = linux_domain_xml(name, self.images, f"{GUEST_IP}/24",
                               extra=f"<on_crash>restart</on_crash>{features}",
                               devices=f"<disk type='file' device='disk'><source file='{root}'/>"
                                       "<target dev='vda' bus='virtio'/></disk>")
        self.dom, self.props, self.path = self.daemon.define(xml)
        self.signals = Signals(self.daemon.bus, self.path)
        self.dom.Start()
        self.wait_ready()

    def wait_ready(self, after=0):
        """Waits for the guest's next "GUEST ready" (after = how many came before), then opens
        a shell. A boot that is not ready within ATTEMPT_S is ended with SIGKILL and
        on_crash=restart boots it again, hot-plugged devices included: Linux nested under
        TCG now and then hangs early in boot (see tools/with-kvm), which no VMM can help."""
        for attempt in range(1, ATTEMPTS + 1):
            deadline = time.monotonic() + ATTEMPT_S
            while guest_lines(console(self.daemon, self.name)).count("ready") <= after:
                if time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            else:
                print(f"Linux guest ready after {attempt} boot(s)")
                if self.shell:
                    self.shell.close()
                self.shell = GuestShell(self.ctl("console", self.name))
                return
            self.restart_hung_boot()
        pytest.fail(f"The Linux guest did not reach its shell in {ATTEMPTS} boots of "
                    f"{ATTEMPT_S}s. Console:\n{console(self.daemon, self.name)[-4000:]}\n"
                    f"mvirtd:\n{self.daemon.log()[-3000:]}")

    def restart_hung_boot(self):
        hung = self.vmm_pid()
        os.kill(hung, signal.SIGKILL)
        wait_for(lambda: self.vmm_pid(missing=hung) != hung, 30,
                 what="mvirtd to restart the VMM")

    def ctl(self, *args):
        return [env_path("MVIRTCTL"), "--bus-address", self.daemon.bus_address,
                "--runtime-dir", self.daemon.runtime_dir, *args]

    def mvirtctl(self, *args):
        r = subprocess.run(self.ctl(*args), capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, f"mvirtctl {' '.join(args)}: {r.stderr}"
        return r.stdout

    def xml_file(self, name, text):
        path = os.path.join(self.workdir, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def guest_sees(self, line, after=0):
        """Waits for /init's report line (e.g. "blk vdb size=16384") to appear after the
        console's first `after` characters."""
        deadline = time.monotonic() + 60
        while line not in guest_lines(console(self.daemon, self.name)[after:]):
            if time.monotonic() > deadline:
                pytest.fail(f"The guest did not report '{line}' within 60s; it reported:\n" +
                            "\n".join(guest_lines(console(self.daemon, self.name)[after:])) +
                            f"\nmvirtd:\n{self.daemon.log()[-2000:]}")
            time.sleep(0.1)

    def vmm_pid(self, missing=None):
        """The running VMM's pid (missing: what to return while there is no pid file)."""
        try:
            with open(os.path.join(self.daemon.runtime_dir, self.name, "vmm.pid")) as f:
                return int(f.read())
        except (OSError, ValueError):
            if missing is None:
                raise
            return missing

    def close(self):
        if self.shell:
            self.shell.close()
        if self.daemon:
            stop_daemon(self.daemon, destroy=True)
        if self.bus:
            self.bus.stop()
        self.netns.delete()


@pytest.fixture(scope="module")
def linux(tmp_path_factory):
    require_root()
    require_kvm()
    lx = Linux(str(tmp_path_factory.mktemp("linux")))
    try:
        yield lx
    finally:
        lx.close()


def md5(path, offset=0, length=None):
    with open(path, "rb") as f:
        f.seek(offset)
        return hashlib.md5(f.read(length if length is not None else -1)).hexdigest()


def make_pattern_image(path):
    with open(path, "wb") as f:
        f.write(os.urandom(DISK_MIB << 20))
    return path


def disk_xml(image, target="vdb", readonly=False):
    ro = "<readonly/>" if readonly else ""
    return (f"<disk type='file' device='disk'><driver name='qemu' type='raw'/>"
            f"<source file='{image}'/><target dev='{target}' bus='virtio'/>{ro}</disk>\n")


def plug_disk(linux, name, target, readonly=False, scope="--live"):
    """A new image of random bytes attached as target through mvirtctl; waits for the guest
    to report its size. Returns (image, its md5, the XML file)."""
    image = make_pattern_image(os.path.join(linux.workdir, f"{name}.img"))
    xml = linux.xml_file(f"{name}.xml", disk_xml(image, target, readonly))
    mark = len(console(linux.daemon, NAME))
    linux.mvirtctl("attach-device", NAME, xml, scope)
    linux.guest_sees(f"blk {target} size={SECTORS}", mark)
    return image, md5(image), xml


def unplug_disk(linux, xml, target, scope="--live"):
    mark = len(console(linux.daemon, NAME))
    linux.mvirtctl("detach-device", NAME, xml, scope)
    linux.guest_sees(f"blk {target} size=0", mark)


NIC_XML = ("<interface type='bridge'><source bridge='mvbr0'/><model type='virtio'/>"
           "<alias name='ua-lxnic'/></interface>\n")


def test_console_is_a_shell_with_output(linux):
    """Userspace writes reach the console (the COM1 the DSDT describes, IRQ 4)."""
    assert linux.shell.check("uname -r")[0].endswith("-cloud-amd64")
    assert linux.shell.check("echo to-the-console > /dev/console; echo ok") == \
        ["to-the-console", "ok"]
    serial = linux.shell.check("cat /proc/tty/driver/serial")
    # Interrupt-driven (an IRQ Linux mapped from GSI 4), and it has sent.
    assert any(re.search(r"^0: uart:16550A port:000003F8 irq:[1-9]\d* tx:[1-9]", s)
               for s in serial), serial
    # What /init saw at boot: the root disk, five empty disk slots, two NICs without carrier.
    boot = guest_lines(console(linux.daemon, NAME))
    assert [s for s in boot if s.startswith("blk ")][:6] == \
        [f"blk vda size={ROOT_MIB << 11}"] + [f"blk vd{c} size=0" for c in "bcdef"]
    assert sum(1 for s in boot if re.match(r"net eth[01] carrier=0 mac=", s)) == 2


def test_disk_hotplug_read_write_detach(linux):
    image = make_pattern_image(os.path.join(linux.workdir, "data.img"))
    expected = md5(image)
    xml = linux.xml_file("disk.xml", disk_xml(image))
    mark = len(console(linux.daemon, NAME))
    t0 = time.monotonic()
    linux.mvirtctl("attach-device", NAME, xml, "--live")
    linux.guest_sees(f"blk vdb size={SECTORS}", mark)
    print(f"disk attach -> guest reports the size: {time.monotonic() - t0:.2f} s")
    assert linux.shell.check("md5sum /dev/vdb")[0].split()[0] == expected
    # The guest writes; the host reads it back after the unplug.
    linux.shell.check("echo written-by-linux | dd of=/dev/vdb bs=512 seek=100 conv=fsync "
                      "2>/dev/null")
    unplug_disk(linux, xml, "vdb")
    with open(image, "rb") as f:
        f.seek(100 * 512)
        assert f.read(17) == b"written-by-linux\n"
    # Once unplugged, the guest reads nothing: no old data.
    assert linux.shell.check("dd if=/dev/vdb bs=512 count=1 2>/dev/null | wc -c") == ["0"]


def test_readonly_disk_refuses_guest_writes(linux):
    image, expected, xml = plug_disk(linux, "ro", "vdc", readonly=True)
    assert linux.shell.check("md5sum /dev/vdc")[0].split()[0] == expected
    rc, _ = linux.shell.run("echo x | dd of=/dev/vdc bs=512 seek=1 conv=fsync 2>/dev/null")
    assert rc != 0
    assert md5(image) == expected
    unplug_disk(linux, xml, "vdc")


def ping_guest(linux):
    return linux.netns.run("ping", "-c", "1", "-W", "1", GUEST_IP, check=False).returncode == 0


def wait_carrier(linux, mark, carrier):
    wait_for(lambda: any(s.startswith(f"net eth0 carrier={carrier} ") for s in
                         guest_lines(console(linux.daemon, NAME)[mark:])),
             60, what=f"the guest to report eth0 carrier={carrier}")


def test_nic_hotplug_pings_both_ways(linux):
    xml = linux.xml_file("nic.xml", NIC_XML)
    mark = len(console(linux.daemon, NAME))
    linux.mvirtctl("attach-device", NAME, xml, "--live")
    wait_carrier(linux, mark, 1)
    linux.netns.run("ip", "addr", "add", f"{HOST_IP}/24", "dev", "mvbr0")
    wait_for(lambda: ping_guest(linux), 30, what="the guest to answer ping over the bridge")
    linux.shell.check(f"ping -c 2 -W 2 {HOST_IP} >/dev/null")
    mark = len(console(linux.daemon, NAME))
    linux.mvirtctl("detach-device-alias", NAME, "ua-lxnic", "--live")
    wait_carrier(linux, mark, 0)
    assert not ping_guest(linux)
    # Plugged again (mvirtd made the bridge and removed it with its last port).
    linux.mvirtctl("attach-device", NAME, xml, "--live")
    linux.netns.run("ip", "addr", "replace", f"{HOST_IP}/24", "dev", "mvbr0")
    wait_for(lambda: ping_guest(linux), 30, what="the guest to answer ping again")


def test_devices_survive_mvirtd_kill9_during_guest_io(linux):
    image, expected, xml = plug_disk(linux, "busy", "vdd")
    # The guest reads the disk in a loop while the daemon dies and comes back.
    linux.shell.check("(while md5sum /dev/vdd > /tmp/s && mv /tmp/s /tmp/sum; do :; done) "
                      ">/dev/null 2>&1 & true")
    vmm = linux.vmm_pid()
    linux.daemon.kill9()
    linux.daemon.start()
    assert linux.vmm_pid() == vmm and os.path.exists(f"/proc/{vmm}")
    dom, props = linux.daemon.domain(linux.path)
    wait_for(lambda: str(props.Get("org.mvirt.Domain1", "State")) == "running", 30,
             what="the restored domain to read running")
    assert f"file='{image}'" in str(dom.GetXML(1))
    assert linux.shell.check("kill %1; wait; cat /tmp/sum")[0].split()[0] == expected
    unplug_disk(linux, xml, "vdd")


def test_vmm_kill9_restarts_with_its_devices(linux):
    # --persistent: in the definition too, so the domain has it whenever it (re)starts.
    _, expected, xml = plug_disk(linux, "keep", "vde", scope="--persistent")
    readies = guest_lines(console(linux.daemon, NAME)).count("ready")
    os.kill(linux.vmm_pid(), signal.SIGKILL)
    # on_crash=restart: a new VMM boots Linux again and mvirtd plugs the disk back.
    mark = len(console(linux.daemon, NAME))
    linux.wait_ready(after=readies)
    linux.guest_sees(f"blk vde size={SECTORS}", mark)
    assert linux.shell.check("md5sum /dev/vde")[0].split()[0] == expected
    unplug_disk(linux, xml, "vde", scope="--persistent")


def test_guest_poweroff_shuts_the_domain_off(linux):
    """A power-off from inside is a clean exit, not a crash: on_crash=restart does not apply."""
    vmm = linux.vmm_pid()
    linux.shell.proc.stdin.write(b"poweroff -f\n")
    linux.shell.proc.stdin.flush()
    linux.signals.wait("StateChanged", "shutoff", timeout=60)
    wait_for(lambda: not os.path.exists(f"/proc/{vmm}"), 10, what="the VMM to exit")
    time.sleep(1)  # a restart, were one wrongly made, would show by now
    _, props = linux.daemon.domain(linux.path)  # mvirtd restarted earlier: a new bus name
    assert str(props.Get("org.mvirt.Domain1", "State")) == "shutoff"
