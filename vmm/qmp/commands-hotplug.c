/*
 * The hot-plug commands of StratoVirt's guide: blockdev-add, netdev_add,
 * device_add, device_del (and their undo, blockdev-del and netdev_del), and
 * query-slots, the list a manager reconciles with after a restart. They parse
 * QMP arguments into hotplug.h's specs; hotplug.c holds the rules.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "i18n.h"
#include "mac.h"
#include "qmp-internal.h"
#include "util.h"

/* A named fd (getfd), or -1 when name is NULL; an error when it is unknown. */
static int named_fd(struct qmp_request *r, const char *name)
{
	int fd;

	if (!name)
		return -1;
	fd = qmp_fd_lookup(r->client, name);
	if (fd < 0)
		return qmp_fail(r, QMP_ERROR_GENERIC, -ENOENT,
			_("No file descriptor is named \"%s\"; pass one with getfd first."), name);
	return fd;
}

static int cmd_blockdev_add(struct qmp_request *r, struct json_object *args,
	struct json_object **ret)
{
	struct json_object *file = json_object_object_get(args, "file");
	struct json_object *cache = json_object_object_get(args, "cache");
	const char *driver = qmp_arg_str(args, "driver");
	const char *file_driver = qmp_arg_str(file, "driver");
	const char *fd_name = qmp_arg_str(file, "fd");
	/* StratoVirt opens images with O_DIRECT unless told otherwise. */
	struct blockdev_spec spec = {
		.node_name = qmp_arg_str(args, "node-name"),
		.path = qmp_arg_str(file, "filename"),
		.read_only = qmp_arg_bool(args, "read-only", false),
		.direct = qmp_arg_bool(cache, "direct", true),
	};
	char *error = NULL;
	int err;

	if (driver && !streq(driver, "raw") && !streq(driver, "file"))
		return qmp_fail(r, QMP_ERROR_GENERIC, -EINVAL,
			_("The block driver \"%s\" is not "
			  "supported; use \"raw\" or leave it out."),
			driver);
	if (file_driver && !streq(file_driver, "file") && !streq(file_driver, "host_device"))
		return qmp_fail(r, QMP_ERROR_GENERIC, -EINVAL,
			_("The file driver \"%s\" is not "
			  "supported; use \"file\"."), file_driver);
	if (!spec.path == !fd_name)
		return qmp_fail(r, QMP_ERROR_GENERIC, -EINVAL,
			_("Block node \"%s\" needs exactly one of \"file\": {\"filename\": PATH} "
			  "or \"file\": {\"fd\": NAME}."), spec.node_name);
	spec.fd = named_fd(r, fd_name);
	if (fd_name && spec.fd < 0)
		return spec.fd;
	err = hotplug_blockdev_add(r->server->hp, &spec, &error);
	if (err < 0)
		return qmp_fail_take(r, QMP_ERROR_GENERIC, err, error);
	if (fd_name)
		qmp_fd_release(r->client, fd_name);
	return 0;
}

static int cmd_netdev_add(struct qmp_request *r, struct json_object *args,
	struct json_object **ret)
{
	const char *type = qmp_arg_str(args, "type");
	const char *fd_name = qmp_arg_str(args, "fd");
	const char *fds = qmp_arg_str(args, "fds");
	struct netdev_spec spec = { .id = qmp_arg_str(args, "id"), .ifname = qmp_arg_str(args, "ifname") };
	char *error = NULL;
	int err;

	if (type && !streq(type, "tap"))
		return qmp_fail(r, QMP_ERROR_GENERIC, -EINVAL,
			_("The netdev type \"%s\" is not "
			  "supported; use \"tap\"."), type);
	if (qmp_arg_bool(args, "vhost", false))
		return qmp_fail(r, QMP_ERROR_GENERIC, -EOPNOTSUPP,
			_("vhost is not supported; leave \"vhost\" out or set it to false."));
	if (fds && strchr(fds, ':'))
		return qmp_fail(r, QMP_ERROR_GENERIC, -EOPNOTSUPP,
			_("Multi-queue TAPs are not supported; give one fd name in \"fds\", not "
			  "\"%s\"."), fds);
	if (fd_name && fds)
		return qmp_fail(r, QMP_ERROR_GENERIC, -EINVAL,
			_("Give either \"fd\" or \"fds\", not "
			  "both."));
	if (!fd_name)
		fd_name = fds;
	if (fd_name && spec.ifname)
		return qmp_fail(r, QMP_ERROR_GENERIC, -EINVAL,
			_("Give either \"ifname\" or a file "
			  "descriptor, not both."));
	spec.fd = named_fd(r, fd_name);
	if (fd_name && spec.fd < 0)
		return spec.fd;
	err = hotplug_netdev_add(r->server->hp, &spec, &error);
	if (err < 0)
		return qmp_fail_take(r, QMP_ERROR_GENERIC, err, error);
	if (fd_name)
		qmp_fd_release(r->client, fd_name);
	return 0;
}

/* "0x1" or "1" or 1: hex with 0x, else decimal. */
static int parse_number(struct json_object *v, int *ret)
{
	const char *s;
	char *end;
	long n;

	if (json_object_is_type(v, json_type_int)) {
		int64_t i = json_object_get_int64(v);

		if (i < 0 || i > 255)
			return -ERANGE;
		*ret = i;
		return 0;
	}
	s = json_object_get_string(v);
	if (isempty(s) || *s == '-' || *s == '+' || *s == ' ')
		return -EINVAL;
	errno = 0;
	if (startswith(s, "0x") || startswith(s, "0X"))
		n = strtol(s + 2, &end, 16);
	else
		n = strtol(s, &end, 10);
	if (errno || *end || end == s || n > 255)
		return -EINVAL;
	*ret = n;
	return 0;
}

static int device_slot(struct qmp_request *r, struct json_object *args, const char *id,
	int *ret)
{
	struct json_object *addr = json_object_object_get(args, "addr");
	struct json_object *lun = json_object_object_get(args, "lun");
	int n;

	*ret = -1;
	if (addr && lun)
		return qmp_fail(r, QMP_ERROR_GENERIC, -EINVAL,
			_("Device \"%s\" gives both \"addr\" and "
			  "\"lun\"; give one of them."), id);
	if (addr && parse_number(addr, &n) < 0)
		return qmp_fail(r, QMP_ERROR_GENERIC, -EINVAL,
			_("The addr \"%s\" of device \"%s\" is not a slot number; write it as 0x0, "
			  "0x1, ..."), json_object_get_string(addr), id);
	if (lun && parse_number(lun, &n) < 0)
		return qmp_fail(r, QMP_ERROR_GENERIC, -EINVAL,
			_("The lun \"%s\" of device \"%s\" is not a number from 0 to 4."),
			json_object_get_string(lun), id);
	/* The guide: lun=0 is vdb, so lun N is slot N + 1. */
	if (addr || lun)
		*ret = lun ? n + 1 : n;
	return 0;
}

static int driver_kind(struct qmp_request *r, const char *driver, enum slot_kind *ret)
{
	if (streq(driver, "virtio-blk-mmio") || streq(driver, "virtio-blk-device"))
		*ret = SLOT_BLK;
	else if (streq(driver, "virtio-net-mmio") || streq(driver, "virtio-net-device"))
		*ret = SLOT_NET;
	else
		return qmp_fail(r, QMP_ERROR_GENERIC, -EINVAL,
			_("The device driver \"%s\" is not supported; use virtio-blk-mmio for a "
			  "disk or virtio-net-mmio for a NIC."), driver);
	return 0;
}

/* Arguments that belong to the other kind of device are mistakes, not noise. */
static int check_kind_args(struct qmp_request *r, struct json_object *args, enum slot_kind kind,
	const char *driver)
{
	static const char *const blk_only[] = { "drive", "serial", "lun" };
	static const char *const net_only[] = { "netdev", "mac" };
	const char *const *list = kind == SLOT_BLK ? net_only : blk_only;
	size_t n = kind == SLOT_BLK ? ELEMENTSOF(net_only) : ELEMENTSOF(blk_only);

	for (size_t i = 0; i < n; i++)
		if (json_object_object_get_ex(args, list[i], NULL))
			return qmp_fail(r, QMP_ERROR_GENERIC, -EINVAL,
				_("The argument \"%s\" does not apply to driver %s; remove it."),
				list[i], driver);
	return 0;
}

static int cmd_device_add(struct qmp_request *r, struct json_object *args,
	struct json_object **ret)
{
	const char *driver = qmp_arg_str(args, "driver");
	struct device_spec spec = { .id = qmp_arg_str(args, "id"), .serial = qmp_arg_str(args, "serial"),
		.mac = qmp_arg_str(args, "mac") };
	char *error = NULL;
	int err;

	err = driver_kind(r, driver, &spec.kind);
	if (err >= 0)
		err = check_kind_args(r, args, spec.kind, driver);
	if (err >= 0)
		err = device_slot(r, args, spec.id, &spec.slot);
	if (err < 0)
		return err;
	spec.backend = qmp_arg_str(args, spec.kind == SLOT_BLK ? "drive" : "netdev");
	err = hotplug_device_add(r->server->hp, &spec, &error);
	if (err < 0)
		return qmp_fail_take(r, QMP_ERROR_GENERIC, err, error);
	return 0;
}

static int cmd_device_del(struct qmp_request *r, struct json_object *args,
	struct json_object **ret)
{
	const char *id = qmp_arg_str(args, "id");
	char *error = NULL;
	int err;

	/* The slot model empties the slot now and DEVICE_DELETED comes before the return, as the
	 * guide shows; the dynamic model returns once the guest was asked, and the event follows
	 * when it has let go (QEMU's way). qmp_on_device_deleted() sends it in both. */
	err = hotplug_device_del(r->server->hp, id, &error);
	if (err < 0)
		return qmp_fail_take(r,
			err == -ENOENT ? QMP_ERROR_DEVICE_NOT_FOUND : QMP_ERROR_GENERIC, err, error);
	return 0;
}

static int backend_del(struct qmp_request *r, struct json_object *args, bool blk)
{
	const char *name = qmp_arg_str(args, blk ? "node-name" : "id");
	char *error = NULL;
	int err;

	err = blk ? hotplug_blockdev_del(r->server->hp, name, &error)
		  : hotplug_netdev_del(r->server->hp, name, &error);
	if (err < 0)
		return qmp_fail_take(r, QMP_ERROR_GENERIC, err, error);
	return 0;
}

static int cmd_blockdev_del(struct qmp_request *r, struct json_object *args,
	struct json_object **ret)
{
	return backend_del(r, args, true);
}

static int cmd_netdev_del(struct qmp_request *r, struct json_object *args,
	struct json_object **ret)
{
	return backend_del(r, args, false);
}

static struct json_object *slot_to_json(const struct slot_info *info)
{
	struct json_object *o = json_object_new_object();
	char addr[8], mac[MAC_STR_SIZE];

	snprintf(addr, sizeof(addr), "0x%x", info->slot);
	json_object_object_add(o, "kind", json_object_new_string(slot_kind_to_string(info->kind)));
	json_object_object_add(o, "slot", json_object_new_int(info->slot));
	json_object_object_add(o, "addr", json_object_new_string(addr));
	if (info->id)
		json_object_object_add(o, "id", json_object_new_string(info->id));
	if (info->id && info->leaving)
		json_object_object_add(o, "leaving", json_object_new_boolean(true));
	if (info->retired)
		json_object_object_add(o, "retired", json_object_new_boolean(true));
	if (info->blk) {
		json_object_object_add(o, "node-name", json_object_new_string(info->blk->node_name));
		json_object_object_add(o, "file", json_object_new_string(info->blk->path));
		json_object_object_add(o, "read-only", json_object_new_boolean(info->blk->read_only));
		json_object_object_add(o, "size", json_object_new_int64(info->blk->size));
	}
	if (info->kind == SLOT_BLK && info->id)
		json_object_object_add(o, "boot", json_object_new_boolean(info->boot));
	if (info->net) {
		json_object_object_add(o, "netdev", json_object_new_string(info->net->id));
		json_object_object_add(o, "ifname", json_object_new_string(info->net->ifname));
	}
	if (info->kind == SLOT_NET) {
		mac_format(info->mac, mac);
		json_object_object_add(o, "mac", json_object_new_string(mac));
		if (info->id)
			json_object_object_add(o, "boot", json_object_new_boolean(info->boot));
	}
	return o;
}

static int cmd_query_slots(struct qmp_request *r, struct json_object *args,
	struct json_object **ret)
{
	struct json_object *list = json_object_new_array();

	for (enum slot_kind k = 0; k < _SLOT_KIND_MAX; k++)
		for (int i = 0; i < hotplug_slot_count(r->server->hp, k); i++) {
			struct slot_info info;

			if (hotplug_slot_info(r->server->hp, k, i, &info) >= 0)
				json_object_array_add(list, slot_to_json(&info));
		}
	*ret = list;
	return 0;
}

static const struct qmp_arg file_args[] = {
	{ "driver", QMP_TYPE_STR, false, NULL },
	{ "filename", QMP_TYPE_STR, false, NULL },
	{ "fd", QMP_TYPE_STR, false, NULL },
	{ "aio", QMP_TYPE_STR, false, NULL },
	{ 0 },
};
static const struct qmp_arg cache_args[] = {
	{ "direct", QMP_TYPE_BOOL, false, NULL },
	{ "no-flush", QMP_TYPE_BOOL, false, NULL },
	{ 0 },
};
static const struct qmp_arg blockdev_add_args[] = {
	{ "node-name", QMP_TYPE_STR, true, NULL },
	{ "driver", QMP_TYPE_STR, false, NULL },
	{ "file", QMP_TYPE_OBJECT, true, file_args },
	{ "cache", QMP_TYPE_OBJECT, false, cache_args },
	{ "read-only", QMP_TYPE_BOOL, false, NULL },
	{ "aio", QMP_TYPE_STR, false, NULL },
	{ 0 },
};
static const struct qmp_arg blockdev_del_args[] = { { "node-name", QMP_TYPE_STR, true, NULL }, { 0 } };
static const struct qmp_arg netdev_add_args[] = {
	{ "id", QMP_TYPE_STR, true, NULL },
	{ "type", QMP_TYPE_STR, false, NULL },
	{ "ifname", QMP_TYPE_STR, false, NULL },
	{ "fd", QMP_TYPE_STR, false, NULL },
	{ "fds", QMP_TYPE_STR, false, NULL },
	{ "vhost", QMP_TYPE_BOOL, false, NULL },
	{ 0 },
};
static const struct qmp_arg id_args[] = { { "id", QMP_TYPE_STR, true, NULL }, { 0 } };
static const struct qmp_arg device_add_args[] = {
	{ "driver", QMP_TYPE_STR, true, NULL },
	{ "id", QMP_TYPE_STR, true, NULL },
	{ "addr", QMP_TYPE_STR_OR_INT, false, NULL },
	{ "lun", QMP_TYPE_STR_OR_INT, false, NULL },
	{ "drive", QMP_TYPE_STR, false, NULL },
	{ "netdev", QMP_TYPE_STR, false, NULL },
	{ "serial", QMP_TYPE_STR, false, NULL },
	{ "mac", QMP_TYPE_STR, false, NULL },
	/* StratoVirt takes an iothread name; our devices all run on the one loop. */
	{ "iothread", QMP_TYPE_STR, false, NULL },
	{ 0 },
};

const struct qmp_command qmp_hotplug_commands[] = {
	{ "blockdev-add", cmd_blockdev_add, blockdev_add_args },
	{ "blockdev-del", cmd_blockdev_del, blockdev_del_args },
	{ "netdev_add", cmd_netdev_add, netdev_add_args },
	{ "netdev_del", cmd_netdev_del, id_args },
	{ "device_add", cmd_device_add, device_add_args },
	{ "device_del", cmd_device_del, id_args },
	{ "query-slots", cmd_query_slots, NULL },
};
const size_t qmp_hotplug_command_count = ELEMENTSOF(qmp_hotplug_commands);
