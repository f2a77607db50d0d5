/*
 * Every guest-physical address the VMM uses on x86, in one place. Low memory
 * below 1 MiB holds the boot structures; the kernel loads at 1 MiB; the
 * 3-4 GiB hole holds the virtio-mmio slots, the IOAPIC and the LAPIC; RAM
 * beyond the hole continues at 4 GiB.
 */
#pragma once

/* Boot structures the VMM writes before the first instruction. */
#define LAYOUT_GDT 0x500ULL
#define LAYOUT_PVH_START_INFO 0x6000ULL
#define LAYOUT_PVH_MEMMAP 0x6100ULL /* up to LAYOUT_E820_MAX entries of 24 bytes */
#define LAYOUT_ZERO_PAGE 0x7000ULL  /* struct boot_params, 4 KiB */
#define LAYOUT_PML4 0x9000ULL
#define LAYOUT_PDPT 0xa000ULL
#define LAYOUT_PD 0xb000ULL /* 4 pages of 2 MiB entries: the first 4 GiB */
#define LAYOUT_BOOT_STACK 0x8ff0ULL
#define LAYOUT_CMDLINE 0x20000ULL
#define LAYOUT_CMDLINE_MAX 0x10000ULL
#define LAYOUT_EBDA_START 0x9fc00ULL /* legacy area reserved in the e820 map from here */
/* ACPI tables: the RSDP where Linux scans for it (0xE0000-0xFFFFF), tables after it. */
#define LAYOUT_ACPI_START 0xe0000ULL
#define LAYOUT_ACPI_END 0xf8000ULL
/* The dynamic hot-plug model: one small table (SSDT) per device slot, which the DSDT's
 * Load() reads from here when the device is plugged. Reserved like the ACPI tables. */
#define LAYOUT_HOTPLUG_TABLES 0xf8000ULL
#define LAYOUT_HOTPLUG_TABLE_SIZE 0x200ULL
#define LAYOUT_KERNEL 0x100000ULL /* bzImage protected-mode code; ELF segments at their paddr */

/* The hole below 4 GiB: devices only. */
#define LAYOUT_MMIO_HOLE 0xc0000000ULL
#define LAYOUT_4G 0x100000000ULL
#define LAYOUT_VIRTIO_BASE 0xd0000000ULL
#define LAYOUT_VIRTIO_SIZE 0x1000ULL /* one slot's register window */
#define LAYOUT_IOAPIC 0xfec00000ULL
#define LAYOUT_LAPIC 0xfee00000ULL

/* Interrupts: the UART on ISA IRQ 4, virtio slots on GSIs from 5. */
#define LAYOUT_SERIAL_GSI 4
#define LAYOUT_VIRTIO_GSI_BASE 5
#define LAYOUT_IOAPIC_PINS 24
#define LAYOUT_GED_GSI 23 /* the power button's Generic Event Device: the last free pin */
#define LAYOUT_HOTPLUG_GSI 22 /* the dynamic model's hot-plug requests (level), same GED */

/* I/O ports. */
#define LAYOUT_SERIAL_PORT 0x3f8
#define LAYOUT_I8042_PORT 0x64     /* a write of 0xfe resets the machine */
#define LAYOUT_SLEEP_CTL_PORT 0x600 /* FADT SLEEP_CONTROL_REG */
#define LAYOUT_SLEEP_STS_PORT 0x601 /* FADT SLEEP_STATUS_REG */
#define LAYOUT_HOTPLUG_PORT 0x610   /* the dynamic model's hot-plug controller, 12 ports */
#define LAYOUT_S5_SLP_TYP 5         /* \_S5's SLP_TYP, written with SLP_EN to power off */

#define LAYOUT_E820_MAX 8
