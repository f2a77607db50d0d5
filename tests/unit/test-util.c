#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "cleanup.h"
#include "util.h"

static void test_str_copy(void **state)
{
	char buf[4];

	assert_int_equal(str_copy(buf, sizeof(buf), "abc"), 0);
	assert_string_equal(buf, "abc");
	assert_int_equal(str_copy(buf, sizeof(buf), "abcd"), -ENAMETOOLONG);
	assert_string_equal(buf, "");
}

static void test_parse_u64(void **state)
{
	uint64_t v;

	assert_int_equal(parse_u64("42", &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(parse_u64("0x1f", &v), 0);
	assert_int_equal(v, 0x1f);
	assert_int_equal(parse_u64("-1", &v), -EINVAL);
	assert_int_equal(parse_u64("", &v), -EINVAL);
	assert_int_equal(parse_u64("12x", &v), -EINVAL);
	assert_int_equal(parse_u64("99999999999999999999999", &v), -ERANGE);
}

static void test_parse_size(void **state)
{
	uint64_t v;

	assert_int_equal(parse_size("256M", &v), 0);
	assert_int_equal(v, 256ULL << 20);
	assert_int_equal(parse_size("1g", &v), 0);
	assert_int_equal(v, 1ULL << 30);
	assert_int_equal(parse_size("4096", &v), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(parse_size("M", &v), -EINVAL);
	assert_int_equal(parse_size("99999999999T", &v), -ERANGE);
}

static void test_parse_bool(void **state)
{
	bool b;

	assert_int_equal(parse_bool("on", &b), 0);
	assert_true(b);
	assert_int_equal(parse_bool("false", &b), 0);
	assert_false(b);
	assert_int_equal(parse_bool("maybe", &b), -EINVAL);
}

/* error_set replaces: the newest sentence is the one the caller sees. */
static void test_error_set(void **state)
{
	_cleanup_free_ char *err = NULL;

	assert_int_equal(error_set(NULL, -EIO, "ignored %d", 1), -EIO);
	assert_int_equal(error_set(&err, -EINVAL, "first %d", 1), -EINVAL);
	assert_string_equal(err, "first 1");
	assert_int_equal(error_set(&err, -ENOENT, "second %s", "x"), -ENOENT);
	assert_string_equal(err, "second x");
}

/* error_set_first keeps the cause: a later sentence does not hide the first one. */
static void test_error_set_first(void **state)
{
	_cleanup_free_ char *err = NULL;

	assert_int_equal(error_set_first(NULL, -EIO, "ignored %d", 1), -EIO);
	assert_int_equal(error_set_first(&err, -EINVAL, "first %d", 1), -EINVAL);
	assert_string_equal(err, "first 1");
	assert_int_equal(error_set_first(&err, -ENOENT, "second %s", "x"), -ENOENT);
	assert_string_equal(err, "first 1");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_str_copy),
		cmocka_unit_test(test_parse_u64),
		cmocka_unit_test(test_parse_size),
		cmocka_unit_test(test_parse_bool),
		cmocka_unit_test(test_error_set),
		cmocka_unit_test(test_error_set_first),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
