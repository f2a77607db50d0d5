/* What mvirtctl prints: dominfo, list and events, as text and as JSON parsed back. */
#include "config.h"

#include <errno.h>
#include <json-c/json.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "client/output.h"

struct capture {
	char *buf;
	size_t len;
	FILE *f;
};

static void capture_open(struct capture *c)
{
	c->f = open_memstream(&c->buf, &c->len);
	assert_non_null(c->f);
}

static const char *capture_close(struct capture *c)
{
	fclose(c->f);
	return c->buf;
}

static const struct ctl_domain_info web = {
	.name = "web1",
	.uuid = "c7a5fdbd-cdaf-9455-926a-d65c16db1809",
	.state = "running",
	.autostart = true,
	.has_autostart = true,
};

static void test_dominfo_text(void **state)
{
	struct capture c;

	capture_open(&c);
	assert_int_equal(output_dominfo(c.f, &web, false), 0);
	assert_string_equal(capture_close(&c), "Name:        web1\n"
					       "UUID:        c7a5fdbd-cdaf-9455-926a-d65c16db1809\n"
					       "State:       running\n"
					       "Autostart:   enable\n");
	free(c.buf);
}

static void test_dominfo_shows_why_a_domain_crashed(void **state)
{
	struct ctl_domain_info crashed = web;
	struct json_object *o, *v;
	struct capture c;

	snprintf(crashed.state, sizeof(crashed.state), "crashed");
	snprintf(crashed.state_reason, sizeof(crashed.state_reason), "mvirt-vmm exited with status 1.");
	capture_open(&c);
	assert_int_equal(output_dominfo(c.f, &crashed, false), 0);
	assert_non_null(strstr(capture_close(&c), "State:       crashed\n"
						  "Reason:      mvirt-vmm exited with status 1.\n"));
	free(c.buf);
	capture_open(&c);
	assert_int_equal(output_dominfo(c.f, &crashed, true), 0);
	o = json_tokener_parse(capture_close(&c));
	assert_non_null(o);
	assert_true(json_object_object_get_ex(o, "state_reason", &v));
	assert_string_equal(json_object_get_string(v), "mvirt-vmm exited with status 1.");
	json_object_put(o);
	free(c.buf);
}

static void test_dominfo_json_parses_back(void **state)
{
	struct json_object *o, *v;
	struct capture c;

	capture_open(&c);
	assert_int_equal(output_dominfo(c.f, &web, true), 0);
	o = json_tokener_parse(capture_close(&c));
	assert_non_null(o);
	assert_true(json_object_object_get_ex(o, "name", &v));
	assert_string_equal(json_object_get_string(v), "web1");
	assert_true(json_object_object_get_ex(o, "state", &v));
	assert_string_equal(json_object_get_string(v), "running");
	assert_true(json_object_object_get_ex(o, "autostart", &v));
	assert_true(json_object_get_boolean(v));
	json_object_put(o);
	free(c.buf);
}

static void test_list(void **state)
{
	struct ctl_domain_info two[2] = { web, web };
	struct json_object *a;
	struct capture c;

	snprintf(two[1].name, sizeof(two[1].name), "db\"1");
	capture_open(&c);
	assert_int_equal(output_list(c.f, two, 2, true), 0);
	a = json_tokener_parse(capture_close(&c));
	assert_non_null(a);
	assert_int_equal(json_object_array_length(a), 2);
	assert_string_equal(json_object_get_string(json_object_object_get(
				    json_object_array_get_idx(a, 1), "name")), "db\"1");
	json_object_put(a);
	free(c.buf);

	capture_open(&c);
	assert_int_equal(output_list(c.f, two, 1, false), 0);
	assert_non_null(strstr(capture_close(&c),
			       " c7a5fdbd-cdaf-9455-926a-d65c16db1809  web1                 running\n"));
	free(c.buf);
}

static void test_events(void **state)
{
	struct ctl_event e = { .uuid = "u-1", .name = "web1", .signal = "DeviceAdded",
			       .arg = "ua-disk1" };
	struct ctl_event s = { .uuid = "u-1", .signal = "StateChanged", .arg = "running" };
	struct ctl_event p = { .uuid = "u-1", .name = "web1", .signal = "PropertiesChanged",
			       .property_json = "{\"State\":\"shutoff\"}" };
	struct json_object *o;
	struct capture c;
	char *line2;

	capture_open(&c);
	assert_int_equal(output_event(c.f, &e, false), 0);
	assert_int_equal(output_event(c.f, &s, false), 0);
	assert_string_equal(capture_close(&c), "web1 u-1 DeviceAdded ua-disk1\n"
					       "- u-1 StateChanged running\n");
	free(c.buf);

	/* --json: one object per line. */
	capture_open(&c);
	assert_int_equal(output_event(c.f, &s, true), 0);
	assert_int_equal(output_event(c.f, &p, true), 0);
	capture_close(&c);
	line2 = strchr(c.buf, '\n');
	assert_non_null(line2);
	*line2++ = '\0';
	o = json_tokener_parse(c.buf);
	assert_string_equal(json_object_get_string(json_object_object_get(o, "state")), "running");
	assert_string_equal(json_object_get_string(json_object_object_get(o, "event")),
			    "StateChanged");
	json_object_put(o);
	o = json_tokener_parse(line2);
	assert_string_equal(json_object_get_string(json_object_object_get(
				    json_object_object_get(o, "properties"), "State")), "shutoff");
	json_object_put(o);
	free(c.buf);
}

static void test_uuid_from_path(void **state)
{
	char uuid[64];

	assert_int_equal(output_uuid_from_path("/org/mvirt/Manager1/domain/"
					       "_c7a5fdbd_cdaf_9455_926a_d65c16db1809",
					       uuid, sizeof(uuid)), 0);
	assert_string_equal(uuid, "c7a5fdbd-cdaf-9455-926a-d65c16db1809");
	assert_int_equal(output_uuid_from_path("/org/mvirt/Manager1", uuid, sizeof(uuid)),
			 -EINVAL);
	assert_int_equal(output_uuid_from_path("/a/_0123456789", uuid, 4), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dominfo_text),
		cmocka_unit_test(test_dominfo_json_parses_back),
		cmocka_unit_test(test_dominfo_shows_why_a_domain_crashed),
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_events),
		cmocka_unit_test(test_uuid_from_path),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
