/* mvirtctl's command line: verbs, options per verb, and virsh's device flags. */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cleanup.h"
#include "client/args.h"

#define PARSE(ret, err, ...)                                                                       \
	({                                                                                         \
		char *argv_[] = { "mvirtctl", __VA_ARGS__, NULL };                                 \
		ctl_args_parse(ELEMENTSOF(argv_) - 1, argv_, (ret), (err));                        \
	})

static void test_every_verb_parses(void **state)
{
	struct ctl_args a;
	char *err;

	assert_int_equal(PARSE(&a, &err, "define", "dom.xml"), 0);
	assert_string_equal(a.verb->name, "define");
	assert_string_equal(a.argv[0], "dom.xml");
	assert_int_equal(a.bus, CTL_BUS_SYSTEM);
	assert_string_equal(a.runtime_dir, "/run/mvirt");
	for (const char *const *v = (const char *const[]){ "undefine", "start", "shutdown",
							   "destroy", "dominfo", "dumpxml",
							   "console", NULL };
	     *v; v++) {
		assert_int_equal(PARSE(&a, &err, (char *)*v, "web1"), 0);
		assert_string_equal(a.verb->name, *v);
		assert_int_equal(a.n_args, 1);
	}
	assert_int_equal(PARSE(&a, &err, "list"), 0);
	assert_int_equal(PARSE(&a, &err, "events"), 0);
	assert_int_equal(PARSE(&a, &err, "events", "web1"), 0);
	assert_int_equal(PARSE(&a, &err, "version"), 0);
	assert_int_equal(PARSE(&a, &err, "attach-device", "web1", "disk.xml"), 0);
	assert_string_equal(a.argv[1], "disk.xml");
	assert_int_equal(PARSE(&a, &err, "detach-device", "web1", "disk.xml"), 0);
	assert_int_equal(PARSE(&a, &err, "detach-device-alias", "web1", "ua-disk1"), 0);
}

static void test_options_anywhere(void **state)
{
	struct ctl_args a;
	char *err;

	assert_int_equal(PARSE(&a, &err, "list", "--all", "--session", "--json"), 0);
	assert_int_equal(a.bus, CTL_BUS_SESSION);
	assert_int_equal(a.options, CTL_OPT_ALL | CTL_OPT_JSON);
	assert_int_equal(PARSE(&a, &err, "--bus-address", "unix:path=/x", "console", "w",
			       "--runtime-dir", "/tmp/rt"), 0);
	assert_int_equal(a.bus, CTL_BUS_ADDRESS);
	assert_string_equal(a.bus_address, "unix:path=/x");
	assert_string_equal(a.runtime_dir, "/tmp/rt");
}

static void expect_usage_error(int r, char **err, const char *needle)
{
	assert_int_equal(r, -EINVAL);
	assert_non_null(*err);
	assert_non_null(strstr(*err, needle));
	free(*err);
	*err = NULL;
}

static void test_usage_errors_name_the_fault(void **state)
{
	struct ctl_args a;
	char *err;

	expect_usage_error(PARSE(&a, &err, "frobnicate"), &err, "'frobnicate'");
	expect_usage_error(PARSE(&a, &err, "list", "--live"), &err, "--live");
	expect_usage_error(PARSE(&a, &err, "start"), &err, "mvirtctl start DOM");
	expect_usage_error(PARSE(&a, &err, "start", "a", "b"), &err, "mvirtctl start DOM");
	expect_usage_error(PARSE(&a, &err, "list", "--bogus"), &err, "Unknown option '--bogus'");
	expect_usage_error(PARSE(&a, &err, "--bus-address"), &err, "'--bus-address' needs a value");
	expect_usage_error(PARSE(&a, &err, "--session"), &err, "No verb");
	expect_usage_error(PARSE(&a, &err, "attach-device", "a", "b", "c"), &err, "Too many");
	expect_usage_error(PARSE(&a, &err, "--json"), &err, "No verb");
}

static void test_help_and_version(void **state)
{
	struct ctl_args a;
	char *err;

	assert_int_equal(PARSE(&a, &err, "--help"), 0);
	assert_true(a.help);
	assert_null(a.verb);
	/* A verb's --help works even without the verb's arguments. */
	assert_int_equal(PARSE(&a, &err, "attach-device", "--help"), 0);
	assert_true(a.help);
	assert_string_equal(a.verb->name, "attach-device");
	assert_int_equal(PARSE(&a, &err, "--version"), 0);
	assert_true(a.version);
}

static uint32_t flags_of(unsigned options, bool running)
{
	uint32_t flags = 0xdead;
	char *err = NULL;

	assert_int_equal(ctl_device_flags(options, running, &flags, &err), 0);
	assert_null(err);
	return flags;
}

static void test_device_flags_as_virsh(void **state)
{
	char *err;
	uint32_t f;

	assert_int_equal(flags_of(0, true), CTL_FLAG_CURRENT);
	assert_int_equal(flags_of(CTL_OPT_CURRENT, true), CTL_FLAG_CURRENT);
	assert_int_equal(flags_of(CTL_OPT_LIVE, true), CTL_FLAG_LIVE);
	assert_int_equal(flags_of(CTL_OPT_CONFIG, true), CTL_FLAG_CONFIG);
	assert_int_equal(flags_of(CTL_OPT_LIVE | CTL_OPT_CONFIG, false),
			 CTL_FLAG_LIVE | CTL_FLAG_CONFIG);
	/* --persistent: the definition, plus the live domain only while it runs. */
	assert_int_equal(flags_of(CTL_OPT_PERSISTENT, true), CTL_FLAG_LIVE | CTL_FLAG_CONFIG);
	assert_int_equal(flags_of(CTL_OPT_PERSISTENT, false), CTL_FLAG_CONFIG);
	assert_true(ctl_flags_need_state(CTL_OPT_PERSISTENT));
	assert_false(ctl_flags_need_state(CTL_OPT_LIVE | CTL_OPT_CONFIG));

	expect_usage_error(ctl_device_flags(CTL_OPT_CURRENT | CTL_OPT_LIVE, true, &f, &err), &err,
			   "--current and --live");
	expect_usage_error(ctl_device_flags(CTL_OPT_CURRENT | CTL_OPT_CONFIG, true, &f, &err), &err,
			   "--current and --config");
	expect_usage_error(ctl_device_flags(CTL_OPT_CURRENT | CTL_OPT_PERSISTENT, true, &f, &err),
			   &err, "--current and --persistent");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_verb_parses),
		cmocka_unit_test(test_options_anywhere),
		cmocka_unit_test(test_usage_errors_name_the_fault),
		cmocka_unit_test(test_help_and_version),
		cmocka_unit_test(test_device_flags_as_virsh),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
