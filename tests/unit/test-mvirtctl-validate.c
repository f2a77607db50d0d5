/*
 * The client's local schema check: a typo is reported with its line number
 * before anything is sent. The schema here is a small one written by the test,
 * so the check is proven independently of the shipped schemas.
 */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "client/validate.h"

static char dir[] = "/tmp/test-mvirtctl-validate-XXXXXX";

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
	if (!mkdtemp(dir))
		return -1;
	write_file("device.rng", schema);
	return 0;
}

static int teardown(void **state)
{
	const char *names[] = { "device.rng", "good.xml", "typo.xml", "broken.xml" };
	char path[256];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		unlink(path);
	}
	return rmdir(dir);
}

static int check(const char *name, char **xml, char **err)
{
	char path[256];

	*xml = NULL;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return ctl_xml_load_validated(dir, "device.rng", path, xml, err);
}

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
	assert_int_equal(check("typo.xml", &xml, &err), -EBADMSG);
	assert_non_null(err);
	/* "3: The file does not match the schema device.rng: ... traget ..." */
	assert_true(strncmp(err, "3: ", 3) == 0);
	assert_non_null(strstr(err, "device.rng"));
	assert_non_null(strstr(err, "traget"));
	free(err);
}

/* A value the schema does not list is named, with what would do (as mvirtd says it). */
static void test_value_is_named(void **state)
{
	char *xml, *err = NULL;

	write_file("typo.xml", "<disk type='block'>\n  <source file='/tmp/a.img'/>\n"
			       "  <target dev='vdb'/>\n</disk>\n");
	assert_int_equal(check("typo.xml", &xml, &err), -EBADMSG);
	assert_non_null(err);
	assert_string_equal(err, "The value block of <disk type> at line 1 is not supported; "
				 "mvirt supports file.");
	free(err);
}

static void test_broken_xml_has_its_line(void **state)
{
	char *xml, *err = NULL;

	write_file("broken.xml", "<disk type='file'>\n  <source file='/tmp/a.img'/>\n\n"
				 "  <target dev='vdb'>\n</disk>\n");
	assert_int_equal(check("broken.xml", &xml, &err), -EBADMSG);
	assert_non_null(err);
	assert_true(strncmp(err, "5: ", 3) == 0);
	assert_non_null(strstr(err, "not well-formed"));
	free(err);
}

static void test_missing_file_and_schema(void **state)
{
	char *xml, *err = NULL;

	assert_int_equal(check("absent.xml", &xml, &err), -ENOENT);
	assert_non_null(strstr(err, "Cannot read the file"));
	free(err);
	write_file("good.xml", "<disk type='file'><source file='a'/><target dev='b'/></disk>");
	{
		char path[256];
		snprintf(path, sizeof(path), "%s/good.xml", dir);
		assert_true(ctl_xml_load_validated(dir, "absent.rng", path, &xml, &err) < 0);
		assert_non_null(strstr(err, "MVIRT_SCHEMAS"));
		free(err);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_file_is_returned_whole),
		cmocka_unit_test(test_typo_has_its_line),
		cmocka_unit_test(test_value_is_named),
		cmocka_unit_test(test_broken_xml_has_its_line),
		cmocka_unit_test(test_missing_file_and_schema),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
