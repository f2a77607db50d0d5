"""A misbehaving guest against mvirt-vmm's virtio-blk: the probe breaks one virtio rule
(probe.hostile=MODE, tests/guest/PROTOCOL.md) on disk 0 and the test checks that the VMM
survives, marks the device broken (DEVICE_NEEDS_RESET) or fails the request, logs one line
per cause however often the guest repeats it, serves the device again after a reset and
keeps serving the other disk."""
import os
import zlib

import pytest

from mvirt_test import require_kvm, workdir  # noqa: F401 (fixture)
from vmm_helpers import Vmm

# Where it runs: on a KVM (tests/run-pytest; tools/with-kvm when this host has none).
KVM = "any"

NEEDS_RESET = 0x40
BASE = ["0xd0000000", "0xd0001000"]  # slots of disk 0 and disk 1

DESC = "malformed descriptor chain"
# mode -> (broken, used, req, cause): whether the device must say DEVICE_NEEDS_RESET, whether
# a used-ring entry came back, the request status byte the guest finds (0xff: untouched), and
# the words of the one log line for this cause (None: nothing to log).
MODES = {
    "desc-loop": (True, "0", "0xff", DESC),
    "chain-too-long": (True, "0", "0xff", DESC),
    "addr-outside-ram": (True, "0", "0xff", DESC),
    "len-wrap": (True, "0", "0xff", DESC),
    "indirect": (True, "0", "0xff", DESC),
    "no-status": (True, "0", "0xff", "without a writable status byte"),
    "readable-after-writable": (True, "0", "0xff", DESC),
    "avail-idx-jump": (True, "0", "0xff", "available index ahead"),
    "bad-queue-size": (True, "0", "0xff", "queue size that is zero, above 256 or not a power"),
    # A notification before DRIVER_OK is ignored: nothing to log, the request stays queued.
    "notify-before-driver-ok": (False, "0", "0xff", None),
    # Plain request errors: VIRTIO_BLK_S_IOERR (1), the device keeps running.
    "write-readonly": (False, "1", "0x1", "wrote to a read-only disk"),
    "read-past-end": (False, "1", "0x1", "past the end of the disk"),
    "short-header": (False, "1", "0x1", "shorter than its 16-byte header"),
}
MUTED = "further reports of it are muted for a minute"


def make_disk(path, sectors):
    data = os.urandom(512 * sectors)
    with open(path, "wb") as f:
        f.write(data)
    return data


def warnings(vm):
    return [line for line in vm.stderr().splitlines()
            if ": warning: " in line or ": error: " in line]


@pytest.fixture
def disks(workdir):  # noqa: F811
    paths = [os.path.join(workdir, "rw.img"), os.path.join(workdir, "ro.img")]
    return paths, [make_disk(paths[0], 2048), make_disk(paths[1], 64)]


def start(workdir, paths, cmdline):  # noqa: F811
    return Vmm(workdir, ["-m", "64M", "-smp", "1",
                         "-drive", f"file={paths[0]},id=d0",
                         "-device", "virtio-blk-device,drive=d0,id=d0",
                         "-drive", f"file={paths[1]},id=d1,readonly=on",
                         "-device", "virtio-blk-device,drive=d1,id=d1"],
               cmdline=cmdline)


@pytest.mark.parametrize("mode", MODES)
def test_hostile_blk(mode, workdir, disks):  # noqa: F811
    require_kvm()
    paths, data = disks
    broken, used, req, cause = MODES[mode]
    target, other = (1, 0) if mode == "write-readonly" else (0, 1)
    vm = start(workdir, paths, f"probe.hostile={mode}")
    try:
        vm.wait_event("ready")
        done = vm.wait_event("hostile", mode=mode, done=1)
        assert done
        seen = vm.events("hostile")[0]
        assert seen["dev"] == "blk" and seen["index"] == str(target)
        assert bool(int(seen["status"], 16) & NEEDS_RESET) == broken, seen
        assert seen["used"] == used and seen["req"] == req, seen
        # After the offence: the target read again after a reset, then the other disk.
        reads = [r for r in vm.events("read") if r["sector"] == "0"]
        assert [r["index"] for r in reads] == [str(target), str(other)], vm.console()
        for r in reads:
            assert r["sum"] == f"{zlib.crc32(data[int(r['index'])][:512]):08x}"
        assert vm.proc.alive(), "the VMM died"
        # One line per cause, however often the guest repeated it (hostile.c does 5 times).
        lines = warnings(vm)
        assert len(lines) == (1 if cause else 0), vm.stderr()
        if cause:
            assert f"virtio device at {BASE[target]}:" in lines[0]
            assert cause in lines[0], lines
            # Each cause its own sentence: no ring-placement words for a queue size.
            assert "outside guest memory" not in lines[0] or cause == DESC, lines
    finally:
        rc = vm.stop()
    assert rc == 0, f"mvirt-vmm exited with {rc}; stderr:\n{vm.stderr()}"
    for path, original in zip(paths, data):
        with open(path, "rb") as f:
            assert f.read() == original, f"{path} changed"


@pytest.mark.parametrize("mode", ["desc-loop", "bad-queue-size", "write-readonly"])
def test_hostile_blk_reset_loop(mode, workdir, disks):  # noqa: F811
    """A guest that resets the device and breaks it again, 6 rounds: the cause is logged once,
    then one line says the rest are muted; the VMM and the other disk keep working."""
    require_kvm()
    paths, data = disks
    cause = MODES[mode][3]
    target, other = (1, 0) if mode == "write-readonly" else (0, 1)
    vm = start(workdir, paths, f"probe.hostile={mode} probe.hostile-rounds=6")
    try:
        vm.wait_event("hostile", mode=mode, done=1)
        reads = [r for r in vm.events("read") if r["sector"] == "0"]
        assert [r["index"] for r in reads] == [str(target), str(other)], vm.console()
        assert vm.proc.alive(), "the VMM died"
        lines = warnings(vm)
        assert len(lines) == 2, vm.stderr()
        assert cause in lines[0] and MUTED not in lines[0], lines
        assert MUTED in lines[1] and cause in lines[1], lines
        assert all(f"virtio device at {BASE[target]}:" in line for line in lines), lines
    finally:
        rc = vm.stop()
    assert rc == 0, f"mvirt-vmm exited with {rc}; stderr:\n{vm.stderr()}"


def test_unknown_hostile_mode_is_reported(workdir, disks):  # noqa: F811
    require_kvm()
    paths, _ = disks
    vm = start(workdir, paths, "probe.hostile=no-such-mode probe.poweroff=1")
    try:
        err = vm.wait_event("error", what="bad-option")
        assert err["option"] == "probe.hostile=no-such-mode"
        vm.wait_event("ready")
        assert vm.wait_exit(10) == 0
        assert vm.events("hostile") == []
    finally:
        vm.stop()
