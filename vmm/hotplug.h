/*
 * The hot-plug slots of one VM (DESIGN.md, "How hotplug works"): 6 virtio-blk
 * and 2 virtio-net virtio-mmio transports exist from boot; blockdev-add and
 * netdev_add open backends, device_add puts a backend into a slot, device_del
 * takes it out. This is the contract between the device models (vmm/devices/,
 * which fill and empty one slot) and the QMP commands (vmm/qmp/, which name
 * slots and backends). Only the event-loop thread calls these functions.
 */
#pragma once

#include <limits.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "cleanup.h"
#include "mac.h"
#include "vmm-contract.h"

#define HOTPLUG_BLK_SLOTS MVIRT_BLK_SLOTS
#define HOTPLUG_NET_SLOTS MVIRT_NET_SLOTS
/* The size of a node-name, netdev or device id buffer, NUL included. */
#define HOTPLUG_ID_MAX (MVIRT_ID_MAX + 1)
/* Backends opened at once, plugged or not: every slot plus room for a spare
 * set, so a manager can open the next backend before removing the old one. */
#define HOTPLUG_BLK_BACKENDS_MAX (2 * HOTPLUG_BLK_SLOTS)
#define HOTPLUG_NET_BACKENDS_MAX (2 * HOTPLUG_NET_SLOTS)

enum slot_kind {
	SLOT_BLK,
	SLOT_NET,
	_SLOT_KIND_MAX,
	_SLOT_KIND_INVALID = -1,
};

/* "blk", "net" (the kind names query-slots reports). */
const char *slot_kind_to_string(enum slot_kind kind);

/* A disk image opened by blockdev-add (or -drive): owned by struct hotplug. */
struct blk_backend {
	char node_name[HOTPLUG_ID_MAX];
	char path[PATH_MAX];
	int fd;
	uint64_t size; /* bytes; the guest sees size / 512 sectors */
	bool read_only;
	bool direct; /* opened with O_DIRECT */
};

/* A TAP opened by netdev_add (or -netdev): owned by struct hotplug. */
struct net_backend {
	char id[HOTPLUG_ID_MAX];
	char ifname[IFNAMSIZ];
	int tap_fd; /* IFF_TAP | IFF_NO_PI | IFF_VNET_HDR, non-blocking */
};

/*
 * What a device model does when its slot is filled or emptied. dev is the
 * device the builder registered for that slot.
 * - attach_blk: start serving b (the backend stays owned by hotplug), set the
 *   capacity, bump ConfigGeneration, raise a config-change interrupt.
 * - detach_blk: finish or fail every in-flight request, stop using the
 *   backend, set capacity 0, raise a config-change interrupt.
 * - attach_net / detach_net: the same for a TAP; the link goes up on attach,
 *   down on detach, each with a config-change interrupt.
 * All return 0 or -errno.
 */
struct slot_ops {
	int (*attach_blk)(void *dev, const struct blk_backend *b, const char *serial);
	int (*detach_blk)(void *dev);
	int (*attach_net)(void *dev, const struct net_backend *b);
	int (*detach_net)(void *dev);
	/* The MAC the guest read at probe time: fixed for the life of the VM. */
	void (*net_mac)(void *dev, uint8_t ret_mac[MAC_LEN]);
};

struct hotplug;

/* blk_devs[HOTPLUG_BLK_SLOTS] and net_devs[HOTPLUG_NET_SLOTS]: the devices of each slot. */
/* Under -sandbox only dir is visible: hot-plug by a path outside it, or of a TAP by name
 * (/dev/net/tun is hidden), is refused with a sentence saying to pass a descriptor with
 * getfd. Process-wide, like the sandbox itself. */
void hotplug_set_sandbox(const char *dir);

struct hotplug *hotplug_new(const struct slot_ops *ops, void *const *blk_devs,
	void *const *net_devs);
struct hotplug *hotplug_free(struct hotplug *hp);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct hotplug *, hotplug_free);

/*
 * The operations behind QMP's blockdev-add, netdev_add, device_add and
 * device_del, and behind the command line's -drive, -netdev and -device.
 * Each returns 0, or -errno with *ret_error set to a sentence for the user
 * (allocated; the caller frees it) that names the value at fault and what to do.
 * A failed call changes nothing.
 */
struct blockdev_spec {
	const char *node_name;
	const char *path;
	int fd; /* an fd passed with getfd or on the command line, or -1 to open path */
	bool read_only;
	bool direct;
};

struct netdev_spec {
	const char *id;
	const char *ifname; /* the TAP to open, or NULL when fd is given */
	int fd;             /* a TAP fd passed with getfd, or -1 */
};
/* A spec's fd is duplicated (F_DUPFD_CLOEXEC) on success: the caller keeps and
 * closes its own copy. Without an fd, the path or TAP is opened here. */

struct device_spec {
	enum slot_kind kind;
	const char *id;
	/* The node-name (disk) or netdev id (NIC) to plug in; NULL means the same as id,
	 * as StratoVirt's guide has it ("node-name must match the id of device_add"). */
	const char *backend;
	/* 0-based slot (QMP addr, or lun + 1), or -1 for the first free one. StratoVirt
	 * takes slot 0 then; the first free slot is what a user who leaves addr out expects. */
	int slot;
	const char *serial;  /* disk serial for VIRTIO_BLK_T_GET_ID, or NULL */
	const char *mac;     /* must match the slot's MAC when given, or NULL */
	/* Given on the command line: the root disk and boot NICs can never be unplugged,
	 * and the image of a boot disk can never be hot-plugged a second time. */
	bool boot;
};

int hotplug_blockdev_add(struct hotplug *hp, const struct blockdev_spec *spec, char **ret_error);
int hotplug_netdev_add(struct hotplug *hp, const struct netdev_spec *spec, char **ret_error);
int hotplug_device_add(struct hotplug *hp, const struct device_spec *spec, char **ret_error);
/* Empties the slot and frees its backend; the caller then emits DEVICE_DELETED.
 * -ENOENT when no device has that id (QMP's DeviceNotFound). */
int hotplug_device_del(struct hotplug *hp, const char *id, char **ret_error);
/* Close a backend that is not plugged into a slot (undo of blockdev-add /
 * netdev_add, for a manager's rollback). -ENOENT when unknown, -EBUSY when plugged. */
int hotplug_blockdev_del(struct hotplug *hp, const char *node_name, char **ret_error);
int hotplug_netdev_del(struct hotplug *hp, const char *id, char **ret_error);

/* What occupies one slot (for query-slots). Pointers stay valid until the next
 * add or del call. */
struct slot_info {
	enum slot_kind kind;
	int slot;
	const char *id;                /* the device id, NULL when the slot is empty */
	bool boot;                     /* given on the command line */
	bool root;                     /* the boot disk in blk slot 0: never unplugged */
	const struct blk_backend *blk; /* a disk slot's backend, or NULL */
	const struct net_backend *net; /* a NIC slot's backend, or NULL */
	uint8_t mac[MAC_LEN];          /* a NIC slot's fixed MAC */
};
int hotplug_slot_info(struct hotplug *hp, enum slot_kind kind, int slot, struct slot_info *ret);
/* Number of slots of a kind (HOTPLUG_BLK_SLOTS or HOTPLUG_NET_SLOTS). */
int hotplug_slot_count(enum slot_kind kind);
