#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "mac.h"

static void test_mac_round_trip(void **state)
{
	static const uint8_t want[MAC_LEN] = { 0x52, 0x54, 0x00, 0xab, 0xcd, 0xef };
	uint8_t mac[MAC_LEN];
	char s[MAC_STR_SIZE];

	assert_int_equal(mac_parse("52:54:00:AB:cd:Ef", mac), 0);
	assert_memory_equal(mac, want, MAC_LEN);
	mac_format(mac, s);
	assert_string_equal(s, "52:54:00:ab:cd:ef");
}

/* What one of the four parsers this one replaced let through (sscanf's %2x takes a sign
 * or a space) is refused, and a refused string leaves the output alone. */
static void test_mac_malformed(void **state)
{
	static const char *const bad[] = {
		"", "52:54:00:12:34", "52:54:00:12:34:567", "52:54:00:12:34:56:", "52-54-00-12-34-56",
		"52:54:00:12:34:5g", "52:54:00:12:34: 5", "52:54:00:12:34:+5", "5:254:00:12:34:56",
		"0x:54:00:12:34:56",
	};
	uint8_t mac[MAC_LEN] = { 1, 2, 3, 4, 5, 6 };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(mac_parse(bad[i], mac), -EINVAL);
		assert_memory_equal(mac, "\1\2\3\4\5\6", MAC_LEN);
	}
	assert_int_equal(mac_parse(NULL, mac), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mac_round_trip),
		cmocka_unit_test(test_mac_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
