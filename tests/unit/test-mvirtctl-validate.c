/*
 * The client's local check: a typo is reported as FILE:LINE before anything is
 * sent, in the sentence libmvirt-conf.a (mvirtd's checks) gives. The schema here
 * is a small one written by the test (through MVIRT_SCHEMAS), so the check is
 * proven independently of the shipped schemas.
 */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "client/validate.h"

static char dir[] = "/tmp/test-mvirtctl-validate-XXXXXX";
static char empty_dir[] = "/tmp/test-mvirtctl-validate-empty-XXXXXX";

static const char schema[] =
	"<grammar xmlns='http://relaxng.org/ns/structure/1.0'>\n"
	"  <start><element name='disk'>\n"
	"    <attribute name='type'><choice><value>file</value></choice></attribute>\n"
	"    <element name='source'><attribute name='file'><text/></attribute></element>\n"
	"    <element name='target'><attribute name='dev'><text/></attribute></element>\n"
	"  </element></start>\n"
	"</grammar>\n";

static void write_file(const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int setup(void **state)
{
	if (!mkdtemp(dir) || !mkdtemp(empty_dir))
		return -1;
	write_file("device.rng", schema);
	return setenv("MVIRT_SCHEMAS", dir, 1);
}

static int teardown(void **state)
{
	const char *names[] = { "device.rng", "good.xml", "typo.xml", "broken.xml" };
	char path[256];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		unlink(path);
	}
	rmdir(empty_dir);
	return rmdir(dir);
}

static int check(const char *name, char **xml, char **err)
{
	char path[256];

	*xml = NULL;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return ctl_xml_load_checked(path, CONF_DOC_DEVICE, xml, err);
}

/* err is "<dir>/<name>:<rest>", or starts so when whole is false. */
static void assert_error(const char *err, const char *name, const char *rest, bool whole)
{
	char want[512];

	snprintf(want, sizeof(want), "%s/%s:%s", dir, name, rest);
	if (whole)
		assert_string_equal(err, want);
	else if (strncmp(err, want, strlen(want)) != 0)
		fail_msg("\"%s\" does not start with \"%s\"", err, want);
}

#define assert_prefixed(err, name, rest) assert_error(err, name, rest, true)

static void test_valid_file_is_returned_whole(void **state)
{
	const char *text = "<disk type='file'>\n  <source file='/tmp/a.img'/>\n"
			   "  <target dev='vdb'/>\n</disk>\n";
	char *xml, *err = NULL;

	write_file("good.xml", text);
	assert_int_equal(check("good.xml", &xml, &err), 0);
	assert_null(err);
	assert_string_equal(xml, text);
	free(xml);
}

static void test_typo_has_its_line(void **state)
{
	char *xml, *err = NULL;

	write_file("typo.xml", "<disk type='file'>\n  <source file='/tmp/a.img'/>\n"
			       "  <traget dev='vdb'/>\n</disk>\n");
	assert_int_equal(check("typo.xml", &xml, &err), -EINVAL);
	assert_non_null(err);
	assert_prefixed(err, "typo.xml", "3: The element <traget> at line 3 is not supported by "
					 "mvirt; remove it.");
	free(err);
}

/* A value the schema does not list is named, with what would do (as mvirtd says it). */
static void test_value_is_named(void **state)
{
	char *xml, *err = NULL;

	write_file("typo.xml", "<disk type='block'>\n  <source file='/tmp/a.img'/>\n"
			       "  <target dev='vdb'/>\n</disk>\n");
	assert_int_equal(check("typo.xml", &xml, &err), -EINVAL);
	assert_non_null(err);
	assert_prefixed(err, "typo.xml", "1: The value block of <disk type> at line 1 is not "
					 "supported; mvirt supports file.");
	free(err);
}

static void test_broken_xml_has_its_line(void **state)
{
	char *xml, *err = NULL;

	write_file("broken.xml", "<disk type='file'>\n  <source file='/tmp/a.img'/>\n\n"
				 "  <target dev='vdb'>\n</disk>\n");
	assert_int_equal(check("broken.xml", &xml, &err), -EINVAL);
	assert_non_null(err);
	assert_error(err, "broken.xml", "5: The XML is not well-formed at line 5: ", false);
	free(err);
}

/* As mvirtd: a DOCTYPE is refused, though the document is otherwise valid. */
static void test_doctype_is_refused(void **state)
{
	char *xml, *err = NULL;

	write_file("typo.xml", "<!DOCTYPE disk>\n<disk type='file'>\n  <source file='/tmp/a.img'/>\n"
			       "  <target dev='vdb'/>\n</disk>\n");
	assert_int_equal(check("typo.xml", &xml, &err), -EINVAL);
	assert_prefixed(err, "typo.xml", "1: The XML has a DOCTYPE at line 1; remove it, DTDs "
					 "and entities are not accepted.");
	free(err);
}

static void test_missing_file_and_schema(void **state)
{
	char *xml, *err = NULL;

	assert_int_equal(check("absent.xml", &xml, &err), -ENOENT);
	assert_error(err, "absent.xml", " Cannot read the file: ", false);
	free(err);
	err = NULL;
	write_file("good.xml", "<disk type='file'><source file='/a'/><target dev='vdb'/></disk>");
	assert_int_equal(setenv("MVIRT_SCHEMAS", empty_dir, 1), 0);
	assert_true(check("good.xml", &xml, &err) < 0);
	assert_int_equal(setenv("MVIRT_SCHEMAS", dir, 1), 0);
	assert_non_null(strstr(err, "MVIRT_SCHEMAS"));
	free(err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_file_is_returned_whole),
		cmocka_unit_test(test_typo_has_its_line),
		cmocka_unit_test(test_value_is_named),
		cmocka_unit_test(test_broken_xml_has_its_line),
		cmocka_unit_test(test_doctype_is_refused),
		cmocka_unit_test(test_missing_file_and_schema),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
