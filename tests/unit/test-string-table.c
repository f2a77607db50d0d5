#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "qmp-error.h"
#include "string-table.h"

enum colour {
	COLOUR_RED,
	COLOUR_GREEN,
	COLOUR_UNNAMED, /* a hole in the table */
	COLOUR_BLUE,
	_COLOUR_MAX,
	_COLOUR_INVALID = -1,
};

static const char *const colour_table[_COLOUR_MAX] = {
	[COLOUR_RED] = "red",
	[COLOUR_GREEN] = "green",
	[COLOUR_BLUE] = "blue",
};

const char *colour_to_string(enum colour c);
enum colour colour_from_string(const char *s);
DEFINE_STRING_TABLE(colour, enum colour, _COLOUR_MAX);

static void test_round_trip(void **state)
{
	for (int i = 0; i < _COLOUR_MAX; i++) {
		if (i == COLOUR_UNNAMED)
			continue;
		assert_non_null(colour_to_string(i));
		assert_int_equal(colour_from_string(colour_to_string(i)), i);
	}
	assert_string_equal(colour_to_string(COLOUR_BLUE), "blue");
}

static void test_out_of_range(void **state)
{
	assert_null(colour_to_string(_COLOUR_MAX));
	assert_null(colour_to_string(_COLOUR_INVALID));
	assert_null(colour_to_string(COLOUR_UNNAMED));
	assert_int_equal(colour_from_string(NULL), _COLOUR_INVALID);
	assert_int_equal(colour_from_string(""), _COLOUR_INVALID);
	assert_int_equal(colour_from_string("Red"), _COLOUR_INVALID);
	assert_int_equal(colour_from_string("purple"), _COLOUR_INVALID);
}

/* The QMP classes are wire format: their spelling must stay QEMU's. */
static void test_qmp_error_class(void **state)
{
	for (int i = 0; i < _QMP_ERROR_CLASS_MAX; i++) {
		assert_non_null(qmp_error_class_to_string(i));
		assert_int_equal(qmp_error_class_from_string(qmp_error_class_to_string(i)), i);
	}
	assert_string_equal(qmp_error_class_to_string(QMP_ERROR_GENERIC), "GenericError");
	assert_string_equal(qmp_error_class_to_string(QMP_ERROR_COMMAND_NOT_FOUND),
			    "CommandNotFound");
	assert_string_equal(qmp_error_class_to_string(QMP_ERROR_DEVICE_NOT_FOUND),
			    "DeviceNotFound");
	assert_int_equal(qmp_error_class_from_string("KVMMissingCap"), _QMP_ERROR_CLASS_INVALID);
	assert_null(qmp_error_class_to_string(_QMP_ERROR_CLASS_MAX));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_out_of_range),
		cmocka_unit_test(test_qmp_error_class),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
