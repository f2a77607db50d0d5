/* The ACPI tables: checksums, links between tables, the slots and \_S5 in the DSDT. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <errno.h>
#include <cmocka.h>

#include "arch/x86/acpi.h"

static uint8_t sum(const uint8_t *p, size_t len)
{
	uint8_t s = 0;

	for (size_t i = 0; i < len; i++)
		s += p[i];
	return s;
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static const uint8_t *at(const struct acpi_tables *t, uint64_t addr)
{
	assert_true(addr >= LAYOUT_ACPI_START && addr < LAYOUT_ACPI_START + t->len);
	return t->blob + (addr - LAYOUT_ACPI_START);
}

static unsigned count(const uint8_t *p, size_t len, const char *needle)
{
	unsigned n = 0;

	for (size_t i = 0; i + strlen(needle) <= len; i++)
		n += memcmp(p + i, needle, strlen(needle)) == 0;
	return n;
}

static void build(struct acpi_tables *t, unsigned n_vcpus, unsigned n_virtio)
{
	struct acpi_config cfg = { .n_vcpus = n_vcpus, .n_virtio = n_virtio };

	for (unsigned i = 0; i < n_virtio; i++)
		cfg.virtio[i] = (struct acpi_virtio_dev){ 0xd0000000 + i * 0x1000, 0x1000, 5 + i };
	assert_int_equal(acpi_build(&cfg, t), 0);
}

static void test_links_and_checksums(void **state)
{
	struct acpi_tables *t = malloc(sizeof(*t));
	const uint8_t *rsdp, *xsdt, *fadt, *dsdt, *madt;

	build(t, 2, 8);
	rsdp = t->blob + t->offset[ACPI_TABLE_RSDP];
	assert_int_equal(acpi_rsdp_addr(t) % 16, 0);
	assert_memory_equal(rsdp, "RSD PTR ", 8);
	assert_int_equal(sum(rsdp, 20), 0);
	assert_int_equal(sum(rsdp, 36), 0);
	xsdt = at(t, get64(rsdp + 24));
	assert_memory_equal(xsdt, "XSDT", 4);
	assert_int_equal(sum(xsdt, get32(xsdt + 4)), 0);
	assert_int_equal(get32(xsdt + 4), 36 + 16);
	fadt = at(t, get64(xsdt + 36));
	madt = at(t, get64(xsdt + 44));
	assert_memory_equal(fadt, "FACP", 4);
	assert_memory_equal(madt, "APIC", 4);
	assert_int_equal(sum(fadt, get32(fadt + 4)), 0);
	assert_int_equal(sum(madt, get32(madt + 4)), 0);
	assert_true(get32(fadt + 112) & (1u << 20)); /* HW_REDUCED_ACPI */
	assert_int_equal(fadt[244], 1);                /* SLEEP_CONTROL_REG in I/O space */
	assert_int_equal(get64(fadt + 248), LAYOUT_SLEEP_CTL_PORT);
	dsdt = at(t, get64(fadt + 140));
	assert_memory_equal(dsdt, "DSDT", 4);
	assert_int_equal(sum(dsdt, get32(dsdt + 4)), 0);
	assert_int_equal(count(dsdt, get32(dsdt + 4), "LNRO0005"), 8);
	assert_int_equal(count(dsdt, get32(dsdt + 4), "_S5_"), 1);
	/* Two LAPIC entries, one IOAPIC, one LAPIC NMI. */
	assert_int_equal(get32(madt + 4), 44 + 2 * 8 + 12 + 6);
	assert_true(t->len <= ACPI_BLOB_MAX);
	free(t);
}

static void test_limits(void **state)
{
	struct acpi_tables *t = malloc(sizeof(*t));
	struct acpi_config cfg = { .n_vcpus = 0 };

	assert_int_equal(acpi_build(&cfg, t), -EINVAL);
	cfg.n_vcpus = 1;
	cfg.n_virtio = ACPI_MAX_VIRTIO + 1;
	assert_int_equal(acpi_build(&cfg, t), -EINVAL);
	build(t, 32, ACPI_MAX_VIRTIO);
	assert_string_equal(acpi_table_to_string(ACPI_TABLE_FACP), "FACP");
	assert_null(acpi_table_to_string(_ACPI_TABLE_MAX));
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_links_and_checksums),
		cmocka_unit_test(test_limits),
	};

	return cmocka_run_group_tests_name("acpi", tests, NULL, NULL);
}
