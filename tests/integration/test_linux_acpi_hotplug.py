"""The dynamic hot-plug model through mvirtd on a real Linux guest: a domain with
<features><hotplug model='acpi'/></features> gets more disks and NICs than StratoVirt's
slots allow, each NIC with the MAC its XML gives, through mvirtctl; a detach finishes only
when the guest has let the device go, and a disk the guest keeps mounted stays attached
(DeviceRemovalFailed) until it is unmounted; the devices come back after kill -9 of mvirtd
and of the VMM. One domain serves the file; the tests run in file order.
"""
import hashlib
import os
import signal
import subprocess
import time

import pytest

from linux_guest import guest_lines
from mvirt_test import require_kvm, require_root, wait_for
from mvirtd_helpers import console
from test_linux_hotplug import Linux, disk_xml, make_pattern_image, md5

# Where it runs: on a KVM (tests/run-pytest; tools/with-kvm when this host has none).
KVM = "linux"

NAME = "lxa"
MIB = 8
SECTORS = MIB << 11
TARGETS = ["vdb", "vdc", "vdd", "vde", "vdf", "vdg", "vdh"]  # seven: beyond vda..vdf
MACS = ["02:00:00:00:0b:01", "02:00:00:00:0b:02", "02:00:00:00:0b:03"]


@pytest.fixture(scope="module")
def linux(tmp_path_factory):
    require_root()
    require_kvm()
    lx = Linux(str(tmp_path_factory.mktemp("linux-acpi")), name=NAME,
               features="<features><hotplug model='acpi'/></features>")
    try:
        yield lx
    finally:
        lx.close()


def nic_xml(mac, n):
    return (f"<interface type='bridge'><source bridge='mvbr{n}'/><mac address='{mac}'/>"
            f"<model type='virtio'/><alias name='ua-nic{n}'/></interface>\n")


def wait_guest_line(linux, predicate, what, timeout=60):
    wait_for(lambda: any(predicate(s) for s in guest_lines(console(linux.daemon, NAME))),
             timeout, what=what)


def test_the_vmm_runs_the_dynamic_model_with_only_the_root_disk(linux):
    with open(f"/proc/{linux.vmm_pid()}/cmdline", "rb") as f:
        argv = f.read().split(b"\0")
    assert b"microvm,hotplug=acpi" in argv
    assert b"virtio-net-device" not in b" ".join(argv)  # no NIC slots fixed at boot
    boot = guest_lines(console(linux.daemon, NAME))
    assert [s for s in boot if s.startswith("blk ")] == ["blk vda size=8192"]
    assert not [s for s in boot if s.startswith("net eth")]
    assert "<hotplug model='acpi'/>" in linux.mvirtctl("dumpxml", NAME)


def test_seven_disks_and_three_nics_with_their_macs(linux):
    sums = {}
    for target in TARGETS:
        image = make_pattern_image(os.path.join(linux.workdir, f"{target}.img"))
        sums[target] = md5(image)
        xml = linux.xml_file(f"{target}.xml", disk_xml(image, target))
        start = time.monotonic()
        linux.mvirtctl("attach-device", NAME, xml, "--live")
        linux.guest_sees(f"blk {target} size={SECTORS}")
        print(f"{target}: attach -> guest reports it in {time.monotonic() - start:.2f} s")
    for target in TARGETS:
        assert linux.shell.check(f"md5sum /dev/{target}")[0].split()[0] == sums[target]
    for n, mac in enumerate(MACS):
        linux.mvirtctl("attach-device", NAME, linux.xml_file(f"nic{n}.xml", nic_xml(mac, n)),
                       "--live")
        wait_guest_line(linux, lambda s, mac=mac: s.startswith("net eth") and f"mac={mac}" in s,
                        f"the guest to report a NIC with MAC {mac}")
    # Each NIC works: the guest pings the host over the NIC's own bridge.
    for n, mac in enumerate(MACS):
        dev = [s.split()[1] for s in guest_lines(console(linux.daemon, NAME))
               if f"mac={mac}" in s][0]
        linux.netns.run("ip", "addr", "add", f"10.1.{n}.1/24", "dev", f"mvbr{n}")
        linux.shell.check(f"ip addr add 10.1.{n}.2/24 dev {dev} && ip link set {dev} up")
        linux.shell.check(f"ping -c 2 -W 5 10.1.{n}.1 >/dev/null", 60)
    live = linux.mvirtctl("dumpxml", NAME)
    assert all(f"<mac address='{mac}'/>" in live for mac in MACS)


def test_a_nic_detached_and_another_attached(linux):
    """The NIC slots are the VMM's to pick: detaching the first of three and attaching a
    fourth neither reuses the given-back slot nor clashes with the NICs still there."""
    linux.mvirtctl("detach-device-alias", NAME, "ua-nic0", "--live")
    linux.signals.wait("DeviceRemoved", "ua-nic0", timeout=10)
    mac = "02:00:00:00:0b:04"
    linux.mvirtctl("attach-device", NAME, linux.xml_file("nic3.xml", nic_xml(mac, 3)), "--live")
    wait_guest_line(linux, lambda s: s.startswith("net eth") and f"mac={mac}" in s,
                    f"the guest to report a NIC with MAC {mac}")
    live = linux.mvirtctl("dumpxml", NAME)
    assert MACS[0] not in live and mac in live and MACS[1] in live and MACS[2] in live


def test_detach_of_an_unmounted_disk_waits_for_the_guest(linux):
    start = time.monotonic()
    linux.mvirtctl("detach-device", NAME, os.path.join(linux.workdir, "vdb.xml"), "--live")
    print(f"detach of an unmounted disk: {time.monotonic() - start:.2f} s")
    linux.signals.wait("DeviceRemoved", timeout=10)
    assert "vdb" not in linux.shell.check("ls /sys/block")
    assert "vdb.img" not in linux.mvirtctl("dumpxml", NAME)


def test_a_mounted_disk_stays_until_the_guest_unmounts_it(linux):
    linux.shell.check("mke2fs -q /dev/vdc && mkdir -p /mnt && mount /dev/vdc /mnt", 120)
    linux.shell.check("echo kept-by-the-guest > /mnt/note")
    r = subprocess.run(linux.ctl("detach-device", NAME, os.path.join(linux.workdir, "vdc.xml"),
                                 "--live"), capture_output=True, text=True, timeout=60)
    assert r.returncode != 0
    assert "did not release" in r.stderr and "unmount" in r.stderr, r.stderr
    linux.signals.wait("DeviceRemovalFailed", timeout=10)
    assert "vdc.img" in linux.mvirtctl("dumpxml", NAME)  # still attached
    assert linux.shell.check("cat /mnt/note") == ["kept-by-the-guest"]
    # Unmounted, the guest lets go of the pending request; mvirtd finishes the detach.
    linux.shell.check("umount /mnt")
    linux.signals.wait("DeviceRemoved", timeout=30)
    wait_for(lambda: "vdc.img" not in linux.mvirtctl("dumpxml", NAME), 10,
             what="the disk to leave the live XML")
    out = subprocess.run(["debugfs", "-R", "cat /note", os.path.join(linux.workdir, "vdc.img")],
                         capture_output=True, text=True, check=True).stdout
    assert out.strip() == "kept-by-the-guest"


def test_devices_survive_mvirtd_kill9(linux):
    vmm = linux.vmm_pid()
    linux.daemon.kill9()
    linux.daemon.start()
    assert linux.vmm_pid() == vmm
    dom, props = linux.daemon.domain(linux.path)
    wait_for(lambda: str(props.Get("org.mvirt.Domain1", "State")) == "running", 30,
             what="the restored domain to read running")
    live = str(dom.GetXML(1))
    assert "vdh.img" in live and MACS[2] in live
    assert linux.shell.check("md5sum /dev/vdh")[0].split()[0] == \
        md5(os.path.join(linux.workdir, "vdh.img"))


def test_vmm_kill9_restarts_with_persistent_dynamic_devices(linux):
    image = make_pattern_image(os.path.join(linux.workdir, "keep.img"))
    xml = linux.xml_file("keep.xml", disk_xml(image, "vdk"))
    linux.mvirtctl("attach-device", NAME, xml, "--persistent")
    nic = linux.xml_file("keepnic.xml", nic_xml("02:00:00:00:0b:77", 7))
    linux.mvirtctl("attach-device", NAME, nic, "--persistent")
    readies = guest_lines(console(linux.daemon, NAME)).count("ready")
    mark = len(console(linux.daemon, NAME))
    os.kill(linux.vmm_pid(), signal.SIGKILL)
    linux.wait_ready(after=readies)
    # A fresh boot: the root disk, then the persistent disk and NIC, plugged again by mvirtd.
    wait_for(lambda: any(s.startswith("blk ") and s.endswith(f"size={SECTORS}")
                         for s in guest_lines(console(linux.daemon, NAME)[mark:])),
             60, what="the persistent disk back in the guest")
    wait_for(lambda: any("mac=02:00:00:00:0b:77" in s
                         for s in guest_lines(console(linux.daemon, NAME)[mark:])),
             60, what="the persistent NIC back with its MAC")
    name = [s.split()[1] for s in guest_lines(console(linux.daemon, NAME)[mark:])
            if s.startswith("blk ") and s.endswith(f"size={SECTORS}")][0]
    assert linux.shell.check(f"md5sum /dev/{name}")[0].split()[0] == \
        hashlib.md5(open(image, "rb").read()).hexdigest()
