"""The guest probe under KVM with no mvirt-vmm: QEMU's microvm with -accel kvm (what
test_probe_qemu.py checks under TCG that can differ under KVM), and the 64-bit
boot-protocol entry through probe_kvm64.py, a bare KVM loader with ACPI tables of its own.
"""
import os
import subprocess
import sys

import pytest

from mvirt_test import require_kvm
from qemu_probe import (check_host_pings_probe, check_time_to_ready, disks, parse_line,  # noqa: F401
                        probe_path, vms)

# Where it runs: on a KVM (tests/run-pytest; tools/with-kvm when this host has none).
KVM = "any"

LOADER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "probe_kvm64.py")


def test_host_pings_probe(vms):  # noqa: F811
    require_kvm()
    check_host_pings_probe(vms, "kvm")


def test_time_to_ready(vms, disks):  # noqa: F811
    require_kvm()
    check_time_to_ready(vms, disks, "kvm")


def run_loader(*args):
    require_kvm()
    out = subprocess.run([sys.executable, LOADER, "--seconds", "60", *args, probe_path(),
                          "probe.poweroff=1"], capture_output=True, text=True, timeout=90)
    assert out.returncode == 0, out.stdout + out.stderr
    return [parse_line(t) for t in out.stdout.splitlines() if parse_line(t)]


@pytest.mark.parametrize("scan", [False, True], ids=["rsdp-pointer", "rsdp-scan"])
def test_linux64_entry_on_kvm(scan):
    """The 64-bit boot protocol entry under this machine's KVM, with no QEMU: boot_params
    gives the command line, the e820 map and (unless scanning) the RSDP; the loader's DSDT
    names one LNRO0005 device where nothing answers."""
    events = run_loader(*(["--scan"] if scan else []))
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
    events = run_loader("--stuck-disk")
    assert ("error", {"what": "timeout", "dev": "blk", "index": "0", "sector": "0"}) in events
    assert ("blk", {"index": "0", "capacity": "8"}) in events
    assert ("ready", {"blk": "1", "net": "0"}) in events
