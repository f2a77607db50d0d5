"""The guest probe against QEMU's microvm: QEMU's devices are the reference that shows the
probe is a correct ACPI reader and virtio driver, so that it can later judge mvirt-vmm.
QEMU only uses the PVH entry; the 64-bit boot-protocol entry is checked on /dev/kvm by
probe_kvm64.py (a bare loader, with ACPI tables of its own).

Needs qemu-system-x86_64 (skipped without it) and the built probe ($MVIRT_PROBE).
"""
import os
import subprocess
import sys
import zlib

import pytest

from qemu_probe import QMP, ProbeVM, blk_args, kvm_usable, parse_line, probe_path, qemu_path

pytestmark = [
    pytest.mark.skipif(qemu_path() is None, reason="qemu-system-x86_64 is not installed"),
    pytest.mark.skipif(probe_path() is None, reason="tests/guest/mvirt-probe is not built"),
]

SECTOR = 512


@pytest.fixture
def disks(tmp_path):
    """Two raw images of different sizes (the size tells which is which in the probe's
    order) with recognisable, different sectors."""
    images = []
    for n, sectors in ((1, 2048), (2, 4096)):
        path = tmp_path / f"disk{n}.img"
        with open(path, "wb") as f:
            for s in range(sectors):
                f.write((f"disk{n}-sector{s}-".encode() * 40)[:SECTOR])
        images.append(str(path))
    return images


@pytest.fixture
def vms():
    started = []

    def start(*args, **kwargs):
        vm = ProbeVM(probe_path(), *args, **kwargs)
        started.append(vm)
        return vm

    start.started = started
    yield start
    for vm in started:
        vm.stop()


def sector_crc(path, sector):
    with open(path, "rb") as f:
        f.seek(sector * SECTOR)
        return f"{zlib.crc32(f.read(SECTOR)):08x}"


def disk_by_capacity(images):
    return {os.path.getsize(p) // SECTOR: p for p in images}


def test_acpi_tables_and_devices(vms, disks):
    vm = vms(blk_args(disks) + ["-netdev", "user,id=n0",
                                "-device", "virtio-net-device,netdev=n0"])
    vm.wait_for("ready", blk=2, net=1)
    tables = {f["table"]: f for f in vm.all("acpi")}
    for name in ("RSDP", "XSDT", "FACP", "DSDT", "APIC"):
        assert tables[name]["ok"] == "1", tables
    assert vm.all("boot")[0]["entry"] == "pvh"
    devs = vm.all("dev")
    assert sorted(d["type"] for d in devs) == ["blk", "blk", "net"]
    for d in devs:
        base = int(d["base"], 16)
        # QEMU microvm: transports from 0xfeb00000, 512 bytes each, GSI = 24 + slot.
        assert 0xfeb00000 <= base < 0xfeb00000 + 24 * 512
        assert int(d["gsi"]) == 24 + (base - 0xfeb00000) // 512
        assert d["trigger"] == "level"
    assert not vm.all("error"), vm.console()


@pytest.mark.parametrize("legacy", [False, True], ids=["modern", "legacy"])
def test_disk_sums_match_host(vms, disks, legacy):
    vm = vms(blk_args(disks, legacy=legacy), cmdline="probe.read=1:7")
    vm.wait_for("ready", blk=2, net=0)
    by_cap = disk_by_capacity(disks)
    blks = vm.all("blk")
    assert len(blks) == 2
    for b in blks:
        assert b["sum0"] == sector_crc(by_cap[int(b["capacity"])], 0), b
    assert {d["version"] for d in vm.all("dev")} == {"1" if legacy else "2"}
    disk1 = by_cap[int(blks[1]["capacity"])]
    assert vm.all("read") == [{"index": "1", "sector": "7", "sum": sector_crc(disk1, 7)}]


def test_disk_write_reaches_host_file(vms, disks):
    vm = vms(blk_args(disks), cmdline="probe.write=0:5:mvirt-probe! probe.poweroff=1")
    vm.wait_for("ready")
    assert vm.wait_exit(timeout=30) is not None
    disk0 = disk_by_capacity(disks)[int(vm.all("blk")[0]["capacity"])]
    expected = (b"mvirt-probe!" * 43)[:SECTOR]
    with open(disk0, "rb") as f:
        f.seek(5 * SECTOR)
        assert f.read(SECTOR) == expected
    crc = f"{zlib.crc32(expected):08x}"
    assert vm.all("write") == [{"index": "0", "sector": "5", "sum": crc}]
    assert vm.all("read") == [{"index": "0", "sector": "5", "sum": crc}]
    assert vm.all("poweroff")[0]["method"] == "acpi-sleep"


def test_config_change_interrupts(vms, disks, tmp_path):
    """What hot-plug looks like to the guest, made with QEMU's block_resize and set_link:
    capacity N -> 0 -> M and link down -> up, each a config-change interrupt. A write asked
    for a sector the disk does not have yet is done once the disk grows."""
    sock = str(tmp_path / "qmp.sock")
    vm = vms(blk_args(disks[:1]) + ["-netdev", "user,id=n0",
                                    "-device", "virtio-net-device,netdev=n0",
                                    "-qmp", f"unix:{sock},server=on,wait=off"],
             cmdline="probe.write=0:4000:grown")
    vm.wait_for("ready", blk=1, net=1)
    assert vm.all("write") == []
    qmp = QMP(sock)
    try:
        qmp.execute("block_resize", device="d0", size=0)
        vm.wait_for("blk", index=0, capacity=0)
        qmp.execute("block_resize", device="d0", size=4096 * SECTOR)
        _, grown = vm.wait_for("blk", index=0, capacity=4096)
        assert grown["sum0"] == sector_crc(disks[0], 0)
        _, wrote = vm.wait_for("write", index=0, sector=4000)
        qmp.execute("set_link", name="n0", up=False)
        vm.wait_for("net", index=0, link="down")
        qmp.execute("set_link", name="n0", up=True)
        vm.wait_for("net", index=0, link="up")
    finally:
        qmp.close()
    assert wrote["sum"] == sector_crc(disks[0], 4000)


@pytest.mark.parametrize("accel", ["tcg", "kvm"])
def test_host_pings_probe(vms, accel):
    """Two NICs on one bridge, each answering ARP and ping for its own address."""
    from probe_netns import HOST_IP, TAP, NetNS

    if accel == "kvm" and not kvm_usable():
        pytest.skip("/dev/kvm is not usable here")
    try:
        ns = NetNS(taps=2)
    except Exception as e:  # no netns support in this sandbox: say so, do not fail
        pytest.skip(f"cannot create a network namespace: {e}")
    try:
        args = []
        for n in range(2):
            args += ["-netdev", f"tap,id=n{n},ifname={TAP.format(n)},script=no,downscript=no",
                     "-device", f"virtio-net-device,netdev=n{n},mac=52:54:00:12:34:5{6 + n}"]
        vm = vms(args, cmdline="probe.ip=10.0.0.2 probe.ip1=10.0.0.9", netns=ns.name,
                 accel=accel)
        vm.wait_for("ready", net=2)
        nics = {n["ip"]: n for n in vm.all("net")}
        assert set(nics) == {"10.0.0.2", "10.0.0.9"} and all(
            n["link"] == "up" for n in nics.values())
        for ip in nics:
            replies = ns.ping(ip, count=3)
            assert len(replies) == 3 and all("intact=1" in r for r in replies), vm.console()
            index = nics[ip]["index"]
            vm.wait_for("ping", **{"from": HOST_IP}, index=index)
        assert len(vm.all("ping")) >= 6
        assert {a["from"] for a in vm.all("arp")} == {HOST_IP}
    finally:
        for vm in vms.started:
            vm.stop()  # QEMU holds the TAPs: end it before the namespace goes
        ns.close()


def test_misreporting_transports_give_errors(vms, disks):
    """Transports named on the command line (as Linux's virtio_mmio.device= does) that hold
    nothing, something that is not virtio, or a virtio transport without a device: each is
    reported and the probe still gets to ready."""
    empty = 0xfeb00000  # QEMU's transport 0: present, device ID 0 (no backend)
    hole = 0xfeb04000   # past QEMU's 24 transports: nothing answers
    not_virtio = 0x100000  # the probe's own code in RAM
    cmdline = " ".join(f"virtio_mmio.device=512@{hex(a)}:5" for a in (hole, not_virtio, empty))
    vm = vms(blk_args(disks[:1]), cmdline=cmdline)
    vm.wait_for("ready", blk=1, net=0, timeout=30)
    errors = vm.all("error")
    assert {"what": "no-device", "base": hex(hole), "value": "0x0"} in errors, errors
    assert any(e["what"] == "bad-magic" and e["base"] == hex(not_virtio) for e in errors)
    none = [d for d in vm.all("dev") if d["type"] == "none"]
    assert none and none[0]["base"] == hex(empty), vm.all("dev")


def test_no_devices_at_all(vms):
    vm = vms([])
    vm.wait_for("ready", blk=0, net=0)
    assert {"what": "no-devices"} in vm.all("error")


@pytest.mark.parametrize("accel", ["tcg", "kvm"])
def test_time_to_ready(vms, disks, accel):
    """Start of QEMU to 'PROBE ready' (reported; bounded so that a regression shows)."""
    if accel == "kvm" and not kvm_usable():
        pytest.skip("/dev/kvm is not usable here")
    vm = vms(blk_args(disks) + ["-netdev", "user,id=n0",
                                "-device", "virtio-net-device,netdev=n0"], accel=accel)
    stamp, _ = vm.wait_for("ready", blk=2, net=1, timeout=60)
    first = vm.lines[0][0]
    print(f"{accel}: first line {first:.3f} s, ready {stamp:.3f} s after QEMU started")
    assert stamp < 30


@pytest.mark.parametrize("scan", [False, True], ids=["rsdp-pointer", "rsdp-scan"])
def test_linux64_entry_on_kvm(scan):
    """The 64-bit boot protocol entry under this machine's KVM, with no QEMU: boot_params
    gives the command line, the e820 map and (unless scanning) the RSDP; the loader's DSDT
    names one LNRO0005 device where nothing answers."""
    if not kvm_usable():
        pytest.skip("/dev/kvm is not usable here")
    loader = os.path.join(os.path.dirname(os.path.abspath(__file__)), "probe_kvm64.py")
    args = [sys.executable, loader, "--seconds", "60", probe_path(), "probe.poweroff=1"]
    out = subprocess.run(args + (["--scan"] if scan else []), capture_output=True, text=True,
                         timeout=90)
    lines = [parse_line(t) for t in out.stdout.splitlines() if parse_line(t)]
    assert out.returncode == 0, out.stdout + out.stderr
    events = [(e, f) for e, f in lines]
    assert events[0] == ("boot", {"entry": "linux64"})
    assert ("e820", {"addr": "0x100000", "size": "0x3f00000", "type": "1"}) in events
    assert ("cmdline", {"len": "16", "text": "probe.poweroff=1"}) in events
    tables = {f["table"]: f["ok"] for e, f in events if e == "acpi"}
    assert tables == {"RSDP": "1", "XSDT": "1", "FACP": "1", "DSDT": "1", "APIC": "1"}
    assert ("error", {"what": "no-device", "base": "0xd0000000", "value": "0x0"}) in events
    assert ("ready", {"blk": "0", "net": "0"}) in events
    assert events[-1] == ("poweroff", {"method": "debug-exit"})


def test_stuck_disk_times_out_on_kvm():
    """A disk that negotiates and then never completes a request: the probe must give a
    timeout error after about 5 s (its LAPIC timer is the clock) and still reach ready."""
    if not kvm_usable():
        pytest.skip("/dev/kvm is not usable here")
    loader = os.path.join(os.path.dirname(os.path.abspath(__file__)), "probe_kvm64.py")
    out = subprocess.run([sys.executable, loader, "--stuck-disk", "--seconds", "60",
                          probe_path(), "probe.poweroff=1"],
                         capture_output=True, text=True, timeout=90)
    assert out.returncode == 0, out.stdout + out.stderr
    events = [parse_line(t) for t in out.stdout.splitlines() if parse_line(t)]
    assert ("error", {"what": "timeout", "dev": "blk", "index": "0", "sector": "0"}) in events
    assert ("blk", {"index": "0", "capacity": "8"}) in events
    assert ("ready", {"blk": "1", "net": "0"}) in events
