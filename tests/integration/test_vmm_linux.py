"""A stock Debian cloud kernel under mvirt-vmm, as tools/linux-guest builds it (tests/run-pytest
builds it before this file runs): its bzImage and the ELF vmlinux inside it (booted through its
PVH entry) each boot to /init's "GUEST ready", printing their e820 map and ACPI table listing
on the way, and the console's shell answers.

This needs a KVM that boots Linux (KVM = "linux"): hardware KVM, or the TCG guest of
tools/with-kvm. On the software-nested kvm_pvm a Linux guest gets no further than early boot:
it ignores KVM_SET_CPUID2, so the bzImage's zstd decompressor takes BMI2 paths (SHLX) that its
emulator rejects."""
import os
import re
import time

import pytest

from linux_guest import guest_images, guest_lines
from mvirt_test import Process, env_path, require_kvm, workdir  # noqa: F401 (fixture)

# Where it runs: on a KVM (tests/run-pytest; tools/with-kvm when this host has none).
KVM = "linux"

ATTEMPT_S, ATTEMPTS = 120, 4  # a boot that prints everything takes ~40 s in the TCG guest
WANT = ["Linux version", "BIOS-e820:", "ACPI: RSDP", "ACPI: XSDT", "ACPI: FACP", "ACPI: APIC",
        "ACPI: DSDT", "virtio_blk virtio0", "GUEST ready"]


def boot(images, kernel, console):
    """Boots until every WANT line is there; a boot nested under TCG that hangs early (see
    tools/with-kvm) is tried again. Returns the console text."""
    for attempt in range(1, ATTEMPTS + 1):
        path = f"{console}.{attempt}"
        vm = Process([env_path("MVIRT_VMM"), "-machine", "microvm", "-kernel", images[kernel],
                      "-initrd", images["initrd.img"], "-m", "256M",
                      "-append", "console=ttyS0 earlyprintk=ttyS0 panic=-1"],
                     log_path=path)
        try:
            deadline = time.monotonic() + ATTEMPT_S
            while time.monotonic() < deadline and vm.alive():
                if all(w in vm.log() for w in WANT):
                    print(f"{kernel}: ready after {attempt} boot(s)")
                    return vm.log()
                time.sleep(1)
        finally:
            vm.stop(timeout=10)
    text = vm.log()
    missing = [w for w in WANT if w not in text]
    pytest.fail(f"{kernel} did not boot in {ATTEMPTS} tries of {ATTEMPT_S}s: missing {missing}; "
                f"console:\n{text[-4000:]}")


@pytest.mark.parametrize("kernel", ["vmlinuz", "vmlinux"])
def test_debian_kernel_boots_to_init(workdir, kernel):  # noqa: F811
    require_kvm()
    text = boot(guest_images(workdir), kernel, os.path.join(workdir, "linux.console"))
    assert re.search(r"BIOS-e820: \[mem 0x0000000000100000-0x[0-9a-f]+\] usable", text)
    lines = guest_lines(text)
    assert [s for s in lines if s.startswith("blk ")][:6] == [f"blk vd{c} size=0" for c in "abcdef"]
    assert "ttyS0 at I/O 0x3f8" in text  # the COM1 of the DSDT, with its interrupt
