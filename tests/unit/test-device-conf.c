/* Device XML as attach-device takes it: parse, validate, format, detach matching. */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "conf/domain-conf.h"
#include "util.h"

static void test_disk(void **state)
{
	_cleanup_device_def_ struct device_def *dev = NULL, *again = NULL;
	_cleanup_free_ char *out = NULL, *out2 = NULL;

	assert_int_equal(device_def_from_xml("<disk type='file' device='disk'>"
					     "<driver name='qemu' type='raw' cache='none'/>"
					     "<source file='/img/b.img'/>"
					     "<target dev='vdb' bus='virtio'/><readonly/>"
					     "<serial>S1</serial><alias name='ua-b'/></disk>",
					     &dev, NULL),
			 0);
	assert_int_equal(dev->kind, DEVICE_KIND_DISK);
	assert_string_equal(dev->disk.source, "/img/b.img");
	assert_string_equal(dev->disk.target, "vdb");
	assert_true(dev->disk.readonly);
	assert_true(disk_def_is_direct(&dev->disk));
	assert_int_equal(disk_target_to_slot(dev->disk.target), 1);
	assert_string_equal(device_def_alias(dev), "ua-b");
	assert_int_equal(device_def_format(dev, &out), 0);
	assert_int_equal(device_def_from_xml(out, &again, NULL), 0);
	assert_int_equal(device_def_format(again, &out2), 0);
	assert_string_equal(out, out2);
	assert_memory_equal(dev, again, sizeof(*dev));
}

static void test_interface(void **state)
{
	_cleanup_device_def_ struct device_def *dev = NULL, *gen = NULL;
	char mac[MAC_STR_SIZE];

	assert_int_equal(device_def_from_xml("<interface type='bridge'><source bridge='br0'/>"
					     "<mac address='52:54:00:AA:BB:CC'/>"
					     "<target dev='mvtap3'/><model type='virtio'/>"
					     "</interface>",
					     &dev, NULL),
			 0);
	assert_int_equal(dev->net.type, NET_TYPE_BRIDGE);
	assert_string_equal(dev->net.bridge, "br0");
	assert_string_equal(dev->net.ifname, "mvtap3");
	assert_false(dev->net.mac_generated);
	mac_format(dev->net.mac, mac);
	assert_string_equal(mac, "52:54:00:aa:bb:cc");
	device_def_ensure_alias(dev);
	assert_string_equal(dev->net.alias, "net-525400aabbcc");

	assert_int_equal(device_def_from_xml("<interface type='ethernet'><target dev='t0'/>"
					     "</interface>",
					     &gen, NULL),
			 0);
	assert_true(gen->net.mac_generated);
	assert_int_equal(gen->net.mac[0], 0x52);
	assert_int_equal(gen->net.mac[0] & 1, 0);
}

/* restore.c finds backends left without a device by these names: they must stay the ones
 * device_def_ensure_alias() gives. */
static void test_default_alias(void **state)
{
	static const uint8_t mac[MAC_LEN] = { 0x52, 0x54, 0x00, 0x0a, 0xbc, 0xde };
	char alias[CONF_ALIAS_MAX + 1], target[CONF_DISK_TARGET_MAX + 1];

	assert_int_equal(disk_slot_to_target(5, target), 0);
	disk_default_alias(target, alias);
	assert_string_equal(alias, "disk-vdf");
	net_default_alias(mac, alias);
	assert_string_equal(alias, "net-5254000abcde");
}

static void test_matching(void **state)
{
	struct disk_def have = { .target = "vdc", .alias = "ua-c" }, want = {};
	struct net_def nh = { .mac = { 0x52, 0x54, 0, 1, 2, 3 }, .alias = "ua-n" }, nw = nh;

	assert_false(disk_def_matches(&have, &want));
	strcpy(want.alias, "ua-c");
	assert_true(disk_def_matches(&have, &want));
	strcpy(want.target, "vdd");
	assert_false(disk_def_matches(&have, &want)); /* the target decides when given */
	strcpy(want.target, "vdc");
	assert_true(disk_def_matches(&have, &want));

	assert_true(net_def_matches(&nh, &nw));
	nw.mac[5] = 4;
	assert_false(net_def_matches(&nh, &nw));
	nw.mac_generated = true; /* a MAC the request did not give: match by alias */
	assert_true(net_def_matches(&nh, &nw));
	nw.alias[0] = '\0';
	/* Neither MAC nor alias: what the XML says (type, bridge, target, model), as libvirt. */
	nh.type = NET_TYPE_BRIDGE;
	strcpy(nh.bridge, "br0");
	strcpy(nh.model, "virtio");
	nw.type = NET_TYPE_ETHERNET;
	strcpy(nw.model, "virtio");
	assert_false(net_def_matches(&nh, &nw));
	nw.type = NET_TYPE_BRIDGE;
	assert_true(net_def_matches(&nh, &nw));
	strcpy(nw.bridge, "br1");
	assert_false(net_def_matches(&nh, &nw));
	strcpy(nw.bridge, "br0");
	strcpy(nw.ifname, "tap9");
	assert_false(net_def_matches(&nh, &nw));
}

/* What libvirt writes and mvirt runs as it says: the virtio-mmio address, an unmanaged TAP. */
static void test_libvirt_forms(void **state)
{
	_cleanup_device_def_ struct device_def *disk = NULL, *nic = NULL, *plain = NULL;
	_cleanup_free_ char *xml = NULL;

	assert_int_equal(device_def_from_xml("<disk type='file' device='disk'><source file='/a'/>"
					     "<backingStore/><target dev='vdb' bus='virtio'/>"
					     "<address type='virtio-mmio'/></disk>",
					     &disk, NULL),
			 0);
	assert_string_equal(disk->disk.target, "vdb");
	assert_int_equal(device_def_from_xml("<interface type='ethernet'><target dev='mytap' "
					     "managed='no'/><model type='virtio'/>"
					     "<address type='virtio-mmio'/></interface>",
					     &nic, NULL),
			 0);
	assert_false(nic->net.managed);
	assert_string_equal(nic->net.ifname, "mytap");
	assert_int_equal(device_def_format(nic, &xml), 0);
	assert_non_null(strstr(xml, "<target dev='mytap' managed='no'/>"));
	assert_int_equal(device_def_from_xml("<interface type='ethernet'><target dev='t1'/>"
					     "</interface>", &plain, NULL), 0);
	assert_true(plain->net.managed);
}

static void expect_error(const char *xml, const char *part)
{
	_cleanup_device_def_ struct device_def *dev = NULL;
	_cleanup_free_ char *err = NULL;
	int r = device_def_from_xml(xml, &dev, &err);

	assert_true(r < 0);
	assert_null(dev);
	if (!err || !strstr(err, part))
		fail_msg("error \"%s\" lacks \"%s\"", err ? err : "(none)", part);
}

static void test_errors(void **state)
{
	expect_error("<disk type='file'><source file='/a'/><target dev='vda'/>"
		     "<address type='pci'/></disk>",
		     "The value pci of <address type> at line 1 is not supported; mvirt supports "
		     "virtio-mmio.");
	expect_error("<disk type='file' device='cdrom'><source file='/a'/>"
		     "<target dev='sda' bus='scsi'/></disk>",
		     "The value cdrom of <disk device> at line 1 is not supported; mvirt "
		     "supports disk.");
	expect_error("<disk type='file'><source file='/a'/><target dev='sda' bus='scsi'/></disk>",
		     "The value scsi of <target bus> at line 1 is not supported; mvirt supports "
		     "virtio.");
	expect_error("<interface type='ethernet'><target dev='t' managed='maybe'/></interface>",
		     "The value maybe of <target managed> at line 1 is not supported; mvirt "
		     "supports yes, no.");
	expect_error("<interface type='vdpa'><source dev='/dev/vhost-vdpa-0'/></interface>",
		     "The value vdpa of <interface type> at line 1 is not supported; mvirt "
		     "supports bridge, ethernet.");
	expect_error("<disk type='file'><driver name='qemu' type='raw' discard='unmap'/>"
		     "<source file='/a'/><target dev='vda'/></disk>",
		     "The attribute discard of <driver> at line 1 is not supported by mvirt; "
		     "remove it.");
	expect_error("<interface type='user'/>",
		     "The value user of <interface type> at line 1 is not supported");
	expect_error("<disk type='file'><source file='/a'/></disk>", "element <disk>");
	expect_error("<disk type='file'><source file='/a'/><target dev='vdag'/></disk>",
		     "The disk target vdag is not supported; use vda to vdz or vdaa to vdaf.");
	expect_error("<disk type='file'><source file='/a'/><target dev='vdaaa'/></disk>",
		     "<target>");
	expect_error("<disk><driver type='qcow2'/><source file='/a'/><target dev='vda'/></disk>",
		     "The value qcow2 of <driver type> at line 1 is not supported; mvirt supports "
		     "raw.");
	expect_error("<interface type='bridge'><source bridge='br0'/>"
		     "<mac address='03:00:00:00:00:01'/></interface>",
		     "not a unicast address");
	expect_error("<interface type='bridge'><source bridge='.'/></interface>",
		     "The bridge name '.' is not a valid interface name");
	expect_error("<interface type='network'><source network='default'/></interface>",
		     "The value network of <interface type> at line 1 is not supported");
	expect_error("<hostdev/>", "The element <hostdev> at line 1 is not supported");
	expect_error("<disk", "not well-formed at line 1");
}

static void test_tables(void **state)
{
	char buf[CONF_DISK_TARGET_MAX + 1];
	uint8_t mac[MAC_LEN];

	for (int k = 0; k < _DEVICE_KIND_MAX; k++)
		assert_int_equal(device_kind_from_string(device_kind_to_string(k)), k);
	for (int c = 0; c < _DISK_CACHE_MAX; c++)
		assert_int_equal(disk_cache_from_string(disk_cache_to_string(c)), c);
	assert_int_equal(device_kind_from_string("hostdev"), _DEVICE_KIND_INVALID);
	assert_int_equal(disk_slot_to_target(5, buf), 0);
	assert_string_equal(buf, "vdf");
	assert_int_equal(mac_parse("52:54:00:12:34", mac), -EINVAL);
	assert_int_equal(mac_parse("52-54-00-12-34-56", mac), -EINVAL);
	assert_int_equal(mac_parse("52:54:00:12:34:5g", mac), -EINVAL);
}

/* Linux's names for slots 0..31: vda..vdz, then vdaa..vdaf; nothing past the acpi model's 32. */
static void test_disk_targets(void **state)
{
	static const struct {
		unsigned slot;
		const char *target;
	} names[] = {
		{ 0, "vda" }, { 5, "vdf" }, { 6, "vdg" }, { 25, "vdz" }, { 26, "vdaa" }, { 31, "vdaf" },
	};
	static const char *const bad[] = {
		"vdag", "vdba", "vdzz", "vdaaa", "vd", "vdA", "vda1", "sda", "xvda", "vd-", "",
	};
	char buf[CONF_DISK_TARGET_MAX + 1];

	for (size_t i = 0; i < ELEMENTSOF(names); i++) {
		assert_int_equal(disk_target_to_slot(names[i].target), names[i].slot);
		assert_int_equal(disk_slot_to_target(names[i].slot, buf), 0);
		assert_string_equal(buf, names[i].target);
	}
	for (unsigned s = 0; s < CONF_DISK_SLOTS_MAX; s++) {
		assert_int_equal(disk_slot_to_target(s, buf), 0);
		assert_int_equal(disk_target_to_slot(buf), s);
	}
	assert_int_equal(disk_slot_to_target(CONF_DISK_SLOTS_MAX, buf), -EINVAL);
	for (size_t i = 0; i < ELEMENTSOF(bad); i++)
		if (disk_target_to_slot(bad[i]) != -EINVAL)
			fail_msg("target \"%s\" was taken", bad[i]);
	assert_int_equal(disk_target_to_slot(NULL), -EINVAL);
}

/* A device on its own may name any of the 32 slots; whether its domain has it is checked when
 * it joins one (test-domain-conf). */
static void test_disk_target_xml(void **state)
{
	_cleanup_device_def_ struct device_def *dev = NULL, *again = NULL;
	_cleanup_free_ char *out = NULL;
	struct disk_def disk = { .source = "/a", .target = "vdag" };

	assert_int_equal(device_def_from_xml("<disk type='file' device='disk'>"
					     "<source file='/img/last.img'/>"
					     "<target dev='vdaf'/></disk>",
					     &dev, NULL),
			 0);
	assert_int_equal(disk_target_to_slot(dev->disk.target), 31);
	assert_int_equal(device_def_format(dev, &out), 0);
	assert_non_null(strstr(out, "<target dev='vdaf' bus='virtio'/>"));
	assert_int_equal(device_def_from_xml(out, &again, NULL), 0);
	assert_memory_equal(dev, again, sizeof(*dev));
	assert_int_equal(disk_def_validate(&disk, NULL), -EINVAL);
	strcpy(disk.target, "vdaa");
	assert_int_equal(disk_def_validate(&disk, NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_disk),	 cmocka_unit_test(test_interface),
		cmocka_unit_test(test_default_alias),
		cmocka_unit_test(test_matching), cmocka_unit_test(test_errors),
		cmocka_unit_test(test_tables),	 cmocka_unit_test(test_libvirt_forms),
		cmocka_unit_test(test_disk_targets),
		cmocka_unit_test(test_disk_target_xml),
	};

	return cmocka_run_group_tests_name("device-conf", tests, NULL, NULL);
}
