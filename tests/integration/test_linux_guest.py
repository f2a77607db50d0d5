"""tools/linux-guest, as the README runs it: the Debian kernel and the initramfs it
builds boot under QEMU's microvm with TCG (a reference beside test_linux_hotplug.py,
which runs them under mvirt-vmm), load the virtio modules, see a virtio-blk disk and a virtio-net NIC through ACPI,
answer ping on a TAP in a private namespace, and report a disk's new size and a
NIC's carrier changes: the lines a hot-plug under mvirt produces.
The packages come from tools/linux-guest's own cache, shared with the other Linux tests."""
import os
import re
import subprocess

from mvirt_test import Process, env_path, netns, require_root, wait_for, workdir  # noqa: F401
from qmp_client import QmpClient

BOOT_S = 240  # ~5 s alone under TCG; the machine is shared with other builds


def build_guest(out):
    """Runs tools/linux-guest as the README does (its cache holds the downloads)."""
    argv = [os.path.join(env_path("top_srcdir"), "tools", "linux-guest"), "--out", out]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr
    for name in ("vmlinuz", "initrd.img"):
        assert os.path.getsize(os.path.join(out, name)) > 0, name


def tsc_khz():
    with open("/proc/cpuinfo") as f:
        mhz = re.search(r"cpu MHz\s*:\s*([0-9.]+)", f.read())
    return int(float(mhz.group(1)) * 1000) if mhz else 1000000


def test_linux_guest_sees_disk_and_nic_and_their_changes(workdir, netns):  # noqa: F811
    require_root()
    qemu = os.environ.get("QEMU") or "qemu-system-x86_64"
    out = os.path.join(workdir, "guest")
    build_guest(out)
    disk = os.path.join(workdir, "disk.img")
    with open(disk, "wb") as f:
        f.truncate(4 << 20)
    netns.run("ip", "tuntap", "add", "dev", "tap0", "mode", "tap")
    netns.run("ip", "addr", "add", "10.0.0.1/24", "dev", "tap0")
    netns.run("ip", "link", "set", "tap0", "up")
    qmp_path = os.path.join(workdir, "qmp.sock")
    console = os.path.join(workdir, "console.log")
    vm = Process(netns.argv(
        qemu, "-M", "microvm,acpi=on", "-accel", "tcg", "-cpu", "max", "-m", "512M",
        "-nodefaults", "-no-user-config", "-display", "none", "-serial", "stdio",
        "-kernel", os.path.join(out, "vmlinuz"), "-initrd", os.path.join(out, "initrd.img"),
        "-append", f"console=ttyS0 tsc_early_khz={tsc_khz()} panic=-1 guest.ip=10.0.0.2/24",
        "-drive", f"file={disk},if=none,id=d0,format=raw", "-device",
        "virtio-blk-device,drive=d0", "-netdev", "tap,id=n0,ifname=tap0,script=no,downscript=no",
        "-device", "virtio-net-device,netdev=n0,id=nic0,mac=52:54:00:12:34:56",
        "-qmp", f"unix:{qmp_path},server=on,wait=off"), log_path=console)
    qmp = None
    try:
        wait_for(lambda: "GUEST ready" in vm.log() or not vm.alive(), BOOT_S,
                 interval=0.5, what="GUEST ready on the console")
        text = vm.log()
        assert vm.alive(), text[-4000:]
        for line in ["GUEST module virtio_mmio loaded", "GUEST module virtio_blk loaded",
                     "GUEST module virtio_net loaded", "GUEST ip eth0 10.0.0.2/24",
                     "GUEST blk vda size=8192", "GUEST net eth0 carrier=1 mac=52:54:00:12:34:56"]:
            assert line in text, f"{line!r} missing; console:\n{text[-4000:]}"
        assert not re.search(r"GUEST module \S+ failed", text), text[-4000:]
        ping = netns.run("ping", "-c", "3", "-W", "5", "10.0.0.2", check=False)
        assert ping.returncode == 0, ping.stdout + ping.stderr

        qmp = QmpClient(qmp_path, timeout=30)
        qmp.ok("qmp_capabilities")
        qmp.ok("block_resize", {"device": "d0", "size": 16 << 20})
        wait_for(lambda: "GUEST blk vda size=32768" in vm.log(), 60, interval=0.5,
                 what="the guest's line for the disk's new size")
        qmp.ok("set_link", {"name": "nic0", "up": False})
        wait_for(lambda: "GUEST net eth0 carrier=0" in vm.log(), 60, interval=0.5,
                 what="the guest's line for the NIC's carrier going down")
        mark = len(vm.log())
        qmp.ok("set_link", {"name": "nic0", "up": True})
        wait_for(lambda: "GUEST net eth0 carrier=1" in vm.log()[mark:], 60, interval=0.5,
                 what="the guest's line for the NIC's carrier coming back")
    finally:
        if qmp:
            qmp.close()
        vm.stop(timeout=10)


def test_linux_guest_names_a_missing_package(workdir):  # noqa: F811
    r = subprocess.run([os.path.join(env_path("top_srcdir"), "tools", "linux-guest"),
                        "--out", workdir, "--cache", workdir, "--package",
                        "linux-image-0.0-no-such-cloud-amd64"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 1
    assert "linux-image-0.0-no-such-cloud-amd64" in r.stderr
    assert not os.path.exists(os.path.join(workdir, "vmlinuz"))

