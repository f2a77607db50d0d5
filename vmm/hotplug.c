/*
 * The hot-plug slots of one VM and the backends that fill them (hotplug.h).
 * The rules are StratoVirt's (seed/stratovirt-hotplug.ru.md): 6 disk and 2 NIC
 * slots (32 and 8 in the dynamic model); a device's id names its backend; the
 * image of the root disk can never be plugged a second time nor unplugged.
 * Every check runs before anything changes, so a refused call leaves the VM as
 * it was.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hotplug.h"
#include "hotplug-backends.h"
#include "i18n.h"
#include "mac.h"
#include "log.h"
#include "string-table.h"
#include "util.h"

/* The virtio-net header with VIRTIO_NET_F_MRG_RXBUF / version 1 layout. */

/*
 * A backend freed by device_del keeps its name (released) until blockdev-del / netdev_del
 * names it or the entry is reused: QEMU's clients unplug with device_del and then delete the
 * backend, StratoVirt's guide with device_del alone; both succeed and neither leaks an fd.
 */
struct blk_entry {
	struct blk_backend b;
	bool used;
	bool released;
	int slot; /* the slot it fills, or -1 */
	dev_t st_dev;
	ino_t st_ino;
};

struct net_entry {
	struct net_backend b;
	bool used;
	bool released;
	int slot;
};

struct slot {
	void *dev;
	char id[HOTPLUG_ID_MAX]; /* empty when the slot is free */
	int backend;             /* index into blks[] or nets[], or -1 */
	bool boot;
	bool leaving; /* dynamic model: the guest was asked to give the device back */
};

struct hotplug {
	const struct slot_ops *ops;
	enum hotplug_model model;
	struct slot blk_slots[HOTPLUG_BLK_SLOTS_MAX];
	struct slot net_slots[HOTPLUG_NET_SLOTS_MAX];
	struct blk_entry blks[HOTPLUG_BLK_BACKENDS_MAX];
	struct net_entry nets[HOTPLUG_NET_BACKENDS_MAX];
	const struct guest_bus_ops *bus_ops;
	void *bus;
	hotplug_deleted_fn deleted;
	void *deleted_opaque;
};



int hotplug_slot_count(const struct hotplug *hp, enum slot_kind kind)
{
	return hotplug_model_slot_count(hp->model, kind);
}

/* Backends of a kind open at once: twice the slots, so the next can open before the old goes. */
static int backends_max(const struct hotplug *hp, enum slot_kind kind)
{
	return 2 * hotplug_slot_count(hp, kind);
}

struct hotplug *hotplug_new(const struct slot_ops *ops, enum hotplug_model model,
	void *const *blk_devs, void *const *net_devs)
{
	struct hotplug *hp = calloc(1, sizeof(*hp));

	if (!hp)
		return NULL;
	hp->ops = ops;
	hp->model = model;
	for (int i = 0; i < hotplug_slot_count(hp, SLOT_BLK); i++)
		hp->blk_slots[i] = (struct slot){ .dev = blk_devs ? blk_devs[i] : NULL, .backend = -1 };
	for (int i = 0; i < hotplug_slot_count(hp, SLOT_NET); i++)
		hp->net_slots[i] = (struct slot){ .dev = net_devs ? net_devs[i] : NULL, .backend = -1 };
	for (int i = 0; i < HOTPLUG_BLK_BACKENDS_MAX; i++)
		hp->blks[i].b.fd = -1;
	for (int i = 0; i < HOTPLUG_NET_BACKENDS_MAX; i++)
		hp->nets[i].b.tap_fd = -1;
	return hp;
}

void hotplug_set_guest_bus(struct hotplug *hp, const struct guest_bus_ops *ops, void *bus)
{
	hp->bus_ops = ops;
	hp->bus = bus;
}

void hotplug_set_deleted_fn(struct hotplug *hp, hotplug_deleted_fn fn, void *opaque)
{
	hp->deleted = fn;
	hp->deleted_opaque = opaque;
}

struct hotplug *hotplug_free(struct hotplug *hp)
{
	if (!hp)
		return NULL;
	/* The devices go away with the VM; only the backends' fds are ours to close. */
	for (int i = 0; i < HOTPLUG_BLK_BACKENDS_MAX; i++)
		if (hp->blks[i].used)
			safe_close(hp->blks[i].b.fd);
	for (int i = 0; i < HOTPLUG_NET_BACKENDS_MAX; i++)
		if (hp->nets[i].used)
			safe_close(hp->nets[i].b.tap_fd);
	free(hp);
	return NULL;
}

static struct slot *slots_of(struct hotplug *hp, enum slot_kind kind)
{
	return kind == SLOT_BLK ? hp->blk_slots : hp->net_slots;
}

static int blk_find(struct hotplug *hp, const char *node_name)
{
	for (int i = 0; i < HOTPLUG_BLK_BACKENDS_MAX; i++)
		if (hp->blks[i].used && streq(hp->blks[i].b.node_name, node_name))
			return i;
	return -1;
}

static int net_find(struct hotplug *hp, const char *id)
{
	for (int i = 0; i < HOTPLUG_NET_BACKENDS_MAX; i++)
		if (hp->nets[i].used && streq(hp->nets[i].b.id, id))
			return i;
	return -1;
}

/* Finds the slot holding device id; returns its kind's slot array index or -1. */
static int device_find(struct hotplug *hp, const char *id, enum slot_kind *ret_kind)
{
	for (enum slot_kind k = 0; k < _SLOT_KIND_MAX; k++) {
		struct slot *slots = slots_of(hp, k);

		for (int i = 0; i < hotplug_slot_count(hp, k); i++)
			if (slots[i].id[0] && streq(slots[i].id, id)) {
				*ret_kind = k;
				return i;
			}
	}
	return -1;
}

static int check_id(const char *what, const char *id, char **ret_error)
{
	if (isempty(id))
		return error_set(ret_error, -EINVAL, _("The %s is missing or empty; give a name such as "
						  "\"drive-0\"."), what);
	if (strlen(id) >= HOTPLUG_ID_MAX)
		return error_set(ret_error, -ENAMETOOLONG,
			_("The %s \"%s\" is longer than %d characters; choose a shorter one."), what,
			id, HOTPLUG_ID_MAX - 1);
	return 0;
}

static bool is_root_entry(struct hotplug *hp, int index)
{
	const struct slot *s = &hp->blk_slots[0];

	return s->boot && s->backend == index;
}

/* Refuses an image that is already open under another node-name in a way that clashes. */
static int check_image_shared(struct hotplug *hp, const struct blockdev_spec *spec,
	const struct stat *st, char **ret_error)
{
	for (int i = 0; i < HOTPLUG_BLK_BACKENDS_MAX; i++) {
		const struct blk_entry *e = &hp->blks[i];

		if (!e->used || e->st_dev != st->st_dev || e->st_ino != st->st_ino)
			continue;
		if (is_root_entry(hp, i))
			return error_set(ret_error, -EBUSY,
				_("The image %s holds the guest's root file system (node \"%s\"); it "
				  "can never be hot-plugged; give another image."),
				spec->path ? spec->path : e->b.path, e->b.node_name);
		if (!e->b.read_only)
			return error_set(ret_error, -EBUSY,
				_("The image %s is already open read-write as node \"%s\"; give "
				  "another image or remove that node first."),
				spec->path ? spec->path : e->b.path, e->b.node_name);
		if (!spec->read_only)
			return error_set(ret_error, -EBUSY,
				_("The image %s is already open read-only as node \"%s\"; it can be "
				  "shared only read-only: set \"read-only\": true or give another "
				  "image."), spec->path ? spec->path : e->b.path, e->b.node_name);
	}
	return 0;
}

static int blk_free_entry(struct hotplug *hp, char **ret_error)
{
	/* A released entry only keeps a name for a late blockdev-del: take it last. */
	int n = backends_max(hp, SLOT_BLK), open = 0;

	for (int i = 0; i < HOTPLUG_BLK_BACKENDS_MAX; i++)
		open += hp->blks[i].used;
	for (int i = 0; i < HOTPLUG_BLK_BACKENDS_MAX && open < n; i++)
		if (!hp->blks[i].used && !hp->blks[i].released)
			return i;
	for (int i = 0; i < HOTPLUG_BLK_BACKENDS_MAX && open < n; i++)
		if (!hp->blks[i].used)
			return i;
	return error_set(ret_error, -ENOSPC, _("%d block backends are already open; remove one with "
					  "blockdev-del or device_del first."), n);
}

int hotplug_blockdev_add(struct hotplug *hp, const struct blockdev_spec *spec, char **ret_error)
{
	_cleanup_close_ int fd = -1;
	const char *what = spec->path ? spec->path : spec->node_name;
	struct blk_entry *e;
	struct stat st;
	uint64_t size;
	int r, slot;

	r = check_id("node-name", spec->node_name, ret_error);
	if (r < 0)
		return r;
	if (blk_find(hp, spec->node_name) >= 0)
		return error_set(ret_error, -EEXIST, _("A block node named \"%s\" already exists; choose "
						  "another node-name or remove it with blockdev-del."),
			spec->node_name);
	if (spec->path && strlen(spec->path) >= PATH_MAX)
		return error_set(ret_error, -ENAMETOOLONG, _("The image path %s is too long."), spec->path);
	slot = blk_free_entry(hp, ret_error);
	if (slot < 0)
		return slot;
	for (int i = 0; i < HOTPLUG_BLK_BACKENDS_MAX; i++)
		if (hp->blks[i].released && streq(hp->blks[i].b.node_name, spec->node_name))
			hp->blks[i].released = false; /* the name is taken again */
	fd = backend_image_open(spec, ret_error);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0)
		return error_set(ret_error, -errno, _("Could not inspect the image %s: %s."), what,
			strerror(errno));
	r = backend_image_size(fd, &st, what, &size, ret_error);
	if (r < 0)
		return r;
	r = check_image_shared(hp, spec, &st, ret_error);
	if (r < 0)
		return r;

	e = &hp->blks[slot];
	*e = (struct blk_entry){ .used = true, .slot = -1, .st_dev = st.st_dev, .st_ino = st.st_ino };
	str_copy(e->b.node_name, sizeof(e->b.node_name), spec->node_name);
	str_copy(e->b.path, sizeof(e->b.path), spec->path ? spec->path : "");
	e->b.fd = TAKE_FD(fd);
	e->b.size = size;
	e->b.read_only = spec->read_only;
	e->b.direct = spec->direct;
	log_debug("Opened block node %s (%s, %" PRIu64 " bytes%s).", e->b.node_name, e->b.path,
		size, spec->read_only ? ", read-only" : "");
	return 0;
}

int hotplug_blockdev_del(struct hotplug *hp, const char *node_name, char **ret_error)
{
	int i = node_name ? blk_find(hp, node_name) : -1;

	for (int j = 0; i < 0 && node_name && j < HOTPLUG_BLK_BACKENDS_MAX; j++)
		if (hp->blks[j].released && streq(hp->blks[j].b.node_name, node_name)) {
			hp->blks[j] = (struct blk_entry){ .b.fd = -1 };
			return 0; /* device_del closed it already */
		}
	if (i < 0)
		return error_set(ret_error, -ENOENT, _("No block node is named \"%s\"; query-slots lists "
						  "the nodes in use."), node_name ? node_name : "");
	if (hp->blks[i].slot >= 0)
		return error_set(ret_error, -EBUSY, _("Block node \"%s\" is in use by a disk in slot 0x%x; "
						 "remove the disk with device_del first."),
			node_name, hp->blks[i].slot);
	safe_close(hp->blks[i].b.fd);
	hp->blks[i] = (struct blk_entry){ .b.fd = -1 };
	return 0;
}

int hotplug_netdev_add(struct hotplug *hp, const struct netdev_spec *spec, char **ret_error)
{
	char ifname[IFNAMSIZ] = "";
	struct net_entry *e = NULL;
	int r, fd, n_open = 0;

	r = check_id("id", spec->id, ret_error);
	if (r < 0)
		return r;
	if (net_find(hp, spec->id) >= 0)
		return error_set(ret_error, -EEXIST, _("A netdev with id \"%s\" already exists; choose "
						  "another id or remove it with netdev_del."), spec->id);
	for (int i = 0; i < HOTPLUG_NET_BACKENDS_MAX; i++)
		n_open += hp->nets[i].used;
	for (int i = 0; i < HOTPLUG_NET_BACKENDS_MAX && !e && n_open < backends_max(hp, SLOT_NET); i++)
		if (!hp->nets[i].used && !hp->nets[i].released)
			e = &hp->nets[i];
	for (int i = 0; i < HOTPLUG_NET_BACKENDS_MAX && !e && n_open < backends_max(hp, SLOT_NET); i++)
		if (!hp->nets[i].used)
			e = &hp->nets[i];
	if (!e)
		return error_set(ret_error, -ENOSPC, _("%d netdevs are already open; remove one with "
						  "netdev_del or device_del first."),
			backends_max(hp, SLOT_NET));
	if (spec->fd < 0 && isempty(spec->ifname))
		return error_set(ret_error, -EINVAL, _("Netdev \"%s\" names no TAP; give \"ifname\" or "
						  "a file descriptor passed with getfd."), spec->id);
	for (int i = 0; spec->fd < 0 && i < HOTPLUG_NET_BACKENDS_MAX; i++)
		if (hp->nets[i].used && streq(hp->nets[i].b.ifname, spec->ifname))
			return error_set(ret_error, -EBUSY, _("The TAP device \"%s\" is already used by "
							 "netdev \"%s\"; give another TAP device."),
				spec->ifname, hp->nets[i].b.id);
	if (spec->fd >= 0)
		fd = backend_tap_adopt(spec->fd, spec->id, ifname, ret_error);
	else
		fd = backend_tap_open(spec->ifname, ret_error);
	if (fd < 0)
		return fd;
	for (int i = 0; i < HOTPLUG_NET_BACKENDS_MAX; i++)
		if (hp->nets[i].released && streq(hp->nets[i].b.id, spec->id))
			hp->nets[i].released = false; /* the name is taken again */
	*e = (struct net_entry){ .used = true, .slot = -1, .b.tap_fd = fd };
	str_copy(e->b.id, sizeof(e->b.id), spec->id);
	str_copy(e->b.ifname, sizeof(e->b.ifname), spec->fd >= 0 ? ifname : spec->ifname);
	log_debug("Opened netdev %s on TAP %s.", e->b.id, e->b.ifname);
	return 0;
}

int hotplug_netdev_del(struct hotplug *hp, const char *id, char **ret_error)
{
	int i = id ? net_find(hp, id) : -1;

	for (int j = 0; i < 0 && id && j < HOTPLUG_NET_BACKENDS_MAX; j++)
		if (hp->nets[j].released && streq(hp->nets[j].b.id, id)) {
			hp->nets[j] = (struct net_entry){ .b.tap_fd = -1 };
			return 0; /* device_del closed it already */
		}
	if (i < 0)
		return error_set(ret_error, -ENOENT, _("No netdev has the id \"%s\"; query-slots lists the "
						  "netdevs in use."), id ? id : "");
	if (hp->nets[i].slot >= 0)
		return error_set(ret_error, -EBUSY, _("Netdev \"%s\" is in use by a NIC in slot 0x%x; "
						 "remove the NIC with device_del first."),
			id, hp->nets[i].slot);
	safe_close(hp->nets[i].b.tap_fd);
	hp->nets[i] = (struct net_entry){ .b.tap_fd = -1 };
	return 0;
}

static int check_mac(struct hotplug *hp, const struct device_spec *spec, int slot,
	char **ret_error)
{
	uint8_t want[MAC_LEN], have[MAC_LEN] = { 0 };
	char have_s[MAC_STR_SIZE];

	if (!spec->mac)
		return 0;
	if (mac_parse(spec->mac, want) < 0)
		return error_set(ret_error, -EINVAL, _("The MAC address \"%s\" is not of the form "
						  "52:54:00:12:34:56; correct it or leave \"mac\" out."),
			spec->mac);
	if (want[0] & 1)
		return error_set(ret_error, -EINVAL, _("The MAC address %s is a multicast address; "
						  "give a unicast one (an even first byte)."), spec->mac);
	/* The guest has not seen this slot yet: its NIC takes the MAC asked for. */
	if (hp->model == HOTPLUG_ACPI)
		return 0;
	if (hp->ops && hp->ops->net_mac)
		hp->ops->net_mac(hp->net_slots[slot].dev, have);
	if (memcmp(want, have, MAC_LEN) == 0)
		return 0;
	mac_format(have, have_s);
	return error_set(ret_error, -EINVAL, _("The MAC address %s differs from the MAC %s of NIC slot "
					  "0x%x, which the guest read at boot and cannot change; "
					  "give %s or leave \"mac\" out."),
		spec->mac, have_s, slot, have_s);
}

/* In the dynamic model, a slot the guest gave a device back from stays unusable. */
static bool slot_usable(struct hotplug *hp, enum slot_kind kind, int slot)
{
	return !hp->bus_ops || !hp->bus_ops->slot_usable ||
	       hp->bus_ops->slot_usable(hp->bus, kind, slot);
}

/* Picks the slot for a device: the one asked for if it is free, else the first free one. */
static int pick_slot(struct hotplug *hp, const struct device_spec *spec, char **ret_error)
{
	struct slot *slots = slots_of(hp, spec->kind);
	int n = hotplug_slot_count(hp, spec->kind);
	bool blk = spec->kind == SLOT_BLK;

	if (spec->slot < 0) {
		for (int i = 0; i < n; i++)
			if (!slots[i].id[0] && slot_usable(hp, spec->kind, i))
				return i;
		return error_set(ret_error, -ENOSPC,
			blk ? _("All %d disk slots are in use, so device \"%s\" cannot be added; "
				"remove a disk with device_del first.")
			    : _("All %d NIC slots are in use, so device \"%s\" cannot be added; "
				"remove a NIC with device_del first."),
			n, spec->id);
	}
	if (spec->slot >= n && blk)
		return error_set(ret_error, -ERANGE, _("The address 0x%x of device \"%s\" is out of "
						  "range; a disk takes an addr from 0x0 to 0x%x (or a "
						  "lun from 0 to %d)."),
			spec->slot, spec->id, n - 1, n - 2);
	if (spec->slot >= n && n == 2)
		return error_set(ret_error, -ERANGE, _("The address 0x%x of device \"%s\" is out of "
						  "range; a NIC takes an addr of 0x0 or 0x1."),
			spec->slot, spec->id);
	if (spec->slot >= n)
		return error_set(ret_error, -ERANGE, _("The address 0x%x of device \"%s\" is out of "
						  "range; a NIC takes an addr from 0x0 to 0x%x."),
			spec->slot, spec->id, n - 1);
	if (slots[spec->slot].id[0])
		return error_set(ret_error, -EBUSY, _("Slot 0x%x is already occupied by device \"%s\"; "
						 "choose a free addr (query-slots lists them) or "
						 "remove that device with device_del."),
			spec->slot, slots[spec->slot].id);
	if (!slot_usable(hp, spec->kind, spec->slot))
		return error_set(ret_error, -EBUSY, _("Slot 0x%x held a device since the guest booted, "
						 "and the guest keeps its description until the VM "
						 "restarts; leave addr out or choose a slot query-slots "
						 "does not mark \"retired\"."), spec->slot);
	return spec->slot;
}

/* Finds the backend a device names and checks that it is free; returns its index. */
static int find_backend(struct hotplug *hp, const struct device_spec *spec, const char *name,
	char **ret_error)
{
	bool blk = spec->kind == SLOT_BLK;
	int i = blk ? blk_find(hp, name) : net_find(hp, name);
	int used;

	if (i < 0 && blk)
		return error_set(ret_error, -ENOENT, _("No block node is named \"%s\", so disk \"%s\" has "
						  "no image; run blockdev-add with \"node-name\": "
						  "\"%s\" first (node-name must match the id of "
						  "device_add)."), name, spec->id, name);
	if (i < 0)
		return error_set(ret_error, -ENOENT, _("No netdev has the id \"%s\", so NIC \"%s\" has no "
						  "TAP; run netdev_add with \"id\": \"%s\" first (its "
						  "id must match the id of device_add)."),
			name, spec->id, name);
	used = blk ? hp->blks[i].slot : hp->nets[i].slot;
	if (used >= 0)
		return error_set(ret_error, -EBUSY, _("Backend \"%s\" is already plugged in as device "
						 "\"%s\"; open another backend for device \"%s\"."),
			name, slots_of(hp, spec->kind)[used].id, spec->id);
	return i;
}

int hotplug_device_add(struct hotplug *hp, const struct device_spec *spec, char **ret_error)
{
	const char *name = spec->backend ? spec->backend : spec->id;
	enum slot_kind other_kind;
	struct slot *s;
	int r, b, slot;

	if (spec->kind != SLOT_BLK && spec->kind != SLOT_NET)
		return error_set(ret_error, -EINVAL, _("Only disks and NICs can be hot-plugged."));
	r = check_id("id", spec->id, ret_error);
	if (r < 0)
		return r;
	slot = device_find(hp, spec->id, &other_kind);
	if (slot >= 0)
		return error_set(ret_error, -EEXIST, _("A device with id \"%s\" is already plugged into "
						  "%s slot 0x%x; choose another id or remove it with "
						  "device_del first."),
			spec->id, slot_kind_to_string(other_kind), slot);
	b = find_backend(hp, spec, name, ret_error);
	if (b < 0)
		return b;
	slot = pick_slot(hp, spec, ret_error);
	if (slot < 0)
		return slot;
	if (spec->kind == SLOT_NET) {
		r = check_mac(hp, spec, slot, ret_error);
		if (r < 0)
			return r;
	}
	s = &slots_of(hp, spec->kind)[slot];
	if (hp->model == HOTPLUG_ACPI && !hp->bus_ops)
		return error_set(ret_error, -ENODEV, _("This VM has no hot-plug controller, so device "
						  "\"%s\" cannot be added."), spec->id);
	if (spec->kind == SLOT_NET && spec->mac && hp->model == HOTPLUG_ACPI) {
		uint8_t mac[MAC_LEN];

		(void)mac_parse(spec->mac, mac); /* checked by check_mac() */
		hp->ops->net_set_mac(s->dev, mac);
	}
	if (spec->kind == SLOT_BLK)
		r = hp->ops->attach_blk(s->dev, &hp->blks[b].b, spec->serial);
	else
		r = hp->ops->attach_net(s->dev, &hp->nets[b].b);
	if (r >= 0 && hp->model == HOTPLUG_ACPI) {
		r = hp->bus_ops->announce(hp->bus, spec->kind, slot);
		if (r < 0)
			(void)(spec->kind == SLOT_BLK ? hp->ops->detach_blk(s->dev)
						      : hp->ops->detach_net(s->dev));
	}
	if (r < 0)
		return error_set(ret_error, r, _("Could not plug device \"%s\" into %s slot 0x%x: %s."),
			spec->id, slot_kind_to_string(spec->kind), slot, strerror(-r));
	str_copy(s->id, sizeof(s->id), spec->id);
	s->backend = b;
	s->boot = spec->boot;
	if (spec->kind == SLOT_BLK)
		hp->blks[b].slot = slot;
	else
		hp->nets[b].slot = slot;
	log_info("Plugged %s \"%s\" into slot 0x%x.", slot_kind_to_string(spec->kind), spec->id,
		slot);
	return 0;
}

/* Empties slot: the device stops using its backend, which closes; then DEVICE_DELETED. */
static int slot_empty(struct hotplug *hp, enum slot_kind kind, int slot, char **ret_error)
{
	struct slot *s = &slots_of(hp, kind)[slot];
	char id[HOTPLUG_ID_MAX];
	int r;

	r = kind == SLOT_BLK ? hp->ops->detach_blk(s->dev) : hp->ops->detach_net(s->dev);
	if (r < 0)
		return error_set(ret_error, r, _("Could not unplug device \"%s\" from %s slot 0x%x: %s."),
			s->id, slot_kind_to_string(kind), slot, strerror(-r));
	if (kind == SLOT_BLK) {
		struct blk_entry *e = &hp->blks[s->backend];
		struct blk_entry gone = { .released = true, .b.fd = -1 };

		safe_close(e->b.fd);
		memcpy(gone.b.node_name, e->b.node_name, sizeof(gone.b.node_name));
		*e = gone;
	} else {
		struct net_entry *e = &hp->nets[s->backend];
		struct net_entry gone = { .released = true, .b.tap_fd = -1 };

		safe_close(e->b.tap_fd);
		memcpy(gone.b.id, e->b.id, sizeof(gone.b.id));
		*e = gone;
	}
	memcpy(id, s->id, sizeof(id));
	log_info("Unplugged %s \"%s\" from slot 0x%x.", slot_kind_to_string(kind), id, slot);
	*s = (struct slot){ .dev = s->dev, .backend = -1 };
	if (hp->deleted)
		hp->deleted(hp->deleted_opaque, id);
	return 0;
}

int hotplug_device_del(struct hotplug *hp, const char *id, char **ret_error)
{
	enum slot_kind kind;
	struct slot *s;
	int slot, r;

	slot = id ? device_find(hp, id, &kind) : -1;
	if (slot < 0)
		return error_set(ret_error, -ENOENT, _("No device has the id \"%s\"; query-slots lists the "
						  "plugged devices."), id ? id : "");
	s = &slots_of(hp, kind)[slot];
	if (kind == SLOT_BLK && slot == 0 && s->boot)
		return error_set(ret_error, -EPERM, _("Disk \"%s\" holds the guest's root file system and "
						 "can never be unplugged."), id);
	if (kind == SLOT_NET && s->boot)
		return error_set(ret_error, -EPERM, _("NIC \"%s\" was given on the command line and "
						 "cannot be unplugged."), id);
	if (hp->model == HOTPLUG_SLOTS)
		return slot_empty(hp, kind, slot, ret_error);
	if (s->leaving)
		return error_set(ret_error, -EINPROGRESS, _("Device \"%s\" is already being removed; "
							"wait for its DEVICE_DELETED event."), id);
	r = hp->bus_ops->withdraw(hp->bus, kind, slot);
	if (r < 0)
		return error_set(ret_error, r, _("Could not ask the guest to release device \"%s\": %s."),
			id, strerror(-r));
	if (r > 0)
		return slot_empty(hp, kind, slot, ret_error);
	s->leaving = true;
	log_info("Asked the guest to release %s \"%s\" in slot 0x%x.", slot_kind_to_string(kind),
		id, slot);
	return 1;
}

void hotplug_device_released(struct hotplug *hp, enum slot_kind kind, int slot)
{
	struct slot *s;
	char *error = NULL;

	if (slot < 0 || slot >= hotplug_slot_count(hp, kind))
		return;
	s = &slots_of(hp, kind)[slot];
	if (!s->id[0] || !s->leaving)
		return;
	if (slot_empty(hp, kind, slot, &error) < 0)
		log_error("%s", error);
	free(error);
}

int hotplug_slot_info(struct hotplug *hp, enum slot_kind kind, int slot, struct slot_info *ret)
{
	const struct slot *s;

	if (slot < 0 || slot >= hotplug_slot_count(hp, kind))
		return -ERANGE;
	s = &slots_of(hp, kind)[slot];
	*ret = (struct slot_info){ .kind = kind, .slot = slot, .boot = s->boot, .leaving = s->leaving };
	if (s->id[0])
		ret->id = s->id;
	else
		ret->retired = !slot_usable(hp, kind, slot);
	if (kind == SLOT_BLK) {
		ret->root = slot == 0 && s->boot;
		ret->blk = s->backend >= 0 ? &hp->blks[s->backend].b : NULL;
	} else {
		ret->net = s->backend >= 0 ? &hp->nets[s->backend].b : NULL;
		if (hp->ops && hp->ops->net_mac)
			hp->ops->net_mac(s->dev, ret->mac);
	}
	return 0;
}
