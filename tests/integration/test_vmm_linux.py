"""The bzImage path with a stock Debian cloud kernel: under this machine's
software-nested KVM a Linux guest gets no further than its early boot, so the
test checks the kernel's banner, its e820 map and its ACPI table listing.
The kernel is fetched by apt-get download into a cache directory, never
into the source tree."""
import glob
import os
import re
import subprocess
import time

import pytest

from mvirt_test import Process, env_path, require_kvm, workdir  # noqa: F401 (fixture)

WAIT_S = 180  # ~95 s to the first console line under QEMU on this KVM


def cache_dir():
    base = os.environ.get("XDG_CACHE_HOME") or "/var/cache"
    path = os.path.join(base, "mvirt-test")
    os.makedirs(path, exist_ok=True)
    return path


def fetch_kernel():
    cache = cache_dir()
    found = sorted(glob.glob(os.path.join(cache, "root/boot/vmlinuz-*-cloud-amd64")))
    if found:
        return found[-1]
    names = subprocess.run(["apt-cache", "search", "--names-only",
                            r"^linux-image-[0-9].*-cloud-amd64$"],
                           capture_output=True, text=True, timeout=60).stdout.split("\n")
    pkgs = sorted(n.split()[0] for n in names if n and "dbg" not in n and "unsigned" not in n)
    if not pkgs:
        pytest.fail("apt-cache knows no linux-image-*-cloud-amd64 package; run apt-get update")
    r = subprocess.run(["apt-get", "download", pkgs[-1]], cwd=cache, capture_output=True,
                       text=True, timeout=600)
    debs = glob.glob(os.path.join(cache, f"{pkgs[-1]}_*.deb"))
    if r.returncode != 0 or not debs:
        pytest.fail(f"The Debian kernel package {pkgs[-1]} could not be downloaded: "
                    f"{r.stderr.strip()}")
    subprocess.run(["dpkg-deb", "-x", debs[0], os.path.join(cache, "root")], check=True,
                   timeout=300)
    return sorted(glob.glob(os.path.join(cache, "root/boot/vmlinuz-*")))[-1]


def test_debian_kernel_prints_e820_and_acpi(workdir):  # noqa: F811
    require_kvm()
    kernel = fetch_kernel()
    console = os.path.join(workdir, "linux.console")
    vm = Process([env_path("MVIRT_VMM"), "-machine", "microvm", "-kernel", kernel,
                  "-m", "256M", "-append", "console=ttyS0 earlyprintk=ttyS0 panic=-1"],
                 log_path=console)
    want = ["Linux version", "BIOS-e820:", "ACPI: RSDP", "ACPI: XSDT", "ACPI: FACP",
            "ACPI: APIC", "ACPI: DSDT"]
    try:
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            text = vm.log()
            if all(w in text for w in want) or not vm.alive():
                break
            time.sleep(1)
        text = vm.log()
        how = f"after {WAIT_S}s" if vm.alive() else "when the VMM exited"
    finally:
        vm.stop(timeout=10)
    missing = [w for w in want if w not in text]
    assert not missing, f"missing {missing} {how}; console:\n{text[-4000:]}"
    assert re.search(r"BIOS-e820: \[mem 0x0000000000100000-0x[0-9a-f]+\] usable", text)
