/*
 * The ACPI tables the guest finds the machine through: RSDP -> XSDT -> FADT
 * (hardware-reduced, with the sleep control register for power-off) -> DSDT
 * (one LNRO0005 device per virtio-mmio slot, and \_S5), and a MADT (a LAPIC
 * per vCPU, one IOAPIC). Built into a blob placed at LAYOUT_ACPI_START.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "arch/x86/layout.h"

#define ACPI_MAX_VIRTIO 16
#define ACPI_BLOB_MAX (LAYOUT_ACPI_END - LAYOUT_ACPI_START)

struct acpi_virtio_dev {
	uint64_t base;
	uint32_t size;
	uint32_t gsi;
};

struct acpi_config {
	unsigned n_vcpus;
	struct acpi_virtio_dev virtio[ACPI_MAX_VIRTIO];
	unsigned n_virtio;
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
/* The address the RSDP ends up at in guest memory. */
static inline uint64_t acpi_rsdp_addr(const struct acpi_tables *t)
{
	return LAYOUT_ACPI_START + t->offset[ACPI_TABLE_RSDP];
}
