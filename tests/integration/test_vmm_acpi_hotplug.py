"""Hot-plug beyond the slots on a real Linux guest: mvirt-vmm's dynamic model
(-machine microvm,hotplug=acpi) driven over QMP. Debian's kernel boots with no virtio device
at all; 8 disks and 3 NICs with the MACs asked for are added while it runs, each seen with its
size or MAC and used (a pattern read back, a ping); an unplug completes (DEVICE_DELETED) only
once the guest has let the device go, a mounted file system is synced first, and a guest
that does not answer keeps the device. One VMM serves the file; the tests run in order.
"""
import hashlib
import os
import subprocess
import time

import pytest

from linux_guest import GuestShell, guest_images, guest_lines
from mvirt_test import Netns, Process, env_path, require_kvm, require_root
from qmp_client import QmpClient

# Where it runs: on a KVM (tests/run-pytest; tools/with-kvm when this host has none).
KVM = "linux"

ATTEMPT_S, ATTEMPTS = 75, 5  # see test_linux_hotplug.py: nested Linux sometimes hangs early
DISKS = 8
NICS = [("02:00:00:00:0a:01", 1), ("02:00:00:00:0a:02", 2), ("02:00:00:00:0a:03", 3)]


class AcpiGuest:
    """One VMM in the dynamic model, in a private network namespace, with Linux at its shell."""

    def __init__(self, workdir):
        self.workdir = workdir
        self.netns = Netns()
        self.images = guest_images(workdir)
        self.qmp_path = os.path.join(workdir, "qmp.sock")
        self.console_path = os.path.join(workdir, "console.sock")
        self.log_path = os.path.join(workdir, "console.log")
        self.vm = self.qmp = self.shell = None
        try:
            self.boot_until_ready()
        except BaseException:
            self.close()  # the fixture never gets this object to close
            raise

    def boot_until_ready(self):
        for attempt in range(1, ATTEMPTS + 1):
            if self.boot():
                print(f"Linux guest ready after {attempt} boot(s)")
                return
            self.stop()
        pytest.fail(f"Linux did not reach its shell in {ATTEMPTS} boots of {ATTEMPT_S}s; "
                    f"console:\n{self.console()[-4000:]}")

    def boot(self):
        for path in (self.qmp_path, self.console_path, self.log_path):
            if os.path.exists(path):
                os.unlink(path)
        argv = self.netns.argv(
            env_path("MVIRT_VMM"), "-machine", "microvm,hotplug=acpi",
            "-kernel", self.images["vmlinuz"], "-initrd", self.images["initrd.img"],
            "-m", "256M", "-append", "console=ttyS0 quiet panic=-1",
            "-qmp", f"unix:{self.qmp_path},server,nowait",
            "-serial", f"unix:{self.console_path},logfile={self.log_path}")
        self.vm = Process(argv, log_path=os.path.join(self.workdir, "vmm.log"))
        deadline = time.monotonic() + ATTEMPT_S
        while "ready" not in guest_lines(self.console()):
            if time.monotonic() > deadline or not self.vm.alive():
                return False
            time.sleep(0.2)
        self.qmp = QmpClient(self.qmp_path)
        self.qmp.ok("qmp_capabilities")
        self.shell = GuestShell(sock_path=self.console_path)
        return True

    def console(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def sees(self, line, timeout=60):
        """Waits for /init's report line (e.g. "blk vdb size=16384")."""
        deadline = time.monotonic() + timeout
        while line not in guest_lines(self.console()):
            if time.monotonic() > deadline:
                pytest.fail(f"The guest did not report '{line}' within {timeout}s; console:\n"
                            f"{self.console()[-3000:]}\nVMM:\n{self.vm.log()[-2000:]}")
            time.sleep(0.1)

    def image(self, name, mib, pattern):
        path = os.path.join(self.workdir, name)
        with open(path, "wb") as f:
            f.write(pattern * (512 // len(pattern)))
            f.truncate(mib << 20)
        return path

    def add_disk(self, name, path):
        self.qmp.ok("blockdev-add", {"node-name": name, "file": {"driver": "file",
                                                                  "filename": path}})
        self.qmp.ok("device_add", {"driver": "virtio-blk-mmio", "id": name, "drive": name})

    def disk_named(self, sectors):
        """The guest's name of the disk of that size (the guest names disks in the order it
        finds them)."""
        for line in guest_lines(self.console()):
            words = line.split()
            if len(words) == 3 and words[0] == "blk" and words[2] == f"size={sectors}":
                return words[1]
        pytest.fail(f"no disk of {sectors} sectors in the guest")

    def del_and_wait(self, dev, timeout=60):
        """device_del, then the DEVICE_DELETED that follows once the guest let go; seconds."""
        start = time.monotonic()
        self.qmp.ok("device_del", {"id": dev})
        self.qmp.sock.settimeout(timeout)
        event = self.qmp.event("DEVICE_DELETED")
        self.qmp.sock.settimeout(10)
        assert event["data"]["device"] == dev
        return time.monotonic() - start

    def stop(self):
        if self.shell:
            self.shell.close()
        if self.qmp:
            self.qmp.close()
        if self.vm:
            self.vm.stop(timeout=10)
        self.vm = self.qmp = self.shell = None

    def close(self):
        self.stop()
        self.netns.delete()


@pytest.fixture(scope="module")
def guest(tmp_path_factory):
    require_root()
    require_kvm()
    g = AcpiGuest(str(tmp_path_factory.mktemp("acpi-hotplug")))
    try:
        yield g
    finally:
        g.close()


def test_guest_boots_without_devices(guest):
    lines = guest_lines(guest.console())
    assert "blocks" in lines, lines  # no vdX: the DSDT names no virtio device
    slots = guest.qmp.ok("query-slots")
    assert len([s for s in slots if s["kind"] == "blk"]) == 32
    assert len([s for s in slots if s["kind"] == "net"]) == 8


def wait_disk_count(guest, n, timeout=120):
    deadline = time.monotonic() + timeout
    while guest.shell.check("ls /sys/block | grep -c vd || true") != [str(n)]:
        assert time.monotonic() < deadline, guest.shell.check("ls /sys/block")
        time.sleep(0.5)


def test_eight_disks_hot_added_and_read(guest):
    sums = {}
    for i in range(DISKS):
        path = guest.image(f"d{i}.img", i + 1, f"disk-{i}-".encode())
        with open(path, "rb") as f:
            sums[i] = hashlib.md5(f.read(512)).hexdigest()
        start = time.monotonic()
        guest.add_disk(f"disk{i}", path)
        sectors = (i + 1) << 11
        deadline = time.monotonic() + 60
        while not any(line.startswith("blk ") and line.endswith(f"size={sectors}")
                      for line in guest_lines(guest.console())):
            assert time.monotonic() < deadline, guest.console()[-3000:]
            time.sleep(0.1)
        print(f"disk{i}: seen by the guest {time.monotonic() - start:.1f}s after device_add")
    for i in range(DISKS):
        name = guest.disk_named((i + 1) << 11)
        out = guest.shell.check(f"dd if=/dev/{name} bs=512 count=1 2>/dev/null | md5sum")
        assert out[0].split()[0] == sums[i], (name, out)


def test_thirty_two_disks_and_not_one_more(guest):
    for i in range(DISKS, 32):
        guest.add_disk(f"x{i}", guest.image(f"x{i}.img", 1, b"x"))
    guest.qmp.ok("blockdev-add", {"node-name": "x32", "file": {
        "driver": "file", "filename": guest.image("x32.img", 1, b"x")}})
    guest.qmp.error("device_add", {"driver": "virtio-blk-mmio", "id": "x32", "drive": "x32"},
                    names=["32", "x32"])
    guest.qmp.ok("blockdev-del", {"node-name": "x32"})
    wait_disk_count(guest, 32)
    for i in range(DISKS, 32):
        guest.del_and_wait(f"x{i}")
    wait_disk_count(guest, DISKS)


def test_unplug_of_an_unmounted_disk_waits_for_the_guest(guest):
    name = guest.disk_named(1 << 11)
    seconds = guest.del_and_wait("disk0")
    print(f"unplug of an unmounted disk: DEVICE_DELETED {seconds:.2f}s after device_del")
    guest.sees(f"released {name}", timeout=10)  # the agent reports after its unbind returns
    assert name not in guest.shell.check("ls /sys/block")
    slot = [s for s in guest.qmp.ok("query-slots") if s["kind"] == "blk" and s["slot"] == 0][0]
    assert "id" not in slot and slot.get("retired") is True
    # The guest keeps the slot's description until it reboots: the slot takes no new disk.
    guest.qmp.ok("blockdev-add", {"node-name": "again", "file": {
        "driver": "file", "filename": os.path.join(guest.workdir, "d0.img")}})
    guest.qmp.error("device_add", {"driver": "virtio-blk-mmio", "id": "again",
                                   "drive": "again", "addr": "0x0"}, names=["0x0", "retired"])
    guest.qmp.ok("blockdev-del", {"node-name": "again"})


def test_unplug_of_a_mounted_disk_waits_until_it_is_unmounted(guest):
    name = guest.disk_named(8 << 11)
    guest.shell.check(f"mke2fs -q /dev/{name} && mkdir -p /mnt && mount /dev/{name} /mnt", 120)
    guest.shell.check("echo written-before-unplug > /mnt/note")  # no sync: in the page cache
    guest.qmp.ok("device_del", {"id": "disk7"})
    deadline = time.monotonic() + 30
    while f"busy {name} is mounted" not in guest_lines(guest.console()):
        assert time.monotonic() < deadline, guest.console()[-2000:]
        time.sleep(0.2)
    time.sleep(3)
    assert not [e for e in guest.qmp.pending if e["event"] == "DEVICE_DELETED"]
    assert [s for s in guest.qmp.ok("query-slots") if s.get("id") == "disk7"][0]["leaving"]
    assert guest.shell.check("cat /mnt/note") == ["written-before-unplug"]
    start = time.monotonic()
    guest.shell.check("umount /mnt")
    guest.qmp.sock.settimeout(60)
    assert guest.qmp.event("DEVICE_DELETED")["data"]["device"] == "disk7"
    guest.qmp.sock.settimeout(10)
    print(f"mounted disk: DEVICE_DELETED {time.monotonic() - start:.2f}s after umount")
    out = subprocess.run(["debugfs", "-R", "cat /note", os.path.join(guest.workdir, "d7.img")],
                         capture_output=True, text=True, check=True).stdout
    assert out.strip() == "written-before-unplug"


def test_nics_with_the_macs_asked_for(guest):
    for mac, n in NICS:
        tap = f"tap{n}"
        guest.netns.run("ip", "tuntap", "add", tap, "mode", "tap")
        guest.netns.run("ip", "addr", "add", f"10.0.{n}.1/24", "dev", tap)
        guest.netns.run("ip", "link", "set", tap, "up")
        guest.qmp.ok("netdev_add", {"type": "tap", "id": f"nic{n}", "ifname": tap})
        guest.qmp.ok("device_add", {"driver": "virtio-net-mmio", "id": f"nic{n}",
                                    "netdev": f"nic{n}", "mac": mac})
    for mac, n in NICS:
        deadline = time.monotonic() + 60
        while not [line for line in guest_lines(guest.console()) if f"mac={mac}" in line]:
            assert time.monotonic() < deadline, guest.console()[-3000:]
            time.sleep(0.2)
    for mac, n in NICS:
        dev = [line.split()[1] for line in guest_lines(guest.console())
               if f"mac={mac}" in line][0]
        guest.shell.check(f"ip addr add 10.0.{n}.2/24 dev {dev} && ip link set {dev} up")
        guest.shell.check(f"ping -c 2 -W 5 10.0.{n}.1", 60)
    seconds = guest.del_and_wait("nic2")
    print(f"unplug of a NIC: DEVICE_DELETED {seconds:.2f}s after device_del")
    guest.qmp.ok("netdev_del", {"id": "nic2"})
    guest.shell.check("ping -c 1 -W 5 10.0.3.1", 60)  # the others still work


def test_a_guest_that_does_not_answer_keeps_the_device(guest):
    name = guest.disk_named(2 << 11)
    guest.shell.check("touch /tmp/no-release")
    guest.qmp.ok("device_del", {"id": "disk1"})
    time.sleep(5)
    assert not [e for e in guest.qmp.pending if e["event"] == "DEVICE_DELETED"]
    guest.qmp.error("device_del", {"id": "disk1"}, names=["disk1", "DEVICE_DELETED"])
    slot = [s for s in guest.qmp.ok("query-slots") if s.get("id") == "disk1"][0]
    assert slot.get("leaving") is True
    out = guest.shell.check(f"dd if=/dev/{name} bs=512 count=1 2>/dev/null | md5sum")
    assert out  # still there and readable
    # Answering again, the guest finds the request still pending and lets go.
    guest.shell.check("rm /tmp/no-release")
    guest.qmp.sock.settimeout(60)
    assert guest.qmp.event("DEVICE_DELETED")["data"]["device"] == "disk1"
    guest.qmp.sock.settimeout(10)
    assert name not in guest.shell.check("ls /sys/block")
