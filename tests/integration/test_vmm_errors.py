"""mvirt-vmm's refusals: each names the value at fault, exits non-zero and
leaves nothing behind; and the ACPI tables it builds disassemble with iasl."""
import os
import re
import shutil
import subprocess

import pytest

from mvirt_test import env_path, require_kvm, workdir  # noqa: F401 (fixture)

# Where it runs: on a KVM (tests/run-pytest; tools/with-kvm when this host has none).
KVM = "any"


def run_vmm(*args, timeout=20):
    return subprocess.run([env_path("MVIRT_VMM"), *args], capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def test_version_and_help():
    r = run_vmm("--version")
    assert r.returncode == 0 and r.stdout.startswith("mvirt-vmm ")
    r = run_vmm("--help")
    assert r.returncode == 0 and "-kernel PATH" in r.stdout


@pytest.mark.parametrize("args,named", [
    (["-kernel", "/k", "-frobnicate"], "-frobnicate"),
    (["-kernel", "/k", "-m", "lots"], "lots"),
    (["-kernel", "/k", "-drive", "file=/x,id=d0,colour=red"], "colour"),
    (["-kernel", "/k", "-serial", "pty"], "pty"),
    ([], "-kernel"),
])
def test_bad_options(args, named):
    r = run_vmm(*args)
    assert r.returncode != 0
    assert named in r.stderr


def test_missing_kernel_leaves_nothing(workdir):  # noqa: F811
    require_kvm()
    pidfile = os.path.join(workdir, "pid")
    qmp = os.path.join(workdir, "q.sock")
    missing = os.path.join(workdir, "no-such-kernel")
    r = run_vmm("-kernel", missing, "-pidfile", pidfile, "-qmp", f"unix:{qmp},server,nowait")
    assert r.returncode != 0
    assert missing in r.stderr
    assert not os.path.exists(pidfile) and not os.path.exists(qmp)


def test_unreadable_disk(workdir):  # noqa: F811
    require_kvm()
    disk = os.path.join(workdir, "missing.img")
    r = run_vmm("-kernel", env_path("MVIRT_PROBE"), "-drive", f"file={disk},id=d0",
                "-device", "virtio-blk-device,drive=d0,id=vda")
    assert r.returncode != 0
    assert disk in r.stderr


def test_kernel_not_an_image(workdir):  # noqa: F811
    require_kvm()
    junk = os.path.join(workdir, "junk")
    with open(junk, "wb") as f:
        f.write(b"not a kernel" * 100)
    r = run_vmm("-kernel", junk)
    assert r.returncode != 0 and junk in r.stderr


def test_acpi_tables_disassemble(workdir):  # noqa: F811
    iasl = shutil.which("iasl")
    if not iasl:
        pytest.fail("iasl is not installed (Debian package acpica-tools); this test needs it")
    r = run_vmm("-dump-acpi", workdir, "-smp", "2")
    assert r.returncode == 0, r.stderr
    for sig in ("DSDT", "FACP", "APIC", "XSDT"):
        path = os.path.join(workdir, f"{sig}.dat")
        d = subprocess.run([iasl, "-d", path], capture_output=True, text=True, cwd=workdir,
                           timeout=30)
        assert d.returncode == 0, d.stdout + d.stderr
        with open(os.path.join(workdir, f"{sig}.dsl")) as f:
            dsl = f.read()
        assert "Checksum" in dsl and "Incorrect checksum" not in dsl
        if sig == "DSDT":
            assert dsl.count('"LNRO0005"') == 8
            assert "_S5, Package (0x04)" in dsl
            assert "Memory32Fixed (ReadWrite" in dsl
            # The power button: PNP0C0C, and a GED on GSI 23 whose _EVT notifies it.
            assert '"PNP0C0C"' in dsl and '"ACPI0013"' in dsl
            assert "0x00000017," in dsl and "Interrupt (ResourceConsumer, Edge, ActiveHigh" in dsl
            assert "Method (_EVT, 1, NotSerialized)" in dsl
            # COM1 with its ports and IRQ 4: a Linux guest's console needs its interrupt.
            assert '"PNP0501"' in dsl
            code = re.sub(r"//[^\n]*", "", dsl)
            assert re.search(r"IO \(Decode16,\s+0x03F8,\s+0x03F8,\s+0x01,\s+0x08,", code), dsl
            assert re.search(r"IRQNoFlags \(\)\s+\{4\}", code), dsl
            assert "Notify (\\_SB.PWRB, 0x80)" in dsl
        if sig == "FACP":
            assert "Hardware Reduced (V5) : 1" in dsl
            assert "CMOS RTC Not Present (V5) : 1" in dsl


def iasl_disassemble(workdir, name):  # noqa: F811
    d = subprocess.run([shutil.which("iasl") or "iasl", "-d", name], capture_output=True,
                       text=True, cwd=workdir, timeout=30)
    assert d.returncode == 0, d.stdout + d.stderr
    with open(os.path.join(workdir, name.replace(".dat", ".dsl"))) as f:
        return f.read()


def test_dynamic_model_tables_disassemble(workdir):  # noqa: F811
    """-machine microvm,hotplug=acpi: no virtio device in the DSDT, a level hot-plug interrupt
    on the GED whose _EVT loads each slot's block or asks for its device back, the 40 blocks
    in the XSDT, and each block one LNRO0005 device whose _STA reads the controller."""
    if not shutil.which("iasl"):
        pytest.fail("iasl is not installed (Debian package acpica-tools); this test needs it")
    r = run_vmm("-machine", "microvm,hotplug=acpi", "-dump-acpi", workdir)
    assert r.returncode == 0, r.stderr
    dsl = iasl_disassemble(workdir, "DSDT.dat")
    assert '"LNRO0005"' not in dsl
    assert "Interrupt (ResourceConsumer, Level, ActiveHigh, Exclusive, ,, )" in dsl
    assert "0x00000016," in dsl and "0x00000017," in dsl
    assert "OperationRegion (HPIO, SystemIO, 0x0610, 0x0C)" in dsl
    for n in (0, 39):
        assert f'LoadTable ("MVHP", "MVIRT ", "MVHP{n:02}  ", "", "", Zero)' in dsl
        assert f"Notify (\\_SB.HP{n:02}, 0x03)" in dsl
    assert dsl.count("LoadTable (") == 40
    xsdt = iasl_disassemble(workdir, "XSDT.dat")
    assert xsdt.count("ACPI Table Address") == 42
    # A slot's block is an ordinary definition block under its own signature (so the OS does
    # not load it at boot); under the SSDT signature iasl disassembles it.
    with open(os.path.join(workdir, "SSDT.dat"), "rb") as f:
        block = bytearray(f.read())
    assert block[:4] == b"MVHP" and sum(block) % 256 == 0
    block[:4] = b"SSDT"
    block[9] = (block[9] - sum(b"SSDT") + sum(b"MVHP")) % 256
    with open(os.path.join(workdir, "SLOT.dat"), "wb") as f:
        f.write(block)
    slot = iasl_disassemble(workdir, "SLOT.dat")
    assert "Device (HP00)" in slot and '"LNRO0005"' in slot
    assert "Interrupt (ResourceConsumer, Edge, ActiveHigh, Shared, ,, )" in slot
    assert "Method (_STA, 0, NotSerialized)" in slot and "\\_SB.GED0.HEN0" in slot


def test_unknown_hotplug_model_is_named():
    r = run_vmm("-machine", "microvm,hotplug=pci", "-kernel", "/nonexistent")
    assert r.returncode != 0
    assert "'pci'" in r.stderr and "hotplug=acpi" in r.stderr and "hotplug=slots" in r.stderr
