"""mvirt-vmm end to end with the guest probe on real KVM: boot through ACPI,
the 6+2 slots, disks read and written with matching checksums, power-off,
QMP hot-plug, signals and clean-up."""
import os
import signal
import socket
import time
import zlib

import pytest

from mvirt_test import require_kvm, workdir  # noqa: F401 (fixture)
from qmp_client import QmpClient
from vmm_helpers import Vmm, wait_gone

# Where it runs: on a KVM (tests/run-pytest; tools/with-kvm when this host has none).
KVM = "any"


@pytest.fixture
def vms(workdir):  # noqa: F811
    require_kvm()
    started = []

    def start(args=(), cmdline="", **kwargs):
        vm = Vmm(workdir, list(args), cmdline=cmdline, name=f"vm{len(started)}", **kwargs)
        started.append(vm)
        return vm

    yield start
    for vm in started:
        vm.stop()


def make_disk(path, sectors=2048):
    data = os.urandom(512 * sectors)
    with open(path, "wb") as f:
        f.write(data)
    return data


def test_probe_sees_all_slots_and_powers_off(vms):
    t0 = time.monotonic()
    vm = vms(cmdline="probe.poweroff=1")
    ready = vm.wait_event("ready")
    t_ready = time.monotonic() - t0
    assert ready == {"blk": "6", "net": "2"}
    assert vm.wait_exit(10) == 0
    devs = vm.events("dev")
    assert [d["type"] for d in devs] == ["blk"] * 6 + ["net"] * 2
    assert len({d["base"] for d in devs}) == 8 and len({d["gsi"] for d in devs}) == 8
    assert all(b["capacity"] == "0" for b in vm.events("blk"))
    assert all(n["link"] == "down" for n in vm.events("net"))
    assert vm.events("fadt")[0]["hw_reduced"] == "1"
    assert vm.events("poweroff")[0]["method"] == "acpi-sleep"
    print(f"# exec to PROBE ready under mvirt-vmm: {t_ready:.3f} s")


def test_disk_checksums_and_write(vms, workdir):  # noqa: F811
    disk = os.path.join(workdir, "disk.img")
    data = make_disk(disk)
    ro_disk = os.path.join(workdir, "ro.img")
    ro_data = make_disk(ro_disk, 64)
    vm = vms(["-drive", f"file={disk},id=d0", "-device", "virtio-blk-device,drive=d0,id=vda",
              "-drive", f"file={ro_disk},id=d1,readonly=on",
              "-device", "virtio-blk-device,drive=d1,id=vdb"],
             cmdline="probe.write=0:5:mvirt probe.read=1:0 probe.poweroff=1")
    vm.wait_event("ready")
    assert vm.wait_exit(10) == 0
    blks = {b["index"]: b for b in vm.events("blk")}
    assert blks["0"]["capacity"] == "2048"
    assert blks["0"]["sum0"] == f"{zlib.crc32(data[:512]):08x}"
    assert blks["1"]["capacity"] == "64" and blks["1"].get("ro") == "1"
    assert blks["1"]["sum0"] == f"{zlib.crc32(ro_data[:512]):08x}"
    written = vm.wait_event("write", index=0, sector=5)
    with open(disk, "rb") as f:
        f.seek(5 * 512)
        sector = f.read(512)
    assert sector == (b"mvirt" * 103)[:512]
    assert written["sum"] == f"{zlib.crc32(sector):08x}"
    with open(ro_disk, "rb") as f:
        assert f.read() == ro_data


def test_mac_fixed_from_command_line(vms):
    vm = vms(["-device", "virtio-net-device,mac=52:54:00:aa:bb:01",
              "-device", "virtio-net-device,mac=52:54:00:aa:bb:02"], cmdline="probe.poweroff=1")
    vm.wait_event("ready")
    macs = {n["index"]: n["mac"] for n in vm.events("net")}
    assert macs == {"0": "52:54:00:aa:bb:01", "1": "52:54:00:aa:bb:02"}


def test_generated_macs_differ_between_vms(vms):
    a, b = vms(cmdline="probe.poweroff=1"), vms(cmdline="probe.poweroff=1")
    a.wait_event("ready")
    b.wait_event("ready")
    macs = [n["mac"] for vm in (a, b) for n in vm.events("net")]
    assert len(set(macs)) == 4
    assert all(int(m.split(":")[0], 16) & 2 for m in macs)  # locally administered


def test_qmp_hotplug_disk(vms, workdir):  # noqa: F811
    disk = os.path.join(workdir, "hot.img")
    data = make_disk(disk, 100)
    qmp_path = os.path.join(workdir, "qmp.sock")
    vm = vms(["-qmp", f"unix:{qmp_path},server,nowait"])
    vm.wait_event("ready")
    qmp = QmpClient(qmp_path)
    try:
        assert qmp.execute("query-status")["return"]["status"] == "running"
        r = qmp.execute("blockdev-add", {"node-name": "drive-1", "file": {
            "driver": "file", "filename": disk}, "cache": {"direct": False}, "read-only": False})
        assert "return" in r, r
        r = qmp.execute("device_add", {"driver": "virtio-blk-mmio", "id": "disk1",
                                    "drive": "drive-1", "addr": "0x1"})
        assert "return" in r, r
        blk = vm.wait_event("blk", index=1, capacity=100)
        assert blk["sum0"] == f"{zlib.crc32(data[:512]):08x}"
        n_before = len(vm.events("blk"))
        r = qmp.execute("device_del", {"id": "disk1"})
        assert "return" in r, r
        assert qmp.event("DEVICE_DELETED")["data"]["device"] == "disk1"
        vm.wait_event("blk", after=n_before, index=1, capacity=0)
        assert qmp.execute("stop") == {"return": {}}
        assert qmp.execute("query-status")["return"]["status"] == "paused"
        assert qmp.execute("cont") == {"return": {}}
        qmp.execute("quit")
    finally:
        qmp.close()
    assert vm.wait_exit(10) == 0
    assert wait_gone(qmp_path)


def test_sigterm_cleans_up(vms, workdir):  # noqa: F811
    pidfile = os.path.join(workdir, "vmm.pid")
    console = os.path.join(workdir, "console.sock")
    log = os.path.join(workdir, "console.log")
    qmp_path = os.path.join(workdir, "q.sock")
    vm = vms(["-pidfile", pidfile, "-serial", f"unix:{console},logfile={log}",
              "-qmp", f"unix:{qmp_path},server,nowait"])
    deadline = time.monotonic() + 20
    while "PROBE ready" not in (open(log).read() if os.path.exists(log) else ""):
        assert time.monotonic() < deadline, "no PROBE ready in the console log"
        time.sleep(0.05)
    with open(pidfile) as f:
        assert int(f.read()) == vm.pid
    assert os.path.exists(console) and os.path.exists(qmp_path)
    vm.proc.proc.send_signal(signal.SIGTERM)
    assert vm.wait_exit(10) == 0
    for path in (pidfile, console, qmp_path):
        assert not os.path.exists(path), f"{path} left behind"


def test_system_powerdown_presses_the_button(vms, workdir):  # noqa: F811
    """system_powerdown raises the GED's GSI (the DSDT's _EVT notifies PNP0C0C, checked by
    test_vmm_errors' iasl test). The probe finds the GED (ACPI0013) in the DSDT, routes its
    GSI and, by default (probe.on-power-button=ignore), reports each press and keeps running."""
    qmp_path = os.path.join(workdir, "qmp.sock")
    vm = vms(["-qmp", f"unix:{qmp_path},server,nowait"])
    vm.wait_event("ready")
    qmp = QmpClient(qmp_path)
    try:
        for n in (1, 2):
            assert qmp.execute("system_powerdown") == {"return": {}}
            assert "timestamp" in qmp.event("POWERDOWN")
            press = vm.wait_event("power-button", count=n)
            assert press["gsi"] == "23"
            assert f"Power button pressed ({n} since boot; GSI 23)." in vm.stderr()
        assert qmp.execute("query-status")["return"]["status"] == "running"
        assert vm.events("poweroff") == []
        qmp.execute("quit")
    finally:
        qmp.close()
    assert vm.wait_exit(10) == 0


def test_system_powerdown_powers_the_probe_off(vms, workdir):  # noqa: F811
    """With probe.on-power-button=poweroff the probe does what systemd-logind does with the
    power button: power off. The VMM sees the ACPI sleep register written, says SHUTDOWN and
    exits 0."""
    qmp_path = os.path.join(workdir, "qmp.sock")
    vm = vms(["-qmp", f"unix:{qmp_path},server,nowait"],
             cmdline="probe.on-power-button=poweroff")
    vm.wait_event("ready")
    qmp = QmpClient(qmp_path)
    try:
        assert qmp.execute("system_powerdown") == {"return": {}}
        vm.wait_event("power-button", count=1, gsi=23)
        shutdown = qmp.event("SHUTDOWN")
        assert shutdown["data"]["guest"] is True, shutdown
        assert vm.wait_exit(10) == 0
    finally:
        qmp.close()
    assert vm.events("poweroff")[0]["method"] == "acpi-sleep"
    assert "The guest powered off." in vm.stderr()


def test_console_input_beyond_the_fifo_keeps_the_client(vms, workdir):  # noqa: F811
    """The probe never reads its UART: typed input fills the 64-byte receive FIFO and the rest
    must wait in the socket. The console client stays connected and still gets the guest's
    output (a full FIFO once made the VMM read 0 bytes, take that for EOF and drop it)."""
    console = os.path.join(workdir, "console.sock")
    log = os.path.join(workdir, "console.log")
    qmp_path = os.path.join(workdir, "qmp.sock")
    vms(["-serial", f"unix:{console},logfile={log}", "-qmp", f"unix:{qmp_path},server,nowait"])
    deadline = time.monotonic() + 30
    while "PROBE ready" not in (open(log).read() if os.path.exists(log) else ""):
        assert time.monotonic() < deadline, "no PROBE ready in the console log"
        time.sleep(0.05)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.connect(console)
        client.sendall(b"x" * 1000)
        time.sleep(0.5)
        qmp = QmpClient(qmp_path)
        try:
            assert qmp.execute("system_powerdown") == {"return": {}}
            client.settimeout(10)
            seen = b""
            while b"power-button" not in seen:
                data = client.recv(4096)
                assert data, "the VMM dropped the console client"
                seen += data
        finally:
            qmp.close()
