/* The AML encoder against byte sequences from the ACPI specification's grammar. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <errno.h>
#include <cmocka.h>

#include "arch/x86/aml.h"

static void expect_bytes(const struct aml_buf *b, const uint8_t *want, size_t len)
{
	assert_int_equal(aml_buf_error(b), 0);
	assert_int_equal(b->len, len);
	assert_memory_equal(b->data, want, len);
}

static void test_pkg_length(void **state)
{
	static const struct {
		size_t len;
		uint8_t bytes[4];
		size_t n;
	} cases[] = {
		{ 0, { 0x01 }, 1 },
		{ 0x3e, { 0x3f }, 1 },
		{ 0x3f, { 0x41, 0x04 }, 2 },      /* 0x41 total: lead 0x40|1, then 0x04 */
		{ 0xffd, { 0x4f, 0xff }, 2 },     /* 0xfff total */
		{ 0xffe, { 0x81, 0x00, 0x01 }, 3 }, /* 0x1001 total */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct aml_buf b;

		aml_buf_init(&b);
		aml_pkg_length(&b, cases[i].len);
		expect_bytes(&b, cases[i].bytes, cases[i].n);
		aml_buf_done(&b);
	}
}

static void test_integers(void **state)
{
	static const uint8_t want[] = { 0x00, 0x01, 0x0a, 0x05, 0x0b, 0x34, 0x12,
		0x0c, 0x78, 0x56, 0x34, 0x12, 0x0e, 1, 0, 0, 0, 1, 0, 0, 0 };
	struct aml_buf b;

	aml_buf_init(&b);
	aml_integer(&b, 0);
	aml_integer(&b, 1);
	aml_integer(&b, 5);
	aml_integer(&b, 0x1234);
	aml_integer(&b, 0x12345678);
	aml_integer(&b, 0x100000001ULL);
	expect_bytes(&b, want, sizeof(want));
	aml_buf_done(&b);
}

static void test_names(void **state)
{
	static const uint8_t want[] = { 0x5c, '_', 'S', '5', '_', 0x5c, 0x2e, '_', 'S', 'B',
		'_', 'V', 'R', '0', '0', '_', 'H', 'I', 'D' };
	struct aml_buf b;

	aml_buf_init(&b);
	aml_name_string(&b, "\\_S5");
	aml_name_string(&b, "\\_SB.VR00");
	aml_name_string(&b, "_HID");
	expect_bytes(&b, want, sizeof(want));
	aml_name_string(&b, "TOOLONG");
	assert_int_equal(aml_buf_error(&b), -EINVAL);
	aml_buf_done(&b);
}

/* Fuzzer reproducers: an empty child copies nothing (no memcpy from NULL), and a name with
 * characters ACPI does not allow in a NameSeg is refused whole, writing nothing. */
static void test_empty_child(void **state)
{
	static const uint8_t want[] = { 0x10, 0x06, 0x5c, '_', 'S', 'B', '_' };
	struct aml_buf b, empty;

	aml_buf_init(&b);
	aml_buf_init(&empty);
	aml_scope(&b, "\\_SB", &empty);
	aml_bytes(&b, NULL, 0);
	expect_bytes(&b, want, sizeof(want));
	aml_buf_done(&b);
}

static void test_invalid_names(void **state)
{
	static const char *const bad[] = { "/_SA", "\\\\", "_S\\5", "1ABC", "A^BC", "_SB.^VR0",
		"a_SB", "_SB..VR00", "_SB.", "\\^_SB", "ABC-", "_SB.VR0$" };
	static const uint8_t parent[] = { 0x5e, 0x5e, 'V', 'R', '0', '1' };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct aml_buf b;

		aml_buf_init(&b);
		aml_name_string(&b, bad[i]);
		assert_int_equal(aml_buf_error(&b), -EINVAL);
		assert_int_equal(b.len, 0);
		aml_buf_done(&b);
	}
	{
		struct aml_buf b;

		aml_buf_init(&b);
		aml_name_string(&b, "^^VR01");
		expect_bytes(&b, parent, sizeof(parent));
		aml_buf_done(&b);
	}
}

static void test_name_package(void **state)
{
	/* Name(\_S5, Package(){5, 5, 0, 0}) as iasl compiles it. */
	static const uint8_t want[] = { 0x08, 0x5c, '_', 'S', '5', '_', 0x12, 0x08, 0x04,
		0x0a, 0x05, 0x0a, 0x05, 0x00, 0x00 };
	struct aml_buf b, pkg, v;

	aml_buf_init(&b);
	aml_buf_init(&pkg);
	aml_buf_init(&v);
	aml_integer(&pkg, 5);
	aml_integer(&pkg, 5);
	aml_integer(&pkg, 0);
	aml_integer(&pkg, 0);
	aml_package(&v, 4, &pkg);
	aml_name(&b, "\\_S5", &v);
	expect_bytes(&b, want, sizeof(want));
	aml_buf_done(&b);
	aml_buf_done(&pkg);
	aml_buf_done(&v);
}

static void test_method_notify(void **state)
{
	/* Method(_EVT, 1) { Notify(\_SB.PWRB, 0x80) } as iasl compiles it. */
	static const uint8_t want[] = { 0x14, 0x13, '_', 'E', 'V', 'T', 0x01,
		0x86, 0x5c, 0x2e, '_', 'S', 'B', '_', 'P', 'W', 'R', 'B', 0x0a, 0x80 };
	struct aml_buf b, body;

	aml_buf_init(&b);
	aml_buf_init(&body);
	aml_notify(&body, "\\_SB.PWRB", 0x80);
	aml_method(&b, "_EVT", 1, &body);
	expect_bytes(&b, want, sizeof(want));
	aml_buf_done(&b);
	/* ACPI methods take at most 7 arguments. */
	aml_buf_init(&b);
	aml_method(&b, "_EVT", 8, &body);
	assert_int_equal(aml_buf_error(&b), -EINVAL);
	aml_buf_done(&b);
	aml_buf_done(&body);
}

static void test_device_resources(void **state)
{
	static const uint8_t want[] = { 0x5b, 0x82, 0x25, 'V', 'R', '0', '0',
		0x08, '_', 'C', 'R', 'S', 0x11, 0x1a, 0x0a, 0x17,
		0x86, 0x09, 0x00, 0x01, 0x00, 0x00, 0x00, 0xd0, 0x00, 0x10, 0x00, 0x00,
		0x89, 0x06, 0x00, 0x03, 0x01, 0x05, 0x00, 0x00, 0x00, 0x79, 0x00 };
	struct aml_buf b, res, buf, dev;

	aml_buf_init(&b);
	aml_buf_init(&res);
	aml_buf_init(&buf);
	aml_buf_init(&dev);
	aml_res_memory32_fixed(&res, 0xd0000000, 0x1000, true);
	aml_res_interrupt(&res, 5, true, false, false);
	aml_res_end(&res);
	aml_buffer(&buf, &res);
	aml_name(&dev, "_CRS", &buf);
	aml_device(&b, "VR00", &dev);
	expect_bytes(&b, want, sizeof(want));
	aml_buf_done(&b);
	aml_buf_done(&res);
	aml_buf_done(&buf);
	aml_buf_done(&dev);
}

static void test_legacy_resources(void **state)
{
	/* ResourceTemplate(){ IO(Decode16, 0x3F8, 0x3F8, 0x01, 0x08) IRQNoFlags(){4} }
	 * as iasl compiles it: COM1 in the DSDT. */
	static const uint8_t want[] = { 0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x01, 0x08,
		0x22, 0x10, 0x00, 0x79, 0x00 };
	struct aml_buf res;

	aml_buf_init(&res);
	aml_res_io(&res, 0x3f8, 8);
	aml_res_irq(&res, 4);
	aml_res_end(&res);
	expect_bytes(&res, want, sizeof(want));
	aml_buf_done(&res);
}

static void test_limit(void **state)
{
	static uint8_t big[AML_MAX];
	struct aml_buf b;

	aml_buf_init(&b);
	aml_bytes(&b, big, sizeof(big));
	assert_int_equal(aml_buf_error(&b), 0);
	aml_bytes(&b, big, 1);
	assert_int_equal(aml_buf_error(&b), -E2BIG);
	aml_buf_done(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pkg_length),
		cmocka_unit_test(test_integers),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_empty_child),
		cmocka_unit_test(test_invalid_names),
		cmocka_unit_test(test_name_package),
		cmocka_unit_test(test_method_notify),
		cmocka_unit_test(test_device_resources),
		cmocka_unit_test(test_legacy_resources),
		cmocka_unit_test(test_limit),
	};

	return cmocka_run_group_tests_name("aml", tests, NULL, NULL);
}
