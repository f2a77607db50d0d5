/* Parsing and formatting of <disk>, <interface>, <serial> and <console>, and their tables. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "conf-internal.h"
#include "i18n.h"
#include "util.h"

static const char *const device_kind_table[_DEVICE_KIND_MAX] = {
	[DEVICE_KIND_DISK] = "disk",
	[DEVICE_KIND_INTERFACE] = "interface",
};
static const char *const disk_cache_table[_DISK_CACHE_MAX] = {
	[DISK_CACHE_DEFAULT] = "default",
	[DISK_CACHE_NONE] = "none",
	[DISK_CACHE_WRITETHROUGH] = "writethrough",
	[DISK_CACHE_WRITEBACK] = "writeback",
	[DISK_CACHE_DIRECTSYNC] = "directsync",
	[DISK_CACHE_UNSAFE] = "unsafe",
};
static const char *const net_type_table[_NET_TYPE_MAX] = {
	[NET_TYPE_BRIDGE] = "bridge",
	[NET_TYPE_ETHERNET] = "ethernet",
};
static const char *const chr_type_table[_CHR_TYPE_MAX] = {
	[CHR_TYPE_PTY] = "pty",
	[CHR_TYPE_UNIX] = "unix",
};

int conf_table_lookup(const char *const *table, size_t n, const char *s)
{
	for (size_t i = 0; s && i < n; i++)
		if (table[i] && streq(table[i], s))
			return (int)i;
	return -1;
}

#define TABLE_FUNCS(name, type, table, max, invalid)                                               \
	const char *name##_to_string(type v)                                                       \
	{                                                                                          \
		return (int)v >= 0 && (int)v < (max) ? table[v] : NULL;                             \
	}                                                                                          \
	type name##_from_string(const char *s)                                                     \
	{                                                                                          \
		int i = conf_table_lookup(table, (max), s);                                        \
		return i < 0 ? (invalid) : (type)i;                                                \
	}

TABLE_FUNCS(device_kind, enum device_kind, device_kind_table, _DEVICE_KIND_MAX,
	    _DEVICE_KIND_INVALID)
TABLE_FUNCS(disk_cache, enum disk_cache, disk_cache_table, _DISK_CACHE_MAX, _DISK_CACHE_INVALID)
TABLE_FUNCS(net_type, enum net_type, net_type_table, _NET_TYPE_MAX, _NET_TYPE_INVALID)
TABLE_FUNCS(chr_type, enum chr_type, chr_type_table, _CHR_TYPE_MAX, _CHR_TYPE_INVALID)

bool disk_def_is_direct(const struct disk_def *disk)
{
	return disk->cache == DISK_CACHE_NONE || disk->cache == DISK_CACHE_DIRECTSYNC;
}

/* The letters after "vd" count in bijective base 26, as Linux's virtio_blk names disks: a..z are
 * 1..26, aa is 27; the slot is one less. Two letters reach far past CONF_DISK_SLOTS_MAX. */
int disk_target_to_slot(const char *target)
{
	const char *letters;
	size_t n;
	int slot = 0;

	if (!target || !startswith(target, "vd"))
		return -EINVAL;
	letters = target + 2;
	n = strlen(letters);
	if (n < 1 || n > 2)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (letters[i] < 'a' || letters[i] > 'z')
			return -EINVAL;
		slot = slot * 26 + (letters[i] - 'a' + 1);
	}
	slot--;
	return slot < CONF_DISK_SLOTS_MAX ? slot : -EINVAL;
}

int disk_slot_to_target(unsigned slot, char *buf)
{
	if (slot >= CONF_DISK_SLOTS_MAX)
		return -EINVAL;
	if (slot < 26)
		snprintf(buf, CONF_DISK_TARGET_MAX + 1, "vd%c", 'a' + slot);
	else
		snprintf(buf, CONF_DISK_TARGET_MAX + 1, "vd%c%c", 'a' + slot / 26 - 1,
			 'a' + slot % 26);
	return 0;
}

int mac_generate(uint8_t mac[MAC_LEN])
{
	uint8_t r[3];

	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
		return -errno ?: -EIO;
	mac[0] = 0x52;
	mac[1] = 0x54;
	mac[2] = 0x00;
	memcpy(mac + 3, r, sizeof(r));
	return 0;
}

int disk_def_parse_node(xmlXPathContextPtr ctxt, xmlNodePtr node, struct disk_def *disk,
			char **ret_error)
{
	_cleanup_free_ char *cache = NULL;
	uint64_t order;
	int r;

	*disk = (struct disk_def){};
	if ((r = xml_copy(ctxt, node, "string(./source/@file)", disk->source,
			  sizeof(disk->source), "<source file>", ret_error)) < 0 ||
	    (r = xml_copy(ctxt, node, "string(./target/@dev)", disk->target,
			  sizeof(disk->target), "<target dev>", ret_error)) < 0 ||
	    (r = xml_copy(ctxt, node, "string(./driver/@name)", disk->driver_name,
			  sizeof(disk->driver_name), "<driver name>", ret_error)) < 0 ||
	    (r = xml_copy(ctxt, node, "string(./driver/@type)", disk->driver_type,
			  sizeof(disk->driver_type), "<driver type>", ret_error)) < 0 ||
	    (r = xml_copy(ctxt, node, "string(./serial)", disk->serial, sizeof(disk->serial),
			  "<serial>", ret_error)) < 0 ||
	    (r = xml_copy(ctxt, node, "string(./alias/@name)", disk->alias, sizeof(disk->alias),
			  "<alias name>", ret_error)) < 0 ||
	    (r = xml_u64(ctxt, node, "string(./boot/@order)", &order, "<boot order>",
			 ret_error)) < 0)
		return r;
	if (order > 1000)
		return error_set(ret_error, -EINVAL,
			_("The boot order %llu of disk %s is too large; use 1 to 1000."),
			(unsigned long long)order, disk->target);
	disk->boot_order = (unsigned)order;
	disk->readonly = xml_exists(ctxt, node, "./readonly");
	cache = xml_string(ctxt, node, "string(./driver/@cache)");
	disk->cache = cache ? disk_cache_from_string(cache) : DISK_CACHE_DEFAULT;
	if (disk->cache < 0)
		return error_set(
			ret_error, -EINVAL, _("The disk cache mode %s is not supported."), cache);
	/* cache='default' means the same as no attribute; keep one spelling for round trips. */
	return 0;
}

int net_def_parse_node(xmlXPathContextPtr ctxt, xmlNodePtr node, struct net_def *net,
		       char **ret_error)
{
	_cleanup_free_ char *type = xml_string(ctxt, node, "string(./@type)");
	_cleanup_free_ char *mac = xml_string(ctxt, node, "string(./mac/@address)");
	_cleanup_free_ char *managed = NULL;
	int r;

	*net = (struct net_def){ .managed = true };
	net->type = net_type_from_string(type);
	if (net->type < 0)
		return error_set(ret_error, -EINVAL,
			_("The interface type %s is not supported; use bridge or "
			  "ethernet."),
			strna(type));
	if ((r = xml_copy(ctxt, node, "string(./source/@bridge)", net->bridge,
			  sizeof(net->bridge), "<source bridge>", ret_error)) < 0 ||
	    (r = xml_copy(ctxt, node, "string(./target/@dev)", net->ifname, sizeof(net->ifname),
			  "<target dev>", ret_error)) < 0 ||
	    (r = xml_copy(ctxt, node, "string(./model/@type)", net->model, sizeof(net->model),
			  "<model type>", ret_error)) < 0 ||
	    (r = xml_copy(ctxt, node, "string(./alias/@name)", net->alias, sizeof(net->alias),
			  "<alias name>", ret_error)) < 0)
		return r;
	managed = xml_string(ctxt, node, "string(./target/@managed)");
	net->managed = !managed || !streq(managed, "no");
	/* virtio is the only model, and the formatter always names it. */
	if (!net->model[0])
		strcpy(net->model, "virtio");
	if (!mac) {
		net->mac_generated = true;
		r = mac_generate(net->mac);
		if (r < 0)
			return error_set(ret_error, r, _("A MAC address cannot be generated."));
	} else if (mac_parse(mac, net->mac) < 0)
		return error_set(ret_error, -EINVAL,
			_("The MAC address %s is malformed; write it as "
			  "52:54:00:12:34:56."),
			mac);
	return 0;
}

int chr_def_parse_node(xmlXPathContextPtr ctxt, xmlNodePtr node, struct chr_def *chr,
		       char **ret_error)
{
	_cleanup_free_ char *type = xml_string(ctxt, node, "string(./@type)");
	_cleanup_free_ char *port = xml_string(ctxt, node, "string(./target/@port)");
	uint64_t p = 0;
	int r;

	*chr = (struct chr_def){ .target_port = -1 };
	chr->is_console = streq((const char *)node->name, "console");
	chr->type = chr_type_from_string(type);
	if (chr->type < 0)
		return error_set(ret_error, -EINVAL,
			_("The <%s> type %s is not supported; use pty or unix."),
			(const char *)node->name, strna(type));
	if ((r = xml_copy(ctxt, node, "string(./source/@mode)", chr->source_mode,
			  sizeof(chr->source_mode), "<source mode>", ret_error)) < 0 ||
	    (r = xml_copy(ctxt, node, "string(./source/@path)", chr->source_path,
			  sizeof(chr->source_path), "<source path>", ret_error)) < 0 ||
	    (r = xml_copy(ctxt, node, "string(./target/@type)", chr->target_type,
			  sizeof(chr->target_type), "<target type>", ret_error)) < 0)
		return r;
	if (port && (parse_u64(port, &p) < 0 || p > 0))
		return error_set(ret_error, -EINVAL,
			_("The <%s> target port %s is not supported; mvirt has one port, "
			  "0."),
			(const char *)node->name, port);
	if (port)
		chr->target_port = 0;
	return 0;
}

void disk_def_format_buf(struct xbuf *b, const struct disk_def *disk, int indent)
{
	xbuf_printf(b, "%*s<disk type='file' device='disk'>\n", indent, "");
	if (disk->driver_name[0] || disk->driver_type[0] || disk->cache != DISK_CACHE_DEFAULT) {
		xbuf_printf(b, "%*s<driver", indent + 2, "");
		xbuf_attr(b, "name", disk->driver_name);
		xbuf_attr(b, "type", disk->driver_type);
		if (disk->cache != DISK_CACHE_DEFAULT)
			xbuf_attr(b, "cache", disk_cache_to_string(disk->cache));
		xbuf_printf(b, "/>\n");
	}
	xbuf_printf(b, "%*s<source", indent + 2, "");
	xbuf_attr(b, "file", disk->source);
	xbuf_printf(b, "/>\n%*s<target", indent + 2, "");
	xbuf_attr(b, "dev", disk->target);
	xbuf_printf(b, " bus='virtio'/>\n");
	if (disk->readonly)
		xbuf_printf(b, "%*s<readonly/>\n", indent + 2, "");
	if (disk->serial[0]) {
		xbuf_printf(b, "%*s<serial>", indent + 2, "");
		xbuf_escape(b, disk->serial);
		xbuf_printf(b, "</serial>\n");
	}
	if (disk->boot_order)
		xbuf_printf(b, "%*s<boot order='%u'/>\n", indent + 2, "", disk->boot_order);
	if (disk->alias[0]) {
		xbuf_printf(b, "%*s<alias", indent + 2, "");
		xbuf_attr(b, "name", disk->alias);
		xbuf_printf(b, "/>\n");
	}
	xbuf_printf(b, "%*s</disk>\n", indent, "");
}

void net_def_format_buf(struct xbuf *b, const struct net_def *net, int indent)
{
	char mac[MAC_STR_SIZE];

	mac_format(net->mac, mac);
	xbuf_printf(b, "%*s<interface type='%s'>\n", indent, "", net_type_to_string(net->type));
	xbuf_printf(b, "%*s<mac address='%s'/>\n", indent + 2, "", mac);
	if (net->bridge[0]) {
		xbuf_printf(b, "%*s<source", indent + 2, "");
		xbuf_attr(b, "bridge", net->bridge);
		xbuf_printf(b, "/>\n");
	}
	if (net->ifname[0]) {
		xbuf_printf(b, "%*s<target", indent + 2, "");
		xbuf_attr(b, "dev", net->ifname);
		if (!net->managed)
			xbuf_printf(b, " managed='no'");
		xbuf_printf(b, "/>\n");
	}
	xbuf_printf(b, "%*s<model type='virtio'/>\n", indent + 2, "");
	if (net->alias[0]) {
		xbuf_printf(b, "%*s<alias", indent + 2, "");
		xbuf_attr(b, "name", net->alias);
		xbuf_printf(b, "/>\n");
	}
	xbuf_printf(b, "%*s</interface>\n", indent, "");
}

void chr_def_format_buf(struct xbuf *b, const struct chr_def *chr, int indent)
{
	const char *name = chr->is_console ? "console" : "serial";

	xbuf_printf(b, "%*s<%s type='%s'>\n", indent, "", name, chr_type_to_string(chr->type));
	if (chr->type == CHR_TYPE_UNIX) {
		xbuf_printf(b, "%*s<source", indent + 2, "");
		xbuf_attr(b, "mode", chr->source_mode);
		xbuf_attr(b, "path", chr->source_path);
		xbuf_printf(b, "/>\n");
	}
	if (chr->target_type[0] || chr->target_port >= 0) {
		xbuf_printf(b, "%*s<target", indent + 2, "");
		xbuf_attr(b, "type", chr->target_type);
		if (chr->target_port >= 0)
			xbuf_printf(b, " port='%d'", chr->target_port);
		xbuf_printf(b, "/>\n");
	}
	xbuf_printf(b, "%*s</%s>\n", indent, "", name);
}

struct device_def *device_def_new(enum device_kind kind)
{
	struct device_def *dev = calloc(1, sizeof(*dev));

	if (!dev)
		return NULL;
	dev->kind = kind;
	/* A NIC is managed unless <target managed='no'> says otherwise. */
	dev->net.managed = kind == DEVICE_KIND_INTERFACE;
	return dev;
}

struct device_def *device_def_free(struct device_def *dev)
{
	free(dev);
	return NULL;
}

int device_def_parse_at(const char *xml, struct device_def **ret, long *ret_error_line,
			char **ret_error)
{
	_cleanup_(xmlFreeDocp) xmlDocPtr doc = NULL;
	_cleanup_(xmlXPathFreeContextp) xmlXPathContextPtr ctxt = NULL;
	_cleanup_device_def_ struct device_def *dev = NULL;
	xmlNodePtr root;
	int r;

	r = xml_parse_validated(xml, "device.rng", &doc, ret_error_line, ret_error);
	if (r < 0)
		return r;
	root = xmlDocGetRootElement(doc);
	ctxt = xmlXPathNewContext(doc);
	dev = device_def_new(streq((const char *)root->name, "disk") ? DEVICE_KIND_DISK
								       : DEVICE_KIND_INTERFACE);
	if (!ctxt || !dev)
		return -ENOMEM;
	if (dev->kind == DEVICE_KIND_DISK)
		r = disk_def_parse_node(ctxt, root, &dev->disk, ret_error);
	else
		r = net_def_parse_node(ctxt, root, &dev->net, ret_error);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(dev);
	return 0;
}

int device_def_parse(const char *xml, struct device_def **ret, char **ret_error)
{
	return device_def_parse_at(xml, ret, NULL, ret_error);
}

int device_def_from_xml(const char *xml, struct device_def **ret, char **ret_error)
{
	_cleanup_device_def_ struct device_def *dev = NULL;
	int r;

	r = device_def_parse(xml, &dev, ret_error);
	if (r < 0)
		return r;
	r = device_def_validate(dev, ret_error);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(dev);
	return 0;
}

int device_def_format(const struct device_def *dev, char **ret_xml)
{
	struct xbuf b = {};

	if (dev->kind == DEVICE_KIND_DISK)
		disk_def_format_buf(&b, &dev->disk, 0);
	else
		net_def_format_buf(&b, &dev->net, 0);
	return xbuf_steal(&b, ret_xml);
}

bool disk_def_matches(const struct disk_def *have, const struct disk_def *want)
{
	if (want->target[0])
		return streq(have->target, want->target);
	return want->alias[0] && streq(have->alias, want->alias);
}

bool net_def_matches(const struct net_def *have, const struct net_def *want)
{
	if (!want->mac_generated)
		return memcmp(have->mac, want->mac, MAC_LEN) == 0 &&
		       (!want->alias[0] || streq(have->alias, want->alias));
	if (want->alias[0])
		return streq(have->alias, want->alias);
	/* No MAC and no alias: what the XML does say, as libvirt matches it. */
	return have->type == want->type &&
	       (!want->bridge[0] || streq(have->bridge, want->bridge)) &&
	       (!want->ifname[0] || streq(have->ifname, want->ifname)) &&
	       streq(have->model, want->model);
}

void disk_default_alias(const char *target, char ret[CONF_ALIAS_MAX + 1])
{
	snprintf(ret, CONF_ALIAS_MAX + 1, "disk-%s", target);
}

void net_default_alias(const uint8_t mac[MAC_LEN], char ret[CONF_ALIAS_MAX + 1])
{
	snprintf(ret, CONF_ALIAS_MAX + 1, "net-%02x%02x%02x%02x%02x%02x", mac[0], mac[1], mac[2],
		 mac[3], mac[4], mac[5]);
}

void device_def_ensure_alias(struct device_def *dev)
{
	if (dev->kind == DEVICE_KIND_DISK) {
		if (!dev->disk.alias[0])
			disk_default_alias(dev->disk.target, dev->disk.alias);
		return;
	}
	if (!dev->net.alias[0])
		net_default_alias(dev->net.mac, dev->net.alias);
}

const char *device_def_alias(const struct device_def *dev)
{
	return dev->kind == DEVICE_KIND_DISK ? dev->disk.alias : dev->net.alias;
}
