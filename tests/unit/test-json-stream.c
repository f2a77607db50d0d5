#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "json-stream.h"
#include "util.h"

static struct json_object *next_ok(struct json_stream *s)
{
	struct json_object *obj = NULL;

	assert_int_equal(json_stream_next(s, &obj), 1);
	return obj;
}

static void feed(struct json_stream *s, const char *text)
{
	assert_int_equal(json_stream_feed(s, text, strlen(text)), 0);
}

static void test_split_and_joined_messages(void **state)
{
	_cleanup_(json_stream_freep) struct json_stream *s = json_stream_new(0);
	struct json_object *obj = NULL;
	_cleanup_json_ struct json_object *a = NULL, *b = NULL;

	feed(s, "{\"execute\": \"qmp_cap");
	assert_int_equal(json_stream_next(s, &obj), 0);
	feed(s, "abilities\"}\r\n{\"execute\":\"stop\", \"id\": \"{}\"}");
	a = next_ok(s);
	assert_string_equal(json_object_get_string(json_object_object_get(a, "execute")),
		"qmp_capabilities");
	b = next_ok(s);
	assert_string_equal(json_object_get_string(json_object_object_get(b, "id")), "{}");
	assert_int_equal(json_stream_next(s, &obj), 0);
	assert_int_equal(json_stream_pending(s), 0);
}

static void test_invalid_json_resynchronizes(void **state)
{
	_cleanup_(json_stream_freep) struct json_stream *s = json_stream_new(0);
	struct json_object *obj = NULL;
	_cleanup_json_ struct json_object *ok = NULL;

	feed(s, "{\"execute\": }\n{\"execute\":\"cont\"}\n");
	assert_int_equal(json_stream_next(s, &obj), -EBADMSG);
	ok = next_ok(s);
	assert_string_equal(json_object_get_string(json_object_object_get(ok, "execute")), "cont");
}

/* A string holding \u0000 (json-c keeps it, C strings cut it) and text
 * that is not UTF-8 are refused whole; the stream goes on with the next message. */
static void test_nul_and_bad_utf8_are_refused(void **state)
{
	static const char *const bad[] = {
		"{\"execute\": \"stop\", \"id\": \"a\\u0000b\"}",
		"{\"execute\": \"stop\", \"id\": \"\\u0000\"}",
		"{\"a\\u0000b\": 1}",
		"{\"execute\": \"stop\", \"id\": \"\xff\"}",
		"{\"execute\": \"stop\", \"id\": \"\xc0\xaf\"}",       /* overlong '/' */
		"{\"execute\": \"stop\", \"id\": \"\xed\xa0\x80\"}",   /* a surrogate */
		"{\"execute\": \"stop\", \"id\": \"\xe2\x82\"}",       /* cut short */
	};
	static const char *const good[] = {
		"{\"id\": \"\\\\u0000\"}", /* a backslash, then the text u0000 */
		"{\"id\": \"\\u0001 caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"}",
	};

	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		_cleanup_(json_stream_freep) struct json_stream *s = json_stream_new(0);
		_cleanup_json_ struct json_object *ok = NULL;
		struct json_object *obj = NULL;

		feed(s, bad[i]);
		feed(s, "\r\n{\"execute\":\"cont\"}\r\n");
		assert_int_equal(json_stream_next(s, &obj), -EILSEQ);
		ok = next_ok(s);
		assert_string_equal(json_object_get_string(json_object_object_get(ok, "execute")),
			"cont");
	}
	for (size_t i = 0; i < ELEMENTSOF(good); i++) {
		_cleanup_(json_stream_freep) struct json_stream *s = json_stream_new(0);
		_cleanup_json_ struct json_object *ok = NULL;

		feed(s, good[i]);
		ok = next_ok(s);
		assert_non_null(json_object_object_get(ok, "id"));
	}
}

/* QEMU's streaming parser gives one error for a bad object split over lines, not one a line. */
static void test_invalid_json_over_two_lines_is_one_error(void **state)
{
	_cleanup_(json_stream_freep) struct json_stream *s = json_stream_new(0);
	struct json_object *obj = NULL;
	_cleanup_json_ struct json_object *ok = NULL;

	feed(s, "{\"execute\": \n");
	assert_int_equal(json_stream_next(s, &obj), 0);
	feed(s, "}\n{\"execute\":\"cont\"}\n");
	assert_int_equal(json_stream_next(s, &obj), -EBADMSG);
	ok = next_ok(s);
	assert_string_equal(json_object_get_string(json_object_object_get(ok, "execute")), "cont");
	assert_int_equal(json_stream_next(s, &obj), 0);
}

/* QEMU writes "/" as is; an escaped "\/" is valid JSON but surprises line-oriented tools. */
static void test_format_leaves_slashes(void **state)
{
	_cleanup_json_ struct json_object *o = json_object_new_object();
	_cleanup_free_ char *line = NULL;

	json_object_object_add(o, "desc", json_object_new_string("/nonexistent/x.img"));
	line = json_stream_format(o);
	assert_non_null(strstr(line, "\"/nonexistent/x.img\""));
}

static void test_scalar_is_returned_for_the_caller_to_refuse(void **state)
{
	_cleanup_(json_stream_freep) struct json_stream *s = json_stream_new(0);
	_cleanup_json_ struct json_object *n = NULL;

	feed(s, "42\n");
	n = next_ok(s);
	assert_true(json_object_is_type(n, json_type_int));
}

static void test_oversized_message_is_dropped(void **state)
{
	_cleanup_(json_stream_freep) struct json_stream *s = json_stream_new(64);
	_cleanup_json_ struct json_object *ok = NULL;
	struct json_object *obj = NULL;
	char big[200];

	memset(big, 'x', sizeof(big));
	big[0] = '"';
	assert_int_equal(json_stream_feed(s, big, sizeof(big)), -EMSGSIZE);
	assert_int_equal(json_stream_next(s, &obj), -EMSGSIZE);
	feed(s, "\"\n{\"execute\":\"quit\"}\n");
	ok = next_ok(s);
	assert_string_equal(json_object_get_string(json_object_object_get(ok, "execute")), "quit");
}

static void test_format_ends_with_crlf(void **state)
{
	_cleanup_json_ struct json_object *obj = json_object_new_object();
	_cleanup_free_ char *line = NULL;

	json_object_object_add(obj, "return", json_object_new_object());
	line = json_stream_format(obj);
	assert_string_equal(line, "{\"return\":{}}\r\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split_and_joined_messages),
		cmocka_unit_test(test_invalid_json_resynchronizes),
		cmocka_unit_test(test_nul_and_bad_utf8_are_refused),
		cmocka_unit_test(test_invalid_json_over_two_lines_is_one_error),
		cmocka_unit_test(test_format_leaves_slashes),
		cmocka_unit_test(test_scalar_is_returned_for_the_caller_to_refuse),
		cmocka_unit_test(test_oversized_message_is_dropped),
		cmocka_unit_test(test_format_ends_with_crlf),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
