#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_out_of_range),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
