"""The guest probe against QEMU's microvm: QEMU's devices are the reference that shows the
probe is a correct ACPI reader and virtio driver, so that it can later judge mvirt-vmm.
QEMU runs with TCG here; test_probe_qemu_kvm.py repeats what differs under KVM, and checks
the 64-bit boot-protocol entry with probe_kvm64.py (a bare loader, with ACPI tables of its
own).

Needs qemu-system-x86_64 (skipped without it) and the built probe ($MVIRT_PROBE).
"""
import os
import zlib

import pytest

from qemu_probe import (SECTOR, QMP, blk_args, check_host_pings_probe, check_time_to_ready,
                        disks, probe_path, qemu_path, sector_crc, vms)  # noqa: F401 (fixtures)

pytestmark = [
    pytest.mark.skipif(qemu_path() is None, reason="qemu-system-x86_64 is not installed"),
    pytest.mark.skipif(probe_path() is None, reason="tests/guest/mvirt-probe is not built"),
]

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


def test_host_pings_probe(vms):  # noqa: F811
    check_host_pings_probe(vms, "tcg")


def test_time_to_ready(vms, disks):  # noqa: F811
    check_time_to_ready(vms, disks, "tcg")
