/*
 * Domain XML: the xml2xml data cases (tests/data/xml2xml/cases lists them; <case>.xml is the
 * input, <case>.out.xml the expected output or <case>.err a part of the expected error), and
 * the domain helpers (UUIDs, root disk, attach/detach rules).
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
#include <time.h>
#include <cmocka.h>

#include "conf/domain-conf.h"
#include "util.h"

#define CASE_FILE_MAX (2 * 1024 * 1024)

static char *data_file(const char *name, const char *suffix)
{
	const char *top = getenv("top_srcdir");
	_cleanup_free_ char *path = NULL;
	char *buf = NULL;

	assert_true(asprintf(&path, "%s/tests/data/xml2xml/%s%s", top ? top : "..", name,
			     suffix) > 0);
	if (read_file(path, CASE_FILE_MAX, &buf, NULL) < 0)
		return NULL;
	return buf;
}

static void run_good_case(const char *name, const char *in, const char *expected)
{
	_cleanup_domain_def_ struct domain_def *def = NULL, *again = NULL;
	_cleanup_free_ char *err = NULL, *out = NULL, *out2 = NULL;

	if (domain_def_from_xml(in, &def, &err) < 0)
		fail_msg("case %s: %s", name, err);
	assert_int_equal(domain_def_format(def, &out), 0);
	if (!streq(out, expected))
		fail_msg("case %s: output differs:\n%s\nexpected:\n%s", name, out, expected);
	/* define → dumpxml → define is stable. */
	assert_int_equal(domain_def_from_xml(out, &again, &err), 0);
	assert_int_equal(domain_def_format(again, &out2), 0);
	assert_string_equal(out, out2);
	assert_memory_equal(def, again, sizeof(*def));
}

static void run_bad_case(const char *name, const char *in, char *expected)
{
	_cleanup_domain_def_ struct domain_def *def = NULL;
	_cleanup_free_ char *err = NULL;

	expected[strcspn(expected, "\n")] = '\0';
	assert_int_equal(domain_def_from_xml(in, &def, &err), -EINVAL);
	assert_null(def);
	assert_non_null(err);
	if (!strstr(err, expected))
		fail_msg("case %s: error \"%s\" lacks \"%s\"", name, err, expected);
	print_message("# %s: %s\n", name, err);
}

static void test_xml2xml(void **state)
{
	_cleanup_free_ char *list = data_file("cases", "");
	char *save = NULL;
	int n = 0;

	assert_non_null(list);
	for (char *name = strtok_r(list, "\n", &save); name; name = strtok_r(NULL, "\n", &save)) {
		_cleanup_free_ char *in = data_file(name, ".xml");
		_cleanup_free_ char *out = data_file(name, ".out.xml");
		_cleanup_free_ char *err = data_file(name, ".err");

		if (!in || (!out == !err))
			fail_msg("case %s needs %s.xml and one of .out.xml or .err", name, name);
		if (out)
			run_good_case(name, in, out);
		else
			run_bad_case(name, in, err);
		n++;
	}
	assert_true(n >= 10);
}

static const char base_xml[] =
	"<domain type='kvm'><name>vm</name><memory unit='MiB'>128</memory><vcpu>1</vcpu>"
	"<os><type>hvm</type><kernel>/k</kernel></os><devices>"
	"<disk type='file' device='disk'><source file='/data.img'/><target dev='vda'/></disk>"
	"<disk type='file' device='disk'><source file='/root.img'/><target dev='vdb'/>"
	"<boot order='1'/></disk>"
	"<interface type='bridge'><source bridge='br0'/><mac address='52:54:00:00:00:01'/>"
	"</interface></devices></domain>";

static void test_uuid_generated(void **state)
{
	_cleanup_domain_def_ struct domain_def *a = NULL, *b = NULL;
	char buf[DOMAIN_UUID_STRING_MAX + 1];

	assert_int_equal(domain_def_from_xml(base_xml, &a, NULL), 0);
	assert_int_equal(domain_def_from_xml(base_xml, &b, NULL), 0);
	assert_true(uuid_is_valid(a->uuid));
	assert_string_not_equal(a->uuid, b->uuid);
	assert_int_equal(a->uuid[14], '4');
	assert_non_null(strchr("89ab", a->uuid[19]));
	assert_int_equal(uuid_normalize("0F8FAD5B-D9CB-469F-A165-70867728950E", buf), 0);
	assert_string_equal(buf, "0f8fad5b-d9cb-469f-a165-70867728950e");
	assert_false(uuid_is_valid("0f8fad5b-d9cb-469f-a165-70867728950"));
	assert_false(uuid_is_valid("0f8fad5bxd9cb-469f-a165-70867728950e"));
}

static void test_root_disk(void **state)
{
	_cleanup_domain_def_ struct domain_def *def = NULL;
	_cleanup_device_def_ struct device_def *dev = device_def_new(DEVICE_KIND_DISK);
	_cleanup_free_ char *err = NULL;

	assert_int_equal(domain_def_from_xml(base_xml, &def, NULL), 0);
	assert_int_equal(domain_def_root_disk(def), 1);
	assert_true(domain_def_is_root_source(def, "/root.img"));
	assert_false(domain_def_is_root_source(def, "/data.img"));
	/* The root disk cannot be detached; another disk can. */
	strcpy(dev->disk.target, "vdb");
	assert_int_equal(domain_def_remove_device(def, dev, true, NULL, &err), -EPERM);
	assert_non_null(strstr(err, "root image"));
	strcpy(dev->disk.target, "vda");
	assert_int_equal(domain_def_remove_device(def, dev, true, NULL, NULL), 0);
	assert_int_equal(def->n_disks, 1);
	assert_int_equal(domain_def_root_disk(def), 0);
	def->disks[0].boot_order = 0;
	assert_int_equal(domain_def_root_disk(def), 0);
	def->n_disks = 0;
	assert_int_equal(domain_def_root_disk(def), -ENOENT);
}

static void test_attach_rules(void **state)
{
	_cleanup_domain_def_ struct domain_def *def = NULL;
	_cleanup_device_def_ struct device_def *d = device_def_new(DEVICE_KIND_DISK);
	_cleanup_device_def_ struct device_def *n = device_def_new(DEVICE_KIND_INTERFACE);
	_cleanup_free_ char *err = NULL;

	assert_int_equal(domain_def_from_xml(base_xml, &def, NULL), 0);
	strcpy(d->disk.source, "/root.img");
	strcpy(d->disk.target, "vdc");
	assert_int_equal(domain_def_check_attach(def, d, &err), -EPERM);
	strcpy(d->disk.source, "/extra.img");
	strcpy(d->disk.target, "vda");
	assert_int_equal(domain_def_check_attach(def, d, &err), -EEXIST);
	strcpy(d->disk.target, "vdz");
	assert_int_equal(domain_def_check_attach(def, d, &err), -EINVAL);
	strcpy(d->disk.target, "vdc");
	d->disk.boot_order = 1;
	assert_int_equal(domain_def_check_attach(def, d, &err), -EINVAL);
	d->disk.boot_order = 0;
	for (char t = 'c'; t <= 'f'; t++) {
		d->disk.target[2] = t;
		assert_int_equal(domain_def_add_device(def, d, NULL), 0);
	}
	d->disk.target[2] = 'a';
	assert_int_equal(domain_def_check_attach(def, d, &err), -ENOSPC);

	n->net.type = NET_TYPE_BRIDGE;
	strcpy(n->net.bridge, "br0");
	assert_int_equal(mac_parse("52:54:00:00:00:01", n->net.mac), 0);
	assert_int_equal(domain_def_check_attach(def, n, &err), -EEXIST);
	n->net.mac[5] = 2;
	strcpy(n->net.alias, "disk-vda");
	def->disks[1].alias[0] = '\0';
	domain_def_ensure_aliases(def);
	assert_string_equal(def->disks[1].alias, "disk-vdb");
	assert_string_equal(def->nets[0].alias, "net-525400000001");
	strcpy(n->net.alias, "disk-vdb");
	assert_int_equal(domain_def_check_attach(def, n, &err), -EEXIST);
	assert_non_null(strstr(err, "alias disk-vdb"));
	strcpy(n->net.alias, "ua-x");
	assert_int_equal(domain_def_add_device(def, n, NULL), 0);
	n->net.mac[5] = 3;
	strcpy(n->net.alias, "ua-y");
	assert_int_equal(domain_def_check_attach(def, n, &err), -ENOSPC);
}

static void test_schema_dir(void **state)
{
	const char *saved = getenv("MVIRT_SCHEMAS");
	_cleanup_free_ char *copy = saved ? strdup(saved) : NULL;
	_cleanup_free_ char *err = NULL;
	_cleanup_domain_def_ struct domain_def *def = NULL;

	assert_string_equal(conf_schema_dir(), saved ? saved : SCHEMADIR);
	/* Parsed schemas are cached by path: a warm cache must not hide a changed folder. */
	assert_int_equal(conf_check_xml(base_xml, CONF_DOC_DOMAIN, NULL, NULL), 0);
	setenv("MVIRT_SCHEMAS", "/nonexistent", 1);
	assert_string_equal(conf_schema_dir(), "/nonexistent");
	assert_int_equal(domain_def_from_xml(base_xml, &def, &err), -EIO);
	assert_non_null(strstr(err, "/nonexistent/domain.rng cannot be read"));
	if (copy)
		setenv("MVIRT_SCHEMAS", copy, 1);
	else
		unsetenv("MVIRT_SCHEMAS");
	assert_int_equal(conf_check_xml(base_xml, CONF_DOC_DOMAIN, NULL, NULL), 0);
}

static void test_size_limit(void **state)
{
	_cleanup_free_ char *big = malloc(CONF_XML_MAX + 2);
	_cleanup_free_ char *err = NULL;
	_cleanup_domain_def_ struct domain_def *def = NULL;

	assert_non_null(big);
	memset(big, ' ', CONF_XML_MAX + 1);
	big[CONF_XML_MAX + 1] = '\0';
	memcpy(big, "<domain>", 8);
	assert_int_equal(domain_def_parse(big, &def, &err), -EINVAL);
	assert_non_null(strstr(err, "larger than"));
}

/* Appends text n times to a buffer that grows. */
static void repeat(char **buf, size_t *len, const char *text, size_t n)
{
	size_t t = strlen(text);

	*buf = realloc(*buf, *len + t * n + 1);
	assert_non_null(*buf);
	for (size_t i = 0; i < n; i++, *len += t)
		memcpy(*buf + *len, text, t);
	(*buf)[*len] = '\0';
}

/* The shape of a document is bounded before libxml2 sees it. 143,243
 * attributes on <vcpu> (about 1 MB) took libxml2 48 s; 90,000 (under 1 MB) are refused here in
 * milliseconds, as are documents too deep or with too many elements. */
static void test_shape_limits(void **state)
{
	static const struct {
		const char *open, *unit, *close, *needle;
		size_t n;
	} cases[] = {
		{ "<domain type='kvm'><vcpu", NULL, ">1</vcpu></domain>", "attributes", 0 },
		{ "<domain type='kvm'>", "<x>", "</domain>", "levels deep", CONF_XML_DEPTH_MAX + 1 },
		{ "<domain type='kvm'>", "<x/>", "</domain>", "elements", CONF_XML_ELEMENTS_MAX + 1 },
	};

	for (size_t c = 0; c < ELEMENTSOF(cases); c++) {
		_cleanup_free_ char *xml = NULL, *err = NULL;
		_cleanup_domain_def_ struct domain_def *def = NULL;
		size_t len = 0;
		struct timespec t0, t1;

		repeat(&xml, &len, cases[c].open, 1);
		if (cases[c].n == 0) {
			for (size_t i = 0; i < 90000; i++) {
				char attr[32];

				snprintf(attr, sizeof(attr), " a%zx='1'", i);
				repeat(&xml, &len, attr, 1);
			}
		} else {
			repeat(&xml, &len, cases[c].unit, cases[c].n);
		}
		repeat(&xml, &len, cases[c].close, 1);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		assert_int_equal(domain_def_parse(xml, &def, &err), -EINVAL);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (!strstr(err, cases[c].needle))
			fail_msg("case %zu: \"%s\" lacks \"%s\"", c, err, cases[c].needle);
		assert_true(t1.tv_sec - t0.tv_sec < 2);
	}
}

/* What GetXML writes for <serial>/<console>: the unix socket mvirtd binds, whatever was given. */
static void test_set_console(void **state)
{
	_cleanup_domain_def_ struct domain_def *def = NULL, *again = NULL;
	_cleanup_free_ char *err = NULL, *out = NULL;
	char longpath[200];

	assert_int_equal(domain_def_from_xml(base_xml, &def, &err), 0);
	memset(longpath, 'x', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	assert_int_equal(domain_def_set_console(def, longpath), -ENAMETOOLONG);
	assert_int_equal(def->n_chrs, 0);
	assert_int_equal(domain_def_set_console(def, "/run/mvirt/vm/console.sock"), 0);
	assert_int_equal(domain_def_format(def, &out), 0);
	assert_non_null(strstr(out, "<serial type='unix'>\n      <source mode='bind' "
				    "path='/run/mvirt/vm/console.sock'/>\n      <target port='0'/>"));
	assert_non_null(strstr(out, "<console type='unix'>\n      <source mode='bind' "
				    "path='/run/mvirt/vm/console.sock'/>\n      <target type='serial' "
				    "port='0'/>"));
	/* What it writes defines again, unchanged. */
	assert_int_equal(domain_def_from_xml(out, &again, &err), 0);
	assert_memory_equal(def->chrs, again->chrs, sizeof(def->chrs));
}

static const char acpi_xml[] =
	"<domain type='kvm'><name>vm</name><memory unit='MiB'>128</memory><vcpu>1</vcpu>"
	"<os><type>hvm</type><kernel>/k</kernel></os>"
	"<features><hotplug model='acpi'/></features></domain>";

static void test_hotplug_tables(void **state)
{
	for (int h = 0; h < _DOMAIN_HOTPLUG_MAX; h++)
		assert_int_equal(domain_hotplug_from_string(domain_hotplug_to_string(h)), h);
	assert_string_equal(domain_hotplug_to_string(DOMAIN_HOTPLUG_SLOTS), MVIRT_HOTPLUG_SLOTS);
	assert_string_equal(domain_hotplug_to_string(DOMAIN_HOTPLUG_ACPI), MVIRT_HOTPLUG_ACPI);
	assert_string_equal(MVIRT_HOTPLUG_SLOTS, "slots");
	assert_string_equal(MVIRT_HOTPLUG_ACPI, "acpi");
	assert_null(domain_hotplug_to_string(_DOMAIN_HOTPLUG_MAX));
	assert_null(domain_hotplug_to_string(_DOMAIN_HOTPLUG_INVALID));
	assert_int_equal(domain_hotplug_from_string("pci"), _DOMAIN_HOTPLUG_INVALID);
	assert_int_equal(domain_hotplug_from_string("ACPI"), _DOMAIN_HOTPLUG_INVALID);
	assert_int_equal(domain_hotplug_from_string(NULL), _DOMAIN_HOTPLUG_INVALID);
	assert_int_equal(domain_hotplug_disk_slots(DOMAIN_HOTPLUG_SLOTS), MVIRT_BLK_SLOTS);
	assert_int_equal(domain_hotplug_nic_slots(DOMAIN_HOTPLUG_SLOTS), MVIRT_NET_SLOTS);
	assert_int_equal(domain_hotplug_disk_slots(DOMAIN_HOTPLUG_ACPI), MVIRT_ACPI_BLK_SLOTS);
	assert_int_equal(domain_hotplug_nic_slots(DOMAIN_HOTPLUG_ACPI), MVIRT_ACPI_NET_SLOTS);
	assert_int_equal(domain_hotplug_disk_slots(DOMAIN_HOTPLUG_SLOTS), 6);
	assert_int_equal(domain_hotplug_disk_slots(DOMAIN_HOTPLUG_ACPI), 32);
	assert_int_equal(domain_hotplug_nic_slots(DOMAIN_HOTPLUG_SLOTS), 2);
	assert_int_equal(domain_hotplug_nic_slots(DOMAIN_HOTPLUG_ACPI), 8);
	assert_int_equal(domain_hotplug_disk_slots(_DOMAIN_HOTPLUG_MAX), 0);
	assert_int_equal(domain_hotplug_nic_slots(_DOMAIN_HOTPLUG_INVALID), 0);
	assert_int_equal(DOMAIN_DISKS_MAX, 32);
	assert_int_equal(DOMAIN_NICS_MAX, 8);
}

/* Absent means slots; acpi is written back in <features>, with what every guest has. */
static void test_hotplug_format(void **state)
{
	_cleanup_domain_def_ struct domain_def *slots = NULL, *acpi = NULL, *again = NULL;
	_cleanup_free_ char *out = NULL, *out2 = NULL;

	assert_int_equal(domain_def_from_xml(base_xml, &slots, NULL), 0);
	assert_int_equal(slots->hotplug, DOMAIN_HOTPLUG_SLOTS);
	assert_false(slots->features);
	assert_int_equal(domain_def_format(slots, &out), 0);
	assert_null(strstr(out, "<features>"));
	free(out);
	out = NULL;

	assert_int_equal(domain_def_from_xml(acpi_xml, &acpi, NULL), 0);
	assert_int_equal(acpi->hotplug, DOMAIN_HOTPLUG_ACPI);
	assert_true(acpi->features);
	/* A definition made in code may choose acpi without <features>: it is written anyway. */
	acpi->features = false;
	assert_int_equal(domain_def_format(acpi, &out), 0);
	assert_non_null(strstr(out, "  <features>\n    <acpi/>\n    <apic/>\n"
				    "    <hotplug model='acpi'/>\n  </features>\n"));
	assert_int_equal(domain_def_from_xml(out, &again, NULL), 0);
	assert_int_equal(again->hotplug, DOMAIN_HOTPLUG_ACPI);
	assert_int_equal(domain_def_format(again, &out2), 0);
	assert_string_equal(out, out2);
}

static void disk_at(struct device_def *d, unsigned slot)
{
	assert_int_equal(disk_slot_to_target(slot, d->disk.target), 0);
	snprintf(d->disk.source, sizeof(d->disk.source), "/img/%u.img", slot);
}

static void nic_at(struct device_def *n, unsigned i)
{
	n->net.type = NET_TYPE_BRIDGE;
	strcpy(n->net.bridge, "br0");
	assert_int_equal(mac_parse("52:54:00:00:01:00", n->net.mac), 0);
	n->net.mac[5] = (uint8_t)i;
	n->net.alias[0] = '\0';
}

/* The slots model: 6 disks on vda..vdf, 2 NICs; each refusal says what acpi would give. */
static void test_hotplug_slots_limits(void **state)
{
	_cleanup_domain_def_ struct domain_def *def = NULL;
	_cleanup_device_def_ struct device_def *d = device_def_new(DEVICE_KIND_DISK);
	_cleanup_device_def_ struct device_def *n = device_def_new(DEVICE_KIND_INTERFACE);
	_cleanup_free_ char *err = NULL, *err2 = NULL, *err3 = NULL;

	assert_int_equal(domain_def_from_xml(base_xml, &def, NULL), 0);
	disk_at(d, 6);
	assert_int_equal(domain_def_check_attach(def, d, &err), -EINVAL);
	assert_string_equal(err, "Domain vm has 6 disk slots (vda..vdf) in the slots hot-plug "
				 "model, so it cannot have a disk vdg; give a target among them, "
				 "or <hotplug model='acpi'/> for 32.");
	for (unsigned s = 2; s < 6; s++) {
		disk_at(d, s);
		assert_int_equal(domain_def_add_device(def, d, NULL), 0);
	}
	assert_int_equal(def->n_disks, 6);
	disk_at(d, 6);
	assert_int_equal(domain_def_check_attach(def, d, &err2), -ENOSPC);
	assert_non_null(strstr(err2, "<hotplug model='acpi'/> for 32"));

	nic_at(n, 2);
	assert_int_equal(domain_def_add_device(def, n, NULL), 0);
	nic_at(n, 3);
	assert_int_equal(domain_def_check_attach(def, n, &err3), -ENOSPC);
	assert_string_equal(err3, "Domain vm has no free interface slot: the slots hot-plug model "
				  "gives it 2 and all are in use; detach an interface first, or "
				  "define the domain with <hotplug model='acpi'/> for 8.");
}

/* The acpi model: 32 disks on vda..vdaf, 8 NICs, and no more. */
static void test_hotplug_acpi_limits(void **state)
{
	_cleanup_domain_def_ struct domain_def *def = NULL;
	_cleanup_device_def_ struct device_def *d = device_def_new(DEVICE_KIND_DISK);
	_cleanup_device_def_ struct device_def *n = device_def_new(DEVICE_KIND_INTERFACE);
	_cleanup_free_ char *err = NULL, *err2 = NULL, *xml = NULL;

	assert_int_equal(domain_def_from_xml(acpi_xml, &def, NULL), 0);
	for (unsigned s = CONF_DISK_SLOTS_MAX; s-- > 0;) {
		disk_at(d, s);
		assert_int_equal(domain_def_add_device(def, d, NULL), 0);
	}
	assert_int_equal(def->n_disks, 32);
	assert_int_equal(domain_def_root_disk(def), 0);
	assert_string_equal(def->disks[0].target, "vdaf");
	strcpy(d->disk.source, "/img/extra.img");
	assert_int_equal(domain_def_check_attach(def, d, &err), -ENOSPC);
	assert_string_equal(err, "Domain vm has no free disk slot: all 32 of the acpi hot-plug "
				 "model are in use; detach a disk first.");
	for (unsigned i = 1; i <= CONF_NIC_SLOTS_MAX; i++) {
		nic_at(n, i);
		assert_int_equal(domain_def_add_device(def, n, NULL), 0);
	}
	nic_at(n, 9);
	assert_int_equal(domain_def_check_attach(def, n, &err2), -ENOSPC);
	assert_non_null(strstr(err2, "all 8 of the acpi hot-plug model"));

	/* A full acpi domain is a valid definition, and survives a round trip. */
	assert_int_equal(domain_def_validate(def, NULL), 0);
	assert_int_equal(domain_def_format(def, &xml), 0);
	domain_def_free(def);
	def = NULL;
	assert_int_equal(domain_def_from_xml(xml, &def, NULL), 0);
	assert_int_equal(def->n_disks, 32);
	assert_int_equal(def->n_nets, 8);
	/* With a disk gone, its slot is free again. */
	strcpy(d->disk.target, "vdq");
	assert_int_equal(domain_def_remove_device(def, d, true, NULL, NULL), 0);
	strcpy(d->disk.source, "/img/again.img");
	assert_int_equal(domain_def_add_device(def, d, NULL), 0);
}

/* What the parser refuses line by line, validate refuses in a definition made in code. */
static void test_hotplug_validate(void **state)
{
	_cleanup_domain_def_ struct domain_def *def = NULL;
	_cleanup_device_def_ struct device_def *d = device_def_new(DEVICE_KIND_DISK);
	_cleanup_free_ char *err = NULL, *err2 = NULL, *err3 = NULL;

	assert_int_equal(domain_def_from_xml(acpi_xml, &def, NULL), 0);
	for (unsigned s = 0; s < 7; s++) {
		disk_at(d, s);
		assert_int_equal(domain_def_add_device(def, d, NULL), 0);
	}
	assert_int_equal(domain_def_validate(def, NULL), 0);
	def->hotplug = DOMAIN_HOTPLUG_SLOTS;
	assert_int_equal(domain_def_validate(def, &err), -EINVAL);
	assert_string_equal(err, "Domain vm has 7 disks and 0 interfaces, more than the 6 disks "
				 "and 2 interfaces of the slots hot-plug model; use <hotplug "
				 "model='acpi'/> for up to 32 disks and 8 interfaces.");
	def->hotplug = (enum domain_hotplug)7;
	assert_int_equal(domain_def_validate(def, &err2), -EINVAL);
	assert_non_null(strstr(err2, "hot-plug model of domain vm is unknown"));
	def->n_disks = 1;
	disk_at(d, 1);
	assert_int_equal(domain_def_check_attach(def, d, &err3), -EINVAL);
	assert_non_null(strstr(err3, "hot-plug model of domain vm is unknown"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_xml2xml),	      cmocka_unit_test(test_uuid_generated),
		cmocka_unit_test(test_root_disk),     cmocka_unit_test(test_attach_rules),
		cmocka_unit_test(test_schema_dir),    cmocka_unit_test(test_size_limit),
		cmocka_unit_test(test_shape_limits),  cmocka_unit_test(test_set_console),
		cmocka_unit_test(test_hotplug_tables),
		cmocka_unit_test(test_hotplug_format),
		cmocka_unit_test(test_hotplug_slots_limits),
		cmocka_unit_test(test_hotplug_acpi_limits),
		cmocka_unit_test(test_hotplug_validate),
	};

	return cmocka_run_group_tests_name("domain-conf", tests, NULL, NULL);
}
