#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "log.h"

static int capture[2];

static const char *captured(void)
{
	static char buf[4096];
	ssize_t n = read(capture[0], buf, sizeof(buf) - 1);

	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static void test_errno_is_returned_negative_and_printed(void **state)
{
	log_set_ident("test");
	assert_int_equal(log_error_errno(ENOENT, "Failed to open %s: %m", "x.img"), -ENOENT);
	assert_string_equal(captured(), "test: error: Failed to open x.img: No such file or directory\n");
	assert_int_equal(log_error_errno(-EACCES, "denied"), -EACCES);
	captured();
}

static void test_level_filters(void **state)
{
	log_set_level(LOG_LEVEL_WARNING);
	log_info("hidden");
	log_warning("shown");
	assert_string_equal(captured(), "test: warning: shown\n");
	log_set_level(LOG_LEVEL_INFO);
}

static void test_level_strings_round_trip(void **state)
{
	for (int i = 0; i < _LOG_LEVEL_MAX; i++)
		assert_int_equal(log_level_from_string(log_level_to_string(i)), i);
	assert_int_equal(log_level_from_string("loud"), _LOG_LEVEL_INVALID);
	assert_null(log_level_to_string(_LOG_LEVEL_MAX));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_errno_is_returned_negative_and_printed),
		cmocka_unit_test(test_level_filters),
		cmocka_unit_test(test_level_strings_round_trip),
	};

	if (pipe(capture) < 0)
		return 1;
	log_set_fd(capture[1]);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
