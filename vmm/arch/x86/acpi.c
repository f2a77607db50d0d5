#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "arch/x86/acpi.h"
#include "arch/x86/aml.h"
#include "string-table.h"

#define ACPI_HEADER_LEN 36
#define ACPI_OEM_ID "MVIRT "
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
	memcpy(t + 10, ACPI_OEM_ID, 6);
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

/* Device(name) { _HID LNRO0005, _UID uid, _CRS { the window, the interrupt } [, _STA] } */
static void virtio_device(struct aml_buf *scope, const char *name, unsigned uid,
	const struct acpi_virtio_dev *d, const struct aml_buf *sta)
{
	struct aml_buf dev, v, res;

	aml_buf_init(&dev);
	aml_buf_init(&v);
	aml_string(&v, "LNRO0005");
	aml_name(&dev, "_HID", &v);
	aml_buf_done(&v);
	aml_integer(&v, uid);
	aml_name(&dev, "_UID", &v);
	aml_buf_done(&v);
	aml_buf_init(&res);
	aml_res_memory32_fixed(&res, (uint32_t)d->base, d->size, true);
	aml_res_interrupt(&res, d->gsi, true, false, sta != NULL);
	aml_res_end(&res);
	aml_buffer(&v, &res);
	aml_name(&dev, "_CRS", &v);
	if (sta)
		aml_method(&dev, "_STA", 0, sta);
	aml_device(scope, name, &dev);
	aml_buf_done(&res);
	aml_buf_done(&v);
	aml_buf_done(&dev);
}

static void dsdt_slot(struct aml_buf *sb, unsigned i, const struct acpi_virtio_dev *d)
{
	char name[8];

	/* Two digits: the slots are far fewer than 100 (and -O1 sees the bound). */
	snprintf(name, sizeof(name), "VR%02u", i % 100u);
	virtio_device(sb, name, i, d, NULL);
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

/* The names of slot i: its block's OEM table id and its device. */
static void slot_names(unsigned i, char table_id[9], char device[8])
{
	snprintf(table_id, 9, "MVHP%02u  ", i % 100u);
	snprintf(device, 8, "HP%02u", i % 100u);
}

/* If (LEqual(Local0, value)) { body } */
static void if_local0_is(struct aml_buf *b, uint32_t value, const struct aml_buf *body)
{
	struct aml_buf l0, v, pred;

	aml_buf_init(&l0);
	aml_buf_init(&v);
	aml_buf_init(&pred);
	aml_local(&l0, 0);
	aml_integer(&v, value);
	aml_lequal(&pred, &l0, &v);
	aml_if(b, &pred, body);
	aml_buf_done(&l0);
	aml_buf_done(&v);
	aml_buf_done(&pred);
}

/*
 * The dynamic model's part of the GED: the controller's registers and the loop _EVT runs
 * for LAYOUT_HOTPLUG_GSI:
 *   While (One) {
 *     Store (HCMD, Local0)
 *     If (LEqual (Local0, Zero)) { Break }
 *     If (LEqual (Local0, 0x10000)) { LoadTable ("MVHP", "MVIRT ", "MVHP00  ", "", "", Zero) }
 *     If (LEqual (Local0, 0x30000)) { Notify (\_SB.HP00, 3) }
 *     ...
 *   }
 */
static void ged_hotplug(struct aml_buf *ged, unsigned n_slots, struct aml_buf *loop)
{
	static const char *const regs[] = { "HCMD", "HEN0", "HEN1" };
	struct aml_buf body, v, l0, one;

	aml_buf_init(&body);
	aml_buf_init(&v);
	aml_buf_init(&l0);
	aml_buf_init(&one);
	aml_operation_region(ged, "HPIO", AML_SYSTEM_IO, LAYOUT_HOTPLUG_PORT, ACPI_HOTPLUG_PORTS);
	aml_field_dwords(ged, "HPIO", regs, 3);
	aml_local(&l0, 0);
	aml_name_string(&v, "HCMD");
	aml_store(&body, &v, &l0);
	aml_buf_done(&v);
	aml_break(&v);
	if_local0_is(&body, 0, &v);
	aml_buf_done(&v);
	for (unsigned i = 0; i < n_slots; i++) {
		char table_id[9], device[8], path[16];

		slot_names(i, table_id, device);
		aml_load_table(&v, ACPI_SLOT_TABLE_SIGNATURE, ACPI_OEM_ID, table_id);
		if_local0_is(&body, ACPI_HOTPLUG_REQUEST(ACPI_HOTPLUG_OP_LOAD, i), &v);
		aml_buf_done(&v);
		snprintf(path, sizeof(path), "\\_SB.%s", device);
		aml_notify(&v, path, 3); /* eject request */
		if_local0_is(&body, ACPI_HOTPLUG_REQUEST(ACPI_HOTPLUG_OP_EJECT, i), &v);
		aml_buf_done(&v);
	}
	aml_integer(&one, 1);
	aml_while(loop, &one, &body);
	aml_buf_done(&body);
	aml_buf_done(&l0);
	aml_buf_done(&one);
}

/*
 * The power button of a hardware-reduced platform: a PNP0C0C device, and a
 * Generic Event Device (ACPI0013) whose edge interrupt LAYOUT_GED_GSI runs
 * _EVT, which notifies the button (0x80: pressed). system_powerdown raises that
 * GSI. In the dynamic model the GED has a second, level interrupt for
 * hot-plug requests (ged_hotplug), and _EVT tells the two apart by its
 * argument, the GSI.
 */
static void dsdt_ged(struct aml_buf *sb, unsigned n_hotplug)
{
	struct aml_buf dev, v, res, body, loop, arg, gsi;

	aml_buf_init(&dev);
	aml_buf_init(&v);
	aml_buf_init(&res);
	aml_buf_init(&body);
	aml_buf_init(&loop);
	aml_buf_init(&arg);
	aml_buf_init(&gsi);
	dsdt_ids(&dev, "PNP0C0C", 0);
	aml_device(sb, "PWRB", &dev);
	aml_buf_done(&dev);
	dsdt_ids(&dev, "ACPI0013", 0);
	aml_res_interrupt(&res, LAYOUT_GED_GSI, true, false, false);
	if (n_hotplug)
		aml_res_interrupt(&res, LAYOUT_HOTPLUG_GSI, false, false, false);
	aml_res_end(&res);
	aml_buffer(&v, &res);
	aml_name(&dev, "_CRS", &v);
	if (!n_hotplug) {
		aml_notify(&body, "\\_SB.PWRB", 0x80);
	} else {
		struct aml_buf pred, notify;

		aml_buf_init(&pred);
		aml_buf_init(&notify);
		ged_hotplug(&dev, n_hotplug, &loop);
		aml_arg(&arg, 0);
		aml_integer(&gsi, LAYOUT_GED_GSI);
		aml_lequal(&pred, &arg, &gsi);
		aml_notify(&notify, "\\_SB.PWRB", 0x80);
		aml_if(&body, &pred, &notify);
		aml_buf_done(&pred);
		aml_buf_done(&gsi);
		aml_integer(&gsi, LAYOUT_HOTPLUG_GSI);
		aml_lequal(&pred, &arg, &gsi);
		aml_if(&body, &pred, &loop);
		aml_buf_done(&pred);
		aml_buf_done(&notify);
	}
	aml_method(&dev, "_EVT", 1, &body);
	aml_device(sb, "GED0", &dev);
	aml_buf_done(&dev);
	aml_buf_done(&v);
	aml_buf_done(&res);
	aml_buf_done(&body);
	aml_buf_done(&loop);
	aml_buf_done(&arg);
	aml_buf_done(&gsi);
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
	dsdt_ged(&sb, cfg->n_hotplug);
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

/* The XSDT lists the FADT, the MADT and, in the dynamic model, each slot's block. */
static int xsdt_rsdp_build(const struct acpi_config *cfg, struct acpi_tables *ts)
{
	static const enum acpi_table entries[] = { ACPI_TABLE_FACP, ACPI_TABLE_APIC };
	size_t n = sizeof(entries) / sizeof(entries[0]);
	size_t len = ACPI_HEADER_LEN + 8 * (n + cfg->n_hotplug);
	uint8_t *t = table_alloc(ts, ACPI_TABLE_XSDT, len), *rsdp;

	if (!t)
		return -E2BIG;
	header_fill(t, "XSDT", len, 1);
	for (size_t i = 0; i < n; i++)
		put64(t + ACPI_HEADER_LEN + 8 * i, table_addr(ts, entries[i]));
	for (unsigned i = 0; i < cfg->n_hotplug; i++)
		put64(t + ACPI_HEADER_LEN + 8 * (n + i), acpi_slot_table_addr(i));
	t[9] = checksum(t, len);
	rsdp = ts->blob + ts->offset[ACPI_TABLE_RSDP];
	memcpy(rsdp, "RSD PTR ", 8);
	memcpy(rsdp + 9, ACPI_OEM_ID, 6);
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

	if (cfg->n_vcpus < 1 || cfg->n_vcpus > 255 || cfg->n_virtio > ACPI_MAX_VIRTIO ||
		cfg->n_hotplug > ACPI_MAX_HOTPLUG)
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
		r = xsdt_rsdp_build(cfg, ret);
	return r;
}

int acpi_build_slot_table(unsigned slot, const struct acpi_virtio_dev *d, uint8_t *buf,
	size_t size)
{
	struct aml_buf aml, sb, sta, reg, bit, cond, v;
	char device[8], table_id[9];
	size_t len;
	int r;

	aml_buf_init(&aml);
	aml_buf_init(&sb);
	aml_buf_init(&sta);
	aml_buf_init(&reg);
	aml_buf_init(&bit);
	aml_buf_init(&cond);
	aml_buf_init(&v);
	slot_names(slot, table_id, device);
	/* _STA: If (And (\_SB.GED0.HENn, bit)) { Return (0x0F) } Return (0x0D) */
	aml_name_string(&reg, slot < 32 ? "\\_SB.GED0.HEN0" : "\\_SB.GED0.HEN1");
	aml_integer(&bit, 1ULL << (slot % 32));
	aml_and(&cond, &reg, &bit);
	aml_buf_done(&reg);
	aml_integer(&v, ACPI_STA_PLUGGED);
	aml_return(&reg, &v); /* reg, emptied, is now the If's body */
	aml_if(&sta, &cond, &reg);
	aml_buf_done(&v);
	aml_integer(&v, ACPI_STA_EJECT_REQUESTED);
	aml_return(&sta, &v);
	/* HP00..HP39 beside the DSDT's names; the _UID tells the slot too. */
	virtio_device(&sb, device, slot, d, &sta);
	aml_scope(&aml, "\\_SB", &sb);
	r = aml_buf_error(&aml);
	len = ACPI_HEADER_LEN + aml.len;
	if (r == 0 && len > size)
		r = -E2BIG;
	if (r == 0) {
		memset(buf, 0, len);
		header_fill(buf, ACPI_SLOT_TABLE_SIGNATURE, (uint32_t)len, 2);
		/* LoadTable() finds each slot's block by its OEM table id. */
		memcpy(buf + 16, table_id, 8);
		memcpy(buf + ACPI_HEADER_LEN, aml.data, aml.len);
		buf[9] = checksum(buf, len);
	}
	aml_buf_done(&aml);
	aml_buf_done(&sb);
	aml_buf_done(&sta);
	aml_buf_done(&reg);
	aml_buf_done(&bit);
	aml_buf_done(&cond);
	aml_buf_done(&v);
	return r < 0 ? r : (int)len;
}
