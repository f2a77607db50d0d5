"""Boot the probe through its 64-bit boot-protocol entry on /dev/kvm, with nothing in between.

QEMU's microvm only takes the probe's PVH entry, so this small loader is what checks the
other way in, the one mvirt-vmm uses for an ELF vmlinux: long mode already on, an identity
map of the first GiB, RSI = struct boot_params with the command line, an e820 map and
acpi_rsdp_addr. It also hands over a tiny set of ACPI tables made here (RSDP, XSDT, FADT,
MADT, a DSDT with one LNRO0005 device), so the probe's table walk and AML scan are checked
against tables that are not QEMU's. Console bytes (port 0x3f8) go to stdout; the run ends
when the guest writes port 0x501 (the probe's power-off fallback), on a KVM error, or after
the deadline.

    python3 probe_kvm64.py [--scan] [--stuck-disk] [--seconds N] PROBE_ELF 'CMDLINE'

--scan leaves boot_params.acpi_rsdp_addr 0, so the probe must find the RSDP by scanning
0xE0000-0xFFFFF as Linux does. --stuck-disk puts a virtio-blk transport at the DSDT's
address that negotiates like a real one but never completes a request: the probe must time
out and say so, not hang.
"""
import argparse
import ctypes
import fcntl
import mmap
import os
import struct
import sys
import time

KVMIO = 0xAE
KVM_CREATE_VM = 0xAE01
KVM_GET_VCPU_MMAP_SIZE = 0xAE04
KVM_CREATE_VCPU = 0xAE41
KVM_SET_TSS_ADDR = 0xAE47
KVM_CREATE_IRQCHIP = 0xAE60
KVM_RUN = 0xAE80
KVM_SET_USER_MEMORY_REGION = 0x4020AE46
KVM_GET_SUPPORTED_CPUID = 0xC008AE05
KVM_SET_CPUID2 = 0x4008AE90
KVM_GET_REGS, KVM_SET_REGS = 0x8090AE81, 0x4090AE82
KVM_GET_SREGS, KVM_SET_SREGS = 0x8138AE83, 0x4138AE84
EXIT_IO, EXIT_MMIO, EXIT_SHUTDOWN, EXIT_INTERNAL_ERROR = 2, 6, 8, 17

MEM_SIZE = 64 << 20
BOOT_PARAMS, CMDLINE, GDT, PML4 = 0x7000, 0x20000, 0x500, 0x9000
ACPI_BASE = 0xE0000
VIRTIO_BASE, VIRTIO_GSI = 0xD0000000, 5  # nothing answers there: the probe must say so


def acpi_table(sig, body, rev=1):
    t = bytearray(sig + struct.pack("<IBB6s8sI4sI", 36 + len(body), rev, 0, b"MVIRT ",
                                     b"MVPROBE ", 1, b"MVRT", 1) + body)
    t[9] = (-sum(t)) & 0xFF
    return bytes(t)


def dsdt_body():
    """Device (VR00) { Name (_HID, "LNRO0005") Name (_UID, 0) Name (_CRS, ResourceTemplate ()
    { Memory32Fixed (ReadWrite, VIRTIO_BASE, 0x200) Interrupt (Consumer, Edge, ActiveHigh,
    Exclusive) { VIRTIO_GSI } }) } inside Scope (\\_SB), and Name (\\_S5, Package { 5, 0 })."""
    crs = (bytes([0x86, 9, 0, 1]) + struct.pack("<II", VIRTIO_BASE, 0x200) +
           bytes([0x89, 6, 0, 0x03, 1]) + struct.pack("<I", VIRTIO_GSI) + bytes([0x79, 0]))
    crs_obj = b"\x08_CRS\x11" + bytes([len(crs) + 3, 0x0A, len(crs)]) + crs
    dev = b"VR00" + b"\x08_HID\x0dLNRO0005\x00" + b"\x08_UID\x00" + crs_obj
    device = b"\x5b\x82" + pkglen(len(dev)) + dev
    scope_body = b"_SB_" + device
    s5 = b"\x08_S5_\x12\x06\x04\x0a\x05\x00\x00\x00"
    return b"\x10" + pkglen(len(scope_body)) + scope_body + s5


def pkglen(n):
    """A PkgLength counting its own bytes (two-byte form; enough for this DSDT)."""
    n += 2
    return bytes([0x40 | (n & 0x0F), n >> 4])


def build_acpi(mem):
    dsdt = acpi_table(b"DSDT", dsdt_body(), rev=2)
    madt = acpi_table(b"APIC", struct.pack("<II", 0xFEE00000, 1) +
                      bytes([0, 8, 0, 0]) + struct.pack("<I", 1) +          # LAPIC 0
                      bytes([1, 12, 0, 0]) + struct.pack("<II", 0xFEC00000, 0))  # IOAPIC
    fadt_body = bytearray(276 - 36)
    struct.pack_into("<I", fadt_body, 112 - 36, 1 << 20)  # HW_REDUCED_ACPI
    addrs = {}
    at = ACPI_BASE + 0x100
    for name, table in (("dsdt", dsdt), ("madt", madt)):
        addrs[name] = at
        mem[at:at + len(table)] = table
        at += (len(table) + 15) & ~15
    struct.pack_into("<Q", fadt_body, 140 - 36, addrs["dsdt"])  # X_DSDT
    fadt = acpi_table(b"FACP", bytes(fadt_body), rev=6)
    addrs["fadt"] = at
    mem[at:at + len(fadt)] = fadt
    at += (len(fadt) + 15) & ~15
    xsdt = acpi_table(b"XSDT", struct.pack("<QQ", addrs["fadt"], addrs["madt"]))
    mem[at:at + len(xsdt)] = xsdt
    rsdp = bytearray(b"RSD PTR " + bytes(1) + b"MVIRT " + bytes([2]) + bytes(4) +
                     struct.pack("<IQ", 36, at) + bytes(4))
    rsdp[8] = (-sum(rsdp[:20])) & 0xFF
    rsdp[32] = (-sum(rsdp)) & 0xFF
    mem[ACPI_BASE:ACPI_BASE + 36] = rsdp
    return ACPI_BASE


def load_elf(mem, path):
    with open(path, "rb") as f:
        elf = f.read()
    assert elf[:4] == b"\x7fELF" and elf[4] == 2, "not an ELF64 file"
    entry, phoff = struct.unpack_from("<QQ", elf, 24)
    phentsize, phnum = struct.unpack_from("<HH", elf, 54)
    for i in range(phnum):
        p_type, _, off, _, paddr, filesz, memsz, _ = struct.unpack_from(
            "<IIQQQQQQ", elf, phoff + i * phentsize)
        if p_type == 1:  # PT_LOAD; memory beyond filesz is already zero
            mem[paddr:paddr + filesz] = elf[off:off + filesz]
    return entry


def build_boot(mem, cmdline, rsdp):
    bp = bytearray(4096)
    struct.pack_into("<Q", bp, 0x070, rsdp)              # acpi_rsdp_addr
    bp[0x1E8] = 2                                        # e820_entries
    struct.pack_into("<I", bp, 0x228, CMDLINE)           # hdr.cmd_line_ptr
    struct.pack_into("<QQI", bp, 0x2D0, 0, 0x9FC00, 1)
    struct.pack_into("<QQI", bp, 0x2D0 + 20, 0x100000, MEM_SIZE - 0x100000, 1)
    mem[BOOT_PARAMS:BOOT_PARAMS + 4096] = bp
    data = cmdline.encode() + b"\0"
    mem[CMDLINE:CMDLINE + len(data)] = data
    # GDT: null, 64-bit code (0x08), data (0x10); 1 GiB identity map with 2 MiB pages.
    mem[GDT:GDT + 24] = struct.pack("<QQQ", 0, 0x00AF9B000000FFFF, 0x00CF93000000FFFF)
    struct.pack_into("<Q", mem, PML4, (PML4 + 0x1000) | 3)
    struct.pack_into("<Q", mem, PML4 + 0x1000, (PML4 + 0x2000) | 3)
    for i in range(512):
        struct.pack_into("<Q", mem, PML4 + 0x2000 + 8 * i, (i << 21) | 0x83)


def set_cpu(vcpu, entry):
    sregs = bytearray(312)
    fcntl.ioctl(vcpu, KVM_GET_SREGS, sregs)
    code = struct.pack("<QIHBBBBBBBBBB", 0, 0xFFFFFFFF, 0x08, 11, 1, 0, 0, 1, 1, 1, 0, 0, 0)
    data = struct.pack("<QIHBBBBBBBBBB", 0, 0xFFFFFFFF, 0x10, 3, 1, 0, 1, 1, 0, 1, 0, 0, 0)
    sregs[0:24] = code
    for seg in range(1, 6):  # ds es fs gs ss
        sregs[24 * seg:24 * seg + 24] = data
    struct.pack_into("<QH", sregs, 192, GDT, 23)                  # gdt
    struct.pack_into("<Q", sregs, 224, 0x80000011)                # cr0: PG ET PE
    struct.pack_into("<Q", sregs, 240, PML4)                      # cr3
    struct.pack_into("<Q", sregs, 248, 0x20)                      # cr4: PAE
    struct.pack_into("<Q", sregs, 264, 0x500)                     # efer: LME LMA
    fcntl.ioctl(vcpu, KVM_SET_SREGS, sregs)
    regs = bytearray(144)
    struct.pack_into("<Q", regs, 4 * 8, BOOT_PARAMS)  # rsi
    struct.pack_into("<Q", regs, 6 * 8, 0x8FF0)       # rsp
    struct.pack_into("<QQ", regs, 16 * 8, entry, 2)   # rip, rflags
    fcntl.ioctl(vcpu, KVM_SET_REGS, regs)


def set_cpuid(kvm, vcpu):
    nent = 100
    buf = bytearray(struct.pack("<II", nent, 0) + bytes(40 * nent))
    fcntl.ioctl(kvm, KVM_GET_SUPPORTED_CPUID, buf)
    fcntl.ioctl(vcpu, KVM_SET_CPUID2, buf)


class Uart:
    """Only what a polling writer needs: with the divisor latch bit of the line control
    register set, port 0x3f8 is the divisor, not data."""
    dlab = False


def handle_io(run, out):
    direction, size, port, count, off = struct.unpack_from("<BBHIQ", run, 32)
    if direction == 1 and port == 0x501:
        return False
    if direction == 1 and port == 0x3FB:
        Uart.dlab = bool(run[off] & 0x80)
    elif direction == 1 and port == 0x3F8 and not Uart.dlab:
        out.write(bytes(run[off:off + size * count]))
        out.flush()
    elif direction == 0:  # IN: the UART's line status says "empty", anything else 0xff
        run[off:off + size * count] = (b"\x20" if port == 0x3FD else b"\xff") * (size * count)
    return True


class StuckDisk:
    """virtio-mmio version 2, device ID 2, 8 sectors; takes requests and never answers."""

    def __init__(self):
        self.regs = {0x000: 0x74726976, 0x004: 2, 0x008: 2, 0x034: 4, 0x100: 8}
        self.features_sel = 0

    def read(self, off):
        if off == 0x010:
            return 1 if self.features_sel == 1 else 0  # VIRTIO_F_VERSION_1 only
        return self.regs.get(off, 0)

    def write(self, off, value):
        if off == 0x014:
            self.features_sel = value
        elif off == 0x070:
            self.regs[0x070] = value


def handle_mmio(run, device):
    phys, data, length, is_write = struct.unpack_from("<Q8sIB", run, 32)
    off = phys - VIRTIO_BASE
    inside = device and 0 <= off < 0x200
    if is_write:
        if inside:
            device.write(off, int.from_bytes(data[:length], "little"))
    else:  # reads outside any device see zeros: nothing is there
        value = device.read(off) if inside else 0
        run[40:40 + length] = value.to_bytes(8, "little")[:length]


def main(path, cmdline, seconds=60, scan=False, stuck_disk=False):
    kvm = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
    vm = fcntl.ioctl(kvm, KVM_CREATE_VM, 0)
    fcntl.ioctl(vm, KVM_SET_TSS_ADDR, 0x7FFFC000)  # 3 pages outside RAM; ioctl takes a C int
    fcntl.ioctl(vm, KVM_CREATE_IRQCHIP, 0)
    mem = mmap.mmap(-1, MEM_SIZE, mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    addr = ctypes.addressof(ctypes.c_char.from_buffer(mem))
    fcntl.ioctl(vm, KVM_SET_USER_MEMORY_REGION, struct.pack("<IIQQQ", 0, 0, 0, MEM_SIZE, addr))
    entry = load_elf(mem, path)
    rsdp = build_acpi(mem)
    build_boot(mem, cmdline, 0 if scan else rsdp)
    vcpu = fcntl.ioctl(vm, KVM_CREATE_VCPU, 0)
    set_cpuid(kvm, vcpu)
    set_cpu(vcpu, entry)
    size = fcntl.ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0)
    run = mmap.mmap(vcpu, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
    out = sys.stdout.buffer
    device = StuckDisk() if stuck_disk else None
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        fcntl.ioctl(vcpu, KVM_RUN, 0)
        reason = struct.unpack_from("<I", run, 8)[0]
        if reason == EXIT_IO:
            if not handle_io(run, out):
                return 0
        elif reason == EXIT_MMIO:
            handle_mmio(run, device)
        else:
            suberror = struct.unpack_from("<I", run, 32)[0]
            print(f"KVM exit {reason} (suberror {suberror})", file=sys.stderr)
            return 2
    print("deadline passed", file=sys.stderr)
    return 3


if __name__ == "__main__":
    ap = argparse.ArgumentParser(usage=__doc__)
    ap.add_argument("--scan", action="store_true")
    ap.add_argument("--stuck-disk", action="store_true")
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("probe")
    ap.add_argument("cmdline")
    a = ap.parse_args()
    sys.exit(main(a.probe, a.cmdline, a.seconds, a.scan, a.stuck_disk))
