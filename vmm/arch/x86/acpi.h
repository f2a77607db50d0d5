/*
 * The ACPI tables the guest finds the machine through: RSDP -> XSDT -> FADT
 * (hardware-reduced, with the sleep control register for power-off) -> DSDT
 * (one LNRO0005 device per virtio-mmio slot, and \_S5), and a MADT (a LAPIC
 * per vCPU, one IOAPIC). Built into a blob placed at LAYOUT_ACPI_START.
 *
 * In the dynamic hot-plug model (-machine microvm,hotplug=acpi) the DSDT lists
 * no virtio device. Each device slot has a definition block of its own (one
 * LNRO0005 device, \_SB.HPnn) at LAYOUT_HOTPLUG_TABLES + slot * LAYOUT_HOTPLUG_TABLE_SIZE,
 * listed in the XSDT under the signature "MVHP", which the OS does not load at
 * boot. The VMM queues requests in the hot-plug controller (LAYOUT_HOTPLUG_PORT)
 * and raises the GED's level interrupt LAYOUT_HOTPLUG_GSI while any wait; the
 * GED's _EVT reads and carries them out until there are none:
 * - load: LoadTable() the slot's block; Linux enumerates the device and binds
 *   virtio-mmio to it (true hot-add: the NIC's MAC can be anything).
 * - eject: Notify(\_SB.HPnn, 3), an eject request. The device's _STA drops its
 *   "enabled" bit (0x0F -> 0x0D) from then on.
 * The guest gives the device back by letting its driver go (the transport is
 * reset): Linux has no kernel path that removes an ACPI-enumerated platform
 * device on an eject request, and no AML way to unload a table any more, so an
 * agent in the guest (a udev rule, or the test guest's /init) reads the _STA
 * (/sys/bus/acpi/devices/LNRO0005:NN/status), and unbinds the device when its
 * disk is not mounted. A slot is used once per boot: its block stays loaded.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "arch/x86/layout.h"

#define ACPI_MAX_VIRTIO 16
#define ACPI_MAX_HOTPLUG 40
#define ACPI_SLOT_TABLE_SIGNATURE "MVHP" /* a slot's block: not loaded at boot */
#define ACPI_BLOB_MAX (LAYOUT_ACPI_END - LAYOUT_ACPI_START)

/* The hot-plug controller's registers, 32 bits each, at LAYOUT_HOTPLUG_PORT + offset:
 * reading CMD takes the next request (0 when none left): op << 16 | slot; ENABLED0 and
 * ENABLED1 have a bit per slot (0-31, 32-63), clear while the VMM asks for the slot's
 * device back. */
#define ACPI_HOTPLUG_REG_CMD 0
#define ACPI_HOTPLUG_REG_ENABLED0 4
#define ACPI_HOTPLUG_REG_ENABLED1 8
#define ACPI_HOTPLUG_PORTS 12
#define ACPI_HOTPLUG_OP_LOAD 1
#define ACPI_HOTPLUG_OP_EJECT 3
/* _STA of a plugged device: present, enabled, shown, functioning; without "enabled" while
 * the VMM asks for it back. */
#define ACPI_STA_PLUGGED 0x0f
#define ACPI_STA_EJECT_REQUESTED 0x0d
#define ACPI_HOTPLUG_REQUEST(op, slot) ((uint32_t)(op) << 16 | (uint32_t)(slot))

struct acpi_virtio_dev {
	uint64_t base;
	uint32_t size;
	uint32_t gsi;
};

struct acpi_config {
	unsigned n_vcpus;
	struct acpi_virtio_dev virtio[ACPI_MAX_VIRTIO]; /* in the DSDT from boot */
	unsigned n_virtio;
	unsigned n_hotplug; /* dynamic model: slots with a table of their own; 0 otherwise */
};

enum acpi_table {
	ACPI_TABLE_RSDP,
	ACPI_TABLE_DSDT,
	ACPI_TABLE_FACP,
	ACPI_TABLE_APIC,
	ACPI_TABLE_XSDT,
	_ACPI_TABLE_MAX,
};

struct acpi_tables {
	uint8_t blob[ACPI_BLOB_MAX]; /* what goes at LAYOUT_ACPI_START */
	size_t len;
	size_t offset[_ACPI_TABLE_MAX];
	size_t size[_ACPI_TABLE_MAX];
};

const char *acpi_table_to_string(enum acpi_table t);
int acpi_build(const struct acpi_config *cfg, struct acpi_tables *ret);
/* The SSDT of dynamic slot `slot`, describing transport d, into buf (at most
 * LAYOUT_HOTPLUG_TABLE_SIZE bytes): its length, or -errno. */
int acpi_build_slot_table(unsigned slot, const struct acpi_virtio_dev *d, uint8_t *buf,
	size_t size);
static inline uint64_t acpi_slot_table_addr(unsigned slot)
{
	return LAYOUT_HOTPLUG_TABLES + slot * LAYOUT_HOTPLUG_TABLE_SIZE;
}
/* The address the RSDP ends up at in guest memory. */
static inline uint64_t acpi_rsdp_addr(const struct acpi_tables *t)
{
	return LAYOUT_ACPI_START + t->offset[ACPI_TABLE_RSDP];
}
