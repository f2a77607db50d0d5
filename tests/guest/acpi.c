/* ACPI: find the RSDP, validate and walk the XSDT (or RSDT), and read what the probe needs
 * from the FADT (DSDT address, power-off registers) and the MADT (LAPIC, IOAPICs). Every
 * table gets a "PROBE acpi" line with its checksum verdict. Offsets: ACPI 6.4, chapter 5. */
#include "probe.h"

#define HDR_LEN 36
#define FADT_DSDT 40
#define FADT_PM1A_CNT 64
#define FADT_FLAGS 112
#define FADT_X_DSDT 140
#define FADT_X_PM1A_CNT 172
#define FADT_SLEEP_CTL 244
#define FADT_HW_REDUCED (1u << 20)
#define MADT_LAPIC_ADDR 36
#define MADT_ENTRIES 44

struct acpi_info acpi;

static bool checksum_ok(const uint8_t *p, uint32_t len)
{
	uint8_t sum = 0;

	for (uint32_t i = 0; i < len; i++)
		sum += p[i];
	return sum == 0;
}

static void report_table(const char *sig, uint64_t addr, uint32_t len, bool ok)
{
	char name[5];

	memcpy(name, sig, 4);
	name[4] = '\0';
	for (int i = 0; i < 4; i++)
		if (name[i] < ' ' || name[i] > '~')
			name[i] = '?';
	out_begin("acpi");
	out_str("table", name);
	out_dec("len", len);
	out_dec("ok", ok);
	out_hex("addr", addr);
	out_end();
}

/* Validates a table at addr: reports it and returns its length, 0 when it is unusable. */
static uint32_t table_check(uint64_t addr)
{
	const uint8_t *t = (const uint8_t *)addr;
	uint32_t len;
	bool ok;

	if (!addr || addr >= 0x100000000ULL)
		return 0;
	len = load_le32(t + 4);
	ok = len >= HDR_LEN && len < (1u << 20) && checksum_ok(t, len);
	report_table((const char *)t, addr, len, ok);
	return ok ? len : 0;
}

static bool rsdp_valid(const uint8_t *p)
{
	if (memcmp(p, "RSD PTR ", 8) || !checksum_ok(p, 20))
		return false;
	return p[15] < 2 || checksum_ok(p, 36);
}

/* Without a pointer from the loader, Linux scans the BIOS area 0xE0000-0xFFFFF on 16-byte
 * boundaries; so do we (4 k steps of a few instructions). */
static uint64_t rsdp_scan(void)
{
	for (uint64_t a = 0xe0000; a < 0x100000; a += 16)
		if (!memcmp((const void *)a, "RSD PTR ", 8) && rsdp_valid((const uint8_t *)a))
			return a;
	return 0;
}

static void read_gas(const uint8_t *g, struct gas *ret)
{
	ret->space = g[0];
	ret->bit_width = g[1];
	ret->addr = load_le64(g + 4);
}

static void fadt_read(const uint8_t *t, uint32_t len)
{
	uint64_t dsdt = load_le32(t + FADT_DSDT);
	uint32_t flags = len > FADT_FLAGS + 4 ? load_le32(t + FADT_FLAGS) : 0;

	if (len >= FADT_X_DSDT + 8 && load_le64(t + FADT_X_DSDT))
		dsdt = load_le64(t + FADT_X_DSDT);
	acpi.hw_reduced = flags & FADT_HW_REDUCED;
	if (len >= FADT_SLEEP_CTL + 12 && load_le64(t + FADT_SLEEP_CTL + 4))
		read_gas(t + FADT_SLEEP_CTL, &acpi.sleep_ctl);
	if (len >= FADT_X_PM1A_CNT + 12 && load_le64(t + FADT_X_PM1A_CNT + 4))
		read_gas(t + FADT_X_PM1A_CNT, &acpi.pm1a_cnt);
	else if (load_le32(t + FADT_PM1A_CNT))
		acpi.pm1a_cnt = (struct gas){ .space = 1, .bit_width = 16,
			.addr = load_le32(t + FADT_PM1A_CNT) };
	out_begin("fadt");
	out_dec("hw_reduced", acpi.hw_reduced);
	out_dec("sleep_ctl", acpi.sleep_ctl.space != 0xff);
	out_hex("dsdt", dsdt);
	out_end();
	if (table_check(dsdt)) {
		acpi.dsdt = (const uint8_t *)dsdt;
		acpi.dsdt_len = load_le32(acpi.dsdt + 4);
	}
}

static void madt_ioapic(const uint8_t *e)
{
	struct ioapic_info *io;

	if (acpi.n_ioapics >= PROBE_MAX_IOAPICS)
		return;
	io = &acpi.ioapic[acpi.n_ioapics++];
	io->id = e[2];
	io->addr = load_le32(e + 4);
	io->gsi_base = load_le32(e + 8);
	out_begin("ioapic");
	out_dec("id", io->id);
	out_hex("addr", io->addr);
	out_dec("gsi_base", io->gsi_base);
	out_end();
}

static void madt_read(const uint8_t *t, uint32_t len)
{
	acpi.lapic_addr = load_le32(t + MADT_LAPIC_ADDR);
	for (uint32_t off = MADT_ENTRIES; off + 2 <= len && t[off + 1] >= 2; off += t[off + 1]) {
		const uint8_t *e = t + off;

		if (e[0] == 0 && (load_le32(e + 4) & 1)) /* enabled processor local APIC */
			acpi.n_lapics++;
		else if (e[0] == 1)
			madt_ioapic(e);
		else if (e[0] == 5) /* local APIC address override */
			acpi.lapic_addr = load_le64(e + 4);
	}
	out_begin("madt");
	out_hex("lapic", acpi.lapic_addr);
	out_dec("cpus", acpi.n_lapics);
	out_dec("ioapics", acpi.n_ioapics);
	out_end();
}

static void table_use(uint64_t addr)
{
	const uint8_t *t = (const uint8_t *)addr;
	uint32_t len = table_check(addr);

	if (!len)
		return;
	if (!memcmp(t, "FACP", 4))
		fadt_read(t, len);
	else if (!memcmp(t, "APIC", 4))
		madt_read(t, len);
}

/* Walks the XSDT (8-byte entries) or, for ACPI 1.0, the RSDT (4-byte entries). */
static void root_walk(uint64_t root, unsigned entry_size)
{
	const uint8_t *t = (const uint8_t *)root;
	uint32_t len = table_check(root);

	for (uint32_t off = HDR_LEN; len && off + entry_size <= len; off += entry_size)
		table_use(entry_size == 8 ? load_le64(t + off) : load_le32(t + off));
}

int acpi_init(uint64_t rsdp_hint)
{
	uint64_t rsdp = rsdp_hint;
	const uint8_t *r;

	acpi.sleep_ctl.space = acpi.pm1a_cnt.space = 0xff;
	acpi.s5_type = -1;
	if (rsdp && !rsdp_valid((const uint8_t *)rsdp)) {
		out_begin("error");
		out_str("what", "bad-rsdp");
		out_hex("addr", rsdp);
		out_end();
		rsdp = 0;
	}
	if (!rsdp)
		rsdp = rsdp_scan();
	if (!rsdp) {
		out_error("no-rsdp");
		return -1;
	}
	r = (const uint8_t *)rsdp;
	out_begin("acpi");
	out_str("table", "RSDP");
	out_dec("len", r[15] >= 2 ? load_le32(r + 20) : 20);
	out_dec("ok", 1);
	out_hex("addr", rsdp);
	out_dec("rev", r[15]);
	out_end();
	if (r[15] >= 2 && load_le64(r + 24))
		root_walk(load_le64(r + 24), 8);
	else
		root_walk(load_le32(r + 16), 4);
	if (!acpi.dsdt) {
		out_error("no-dsdt");
		return -1;
	}
	acpi.s5_type = aml_find_s5(acpi.dsdt, acpi.dsdt_len);
	acpi.has_ged = aml_find_ged(acpi.dsdt, acpi.dsdt_len, &acpi.ged) == 0;
	acpi.n_devs = aml_find_virtio(acpi.dsdt, acpi.dsdt_len, acpi.devs, PROBE_MAX_DEVS);
	return 0;
}
