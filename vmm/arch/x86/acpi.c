#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "arch/x86/acpi.h"
#include "arch/x86/aml.h"
#include "string-table.h"

#define ACPI_HEADER_LEN 36
#define FADT_LEN 276
#define FADT_HW_REDUCED (1u << 20)
#define IAPC_VGA_NOT_PRESENT (1u << 2)
#define IAPC_CMOS_RTC_NOT_PRESENT (1u << 5)
#define MADT_PCAT_COMPAT 1u
#define GAS_SYSTEM_IO 1

static const char *const acpi_table_table[_ACPI_TABLE_MAX] = {
	[ACPI_TABLE_RSDP] = "RSDP", [ACPI_TABLE_DSDT] = "DSDT", [ACPI_TABLE_FACP] = "FACP",
	[ACPI_TABLE_APIC] = "APIC", [ACPI_TABLE_XSDT] = "XSDT",
};

DEFINE_STRING_TABLE_TO_STRING(acpi_table, enum acpi_table, _ACPI_TABLE_MAX);

static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

static uint8_t checksum(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;

	for (size_t i = 0; i < len; i++)
		sum += p[i];
	return (uint8_t)-sum;
}

static void header_fill(uint8_t *t, const char *sig, uint32_t len, uint8_t rev)
{
	memcpy(t, sig, 4);
	put32(t + 4, len);
	t[8] = rev;
	memcpy(t + 10, "MVIRT ", 6);
	memcpy(t + 16, "MVIRTVM ", 8);
	put32(t + 24, 1);
	memcpy(t + 28, "MVRT", 4);
	put32(t + 32, 1);
}

/* Reserves len bytes, 16-aligned, for table t; NULL when the blob is full. */
static uint8_t *table_alloc(struct acpi_tables *ts, enum acpi_table t, size_t len)
{
	size_t off = (ts->len + 15) & ~(size_t)15;

	if (len > sizeof(ts->blob) - off)
		return NULL;
	ts->offset[t] = off;
	ts->size[t] = len;
	ts->len = off + len;
	return ts->blob + off;
}

static uint64_t table_addr(const struct acpi_tables *ts, enum acpi_table t)
{
	return LAYOUT_ACPI_START + ts->offset[t];
}

static void dsdt_slot(struct aml_buf *sb, unsigned i, const struct acpi_virtio_dev *d)
{
	struct aml_buf dev, v, res;
	char name[8];

	aml_buf_init(&dev);
	aml_buf_init(&v);
	aml_string(&v, "LNRO0005");
	aml_name(&dev, "_HID", &v);
	aml_buf_done(&v);
	aml_integer(&v, i);
	aml_name(&dev, "_UID", &v);
	aml_buf_done(&v);
	aml_buf_init(&res);
	aml_res_memory32_fixed(&res, (uint32_t)d->base, d->size, true);
	aml_res_interrupt(&res, d->gsi, true, false);
	aml_res_end(&res);
	aml_buffer(&v, &res);
	aml_name(&dev, "_CRS", &v);
	/* Two digits: the slots are far fewer than 100 (and -O1 sees the bound). */
	snprintf(name, sizeof(name), "VR%02u", i % 100u);
	aml_device(sb, name, &dev);
	aml_buf_done(&res);
	aml_buf_done(&v);
	aml_buf_done(&dev);
}

/* Sets Name(_HID, hid) and Name(_UID, uid) in a device body. */
static void dsdt_ids(struct aml_buf *dev, const char *hid, unsigned uid)
{
	struct aml_buf v;

	aml_buf_init(&v);
	aml_string(&v, hid);
	aml_name(dev, "_HID", &v);
	aml_buf_done(&v);
	aml_integer(&v, uid);
	aml_name(dev, "_UID", &v);
	aml_buf_done(&v);
}

/*
 * COM1 (PNP0501) with its ports and IRQ. A hardware-reduced platform has no
 * legacy devices to assume: Linux registers ttyS0 at 0x3f8 from its own table,
 * but gives it an interrupt only from this description; without it, every
 * write of userspace to the console fails with EIO (kernel printk still shows).
 */
static void dsdt_serial(struct aml_buf *sb)
{
	struct aml_buf dev, v, res;

	aml_buf_init(&dev);
	aml_buf_init(&v);
	aml_buf_init(&res);
	dsdt_ids(&dev, "PNP0501", 0);
	aml_res_io(&res, LAYOUT_SERIAL_PORT, 8);
	aml_res_irq(&res, LAYOUT_SERIAL_GSI);
	aml_res_end(&res);
	aml_buffer(&v, &res);
	aml_name(&dev, "_CRS", &v);
	aml_device(sb, "COM1", &dev);
	aml_buf_done(&dev);
	aml_buf_done(&v);
	aml_buf_done(&res);
}

/*
 * The power button of a hardware-reduced platform: a PNP0C0C device, and a
 * Generic Event Device (ACPI0013) whose one edge interrupt runs _EVT, which
 * notifies the button (0x80: pressed). system_powerdown raises that GSI; the
 * GED has no other event, so _EVT needs no event register to read.
 */
static void dsdt_power_button(struct aml_buf *sb)
{
	struct aml_buf dev, v, res, body;

	aml_buf_init(&dev);
	aml_buf_init(&v);
	aml_buf_init(&res);
	aml_buf_init(&body);
	dsdt_ids(&dev, "PNP0C0C", 0);
	aml_device(sb, "PWRB", &dev);
	aml_buf_done(&dev);
	dsdt_ids(&dev, "ACPI0013", 0);
	aml_res_interrupt(&res, LAYOUT_GED_GSI, true, false);
	aml_res_end(&res);
	aml_buffer(&v, &res);
	aml_name(&dev, "_CRS", &v);
	aml_notify(&body, "\\_SB.PWRB", 0x80);
	aml_method(&dev, "_EVT", 1, &body);
	aml_device(sb, "GED0", &dev);
	aml_buf_done(&dev);
	aml_buf_done(&v);
	aml_buf_done(&res);
	aml_buf_done(&body);
}

static int dsdt_build(const struct acpi_config *cfg, struct acpi_tables *ts)
{
	struct aml_buf aml, sb, v, pkg;
	uint8_t *t;
	int r;

	aml_buf_init(&aml);
	aml_buf_init(&sb);
	aml_buf_init(&v);
	aml_buf_init(&pkg);
	for (unsigned i = 0; i < cfg->n_virtio; i++)
		dsdt_slot(&sb, i, &cfg->virtio[i]);
	dsdt_serial(&sb);
	dsdt_power_button(&sb);
	aml_scope(&aml, "\\_SB", &sb);
	/* \_S5: SLP_TYPa, SLP_TYPb; the guest writes SLP_TYPa | SLP_EN to SLEEP_CONTROL_REG. */
	aml_integer(&pkg, LAYOUT_S5_SLP_TYP);
	aml_integer(&pkg, LAYOUT_S5_SLP_TYP);
	aml_integer(&pkg, 0);
	aml_integer(&pkg, 0);
	aml_package(&v, 4, &pkg);
	aml_name(&aml, "\\_S5", &v);
	r = aml_buf_error(&aml);
	t = r < 0 ? NULL : table_alloc(ts, ACPI_TABLE_DSDT, ACPI_HEADER_LEN + aml.len);
	if (t) {
		header_fill(t, "DSDT", ACPI_HEADER_LEN + aml.len, 2);
		memcpy(t + ACPI_HEADER_LEN, aml.data, aml.len);
		t[9] = checksum(t, ACPI_HEADER_LEN + aml.len);
	} else if (r == 0) {
		r = -E2BIG;
	}
	aml_buf_done(&aml);
	aml_buf_done(&sb);
	aml_buf_done(&v);
	aml_buf_done(&pkg);
	return r;
}

static void gas_io8(uint8_t *g, uint16_t port)
{
	g[0] = GAS_SYSTEM_IO;
	g[1] = 8;
	g[2] = 0;
	g[3] = 1; /* byte access */
	put64(g + 4, port);
}

static int fadt_build(struct acpi_tables *ts)
{
	uint8_t *t = table_alloc(ts, ACPI_TABLE_FACP, FADT_LEN);

	if (!t)
		return -E2BIG;
	header_fill(t, "FACP", FADT_LEN, 6);
	put32(t + 40, (uint32_t)table_addr(ts, ACPI_TABLE_DSDT));
	/* No CMOS RTC at ports 0x70/0x71: without this flag Linux probes one anyway, reads
	 * 0xff (update in progress) and spins in mc146818_avoid_UIP, seconds of boot. */
	put16(t + 109, IAPC_VGA_NOT_PRESENT | IAPC_CMOS_RTC_NOT_PRESENT);
	put32(t + 112, FADT_HW_REDUCED);
	t[131] = 5; /* FADT minor version: ACPI 6.5 */
	put64(t + 140, table_addr(ts, ACPI_TABLE_DSDT));
	gas_io8(t + 244, LAYOUT_SLEEP_CTL_PORT);
	gas_io8(t + 256, LAYOUT_SLEEP_STS_PORT);
	memcpy(t + 268, "MVIRTKVM", 8);
	t[9] = checksum(t, FADT_LEN);
	return 0;
}

static int madt_build(const struct acpi_config *cfg, struct acpi_tables *ts)
{
	size_t len = ACPI_HEADER_LEN + 8 + cfg->n_vcpus * 8 + 12 + 6;
	uint8_t *t = table_alloc(ts, ACPI_TABLE_APIC, len), *e;

	if (!t)
		return -E2BIG;
	header_fill(t, "APIC", len, 5);
	put32(t + 36, (uint32_t)LAYOUT_LAPIC);
	put32(t + 40, MADT_PCAT_COMPAT);
	e = t + 44;
	for (unsigned i = 0; i < cfg->n_vcpus; i++, e += 8) {
		e[0] = 0; /* Processor Local APIC */
		e[1] = 8;
		e[2] = (uint8_t)i;
		e[3] = (uint8_t)i;
		put32(e + 4, 1); /* enabled */
	}
	e[0] = 1; /* I/O APIC */
	e[1] = 12;
	e[2] = 0;
	e[3] = 0;
	put32(e + 4, (uint32_t)LAYOUT_IOAPIC);
	put32(e + 8, 0);
	e += 12;
	e[0] = 4; /* Local APIC NMI on LINT1 of every processor */
	e[1] = 6;
	e[2] = 0xff;
	put16(e + 3, 0);
	e[5] = 1;
	t[9] = checksum(t, len);
	return 0;
}

static int xsdt_rsdp_build(struct acpi_tables *ts)
{
	static const enum acpi_table entries[] = { ACPI_TABLE_FACP, ACPI_TABLE_APIC };
	size_t len = ACPI_HEADER_LEN + 8 * (sizeof(entries) / sizeof(entries[0]));
	uint8_t *t = table_alloc(ts, ACPI_TABLE_XSDT, len), *rsdp;

	if (!t)
		return -E2BIG;
	header_fill(t, "XSDT", len, 1);
	for (size_t i = 0; i < (sizeof(entries) / sizeof(entries[0])); i++)
		put64(t + ACPI_HEADER_LEN + 8 * i, table_addr(ts, entries[i]));
	t[9] = checksum(t, len);
	rsdp = ts->blob + ts->offset[ACPI_TABLE_RSDP];
	memcpy(rsdp, "RSD PTR ", 8);
	memcpy(rsdp + 9, "MVIRT ", 6);
	rsdp[15] = 2;
	put32(rsdp + 20, 36);
	put64(rsdp + 24, table_addr(ts, ACPI_TABLE_XSDT));
	rsdp[8] = checksum(rsdp, 20);
	rsdp[32] = checksum(rsdp, 36);
	return 0;
}

int acpi_build(const struct acpi_config *cfg, struct acpi_tables *ret)
{
	int r;

	if (cfg->n_vcpus < 1 || cfg->n_vcpus > 255 || cfg->n_virtio > ACPI_MAX_VIRTIO)
		return -EINVAL;
	memset(ret, 0, sizeof(*ret));
	/* The RSDP first: Linux scans 0xE0000-0xFFFFF on 16-byte boundaries for it. */
	if (!table_alloc(ret, ACPI_TABLE_RSDP, 36))
		return -E2BIG;
	r = dsdt_build(cfg, ret);
	if (r >= 0)
		r = fadt_build(ret);
	if (r >= 0)
		r = madt_build(cfg, ret);
	if (r >= 0)
		r = xsdt_rsdp_build(ret);
	return r;
}
