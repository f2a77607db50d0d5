/*
 * The hot-plug slots of one VM (DESIGN.md, "How hotplug works"). In the slot
 * model (StratoVirt's, the default) 6 virtio-blk and 2 virtio-net virtio-mmio
 * transports exist from boot; device_add fills one, device_del empties it at
 * once. In the dynamic model (HOTPLUG_ACPI) there are 32 and 8 slots the guest
 * does not see until a device is plugged: device_add announces the slot to the
 * guest through a guest bus (the ACPI hot-plug controller), device_del asks the
 * guest to give it back and completes only when it has (hotplug_device_released).
 * blockdev-add and netdev_add open backends in both. This is the contract
 * between the device models (vmm/devices/, which fill and empty one slot) and
 * the QMP commands (vmm/qmp/, which name slots and backends). Only the
 * event-loop thread calls these functions.
 */
#pragma once

#include <limits.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "cleanup.h"
#include "mac.h"
#include "hotplug-model.h"
#include "vmm-contract.h"

/* The slot model's slots. */
#define HOTPLUG_BLK_SLOTS MVIRT_BLK_SLOTS
#define HOTPLUG_NET_SLOTS MVIRT_NET_SLOTS
/* The most slots of any model: the dynamic one's. */
#define HOTPLUG_BLK_SLOTS_MAX MVIRT_ACPI_BLK_SLOTS
#define HOTPLUG_NET_SLOTS_MAX MVIRT_ACPI_NET_SLOTS
/* The size of a node-name, netdev or device id buffer, NUL included. */
#define HOTPLUG_ID_MAX (MVIRT_ID_MAX + 1)
/* Backends opened at once, plugged or not: every slot plus room for a spare
 * set, so a manager can open the next backend before removing the old one. */
#define HOTPLUG_BLK_BACKENDS_MAX (2 * HOTPLUG_BLK_SLOTS_MAX)
#define HOTPLUG_NET_BACKENDS_MAX (2 * HOTPLUG_NET_SLOTS_MAX)

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
	/* The MAC the guest reads at probe time: in the slot model fixed for the life of the VM. */
	void (*net_mac)(void *dev, uint8_t ret_mac[MAC_LEN]);
	/* The dynamic model sets a NIC's MAC before the guest learns of the slot. */
	void (*net_set_mac)(void *dev, const uint8_t mac[MAC_LEN]);
};

/*
 * How the guest learns of slots in the dynamic model (the ACPI hot-plug controller).
 * - announce: the slot now holds a device; the guest will enumerate it.
 * - withdraw: ask the guest to let go of the slot's device. 0: asked, and
 *   hotplug_device_released() follows once the guest has; 1: the guest never saw the
 *   device (its announcement was still queued), so the slot is free at once.
 */
struct guest_bus_ops {
	int (*announce)(void *bus, enum slot_kind kind, int slot);
	int (*withdraw)(void *bus, enum slot_kind kind, int slot);
	/* Whether an empty slot can take a device: one the guest gave back cannot, until the VM
	 * ends (Linux keeps its description). */
	bool (*slot_usable)(void *bus, enum slot_kind kind, int slot);
};

/* Called when a device has left its slot (QMP's DEVICE_DELETED): in the slot model within
 * hotplug_device_del(), in the dynamic model when the guest has let go. */
typedef void (*hotplug_deleted_fn)(void *opaque, const char *id);

struct hotplug;

/* blk_devs[] and net_devs[]: the devices of each slot, as many as the model has
 * (hotplug_slot_count()). */
/* Under -sandbox only dir is visible: hot-plug by a path outside it, or of a TAP by name
 * (/dev/net/tun is hidden), is refused with a sentence saying to pass a descriptor with
 * getfd. Process-wide, like the sandbox itself. */
void hotplug_set_sandbox(const char *dir);

struct hotplug *hotplug_new(const struct slot_ops *ops, enum hotplug_model model,
	void *const *blk_devs, void *const *net_devs);
/* The dynamic model's guest bus (required before the first device_add there). */
void hotplug_set_guest_bus(struct hotplug *hp, const struct guest_bus_ops *ops, void *bus);
void hotplug_set_deleted_fn(struct hotplug *hp, hotplug_deleted_fn fn, void *opaque);
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
	/* The NIC's MAC, or NULL: the dynamic model gives it to the NIC; in the slot model it
	 * must match the MAC the guest read from the slot at boot. */
	const char *mac;
	/* Given on the command line: the root disk and boot NICs can never be unplugged,
	 * and the image of a boot disk can never be hot-plugged a second time. */
	bool boot;
};

int hotplug_blockdev_add(struct hotplug *hp, const struct blockdev_spec *spec, char **ret_error);
int hotplug_netdev_add(struct hotplug *hp, const struct netdev_spec *spec, char **ret_error);
int hotplug_device_add(struct hotplug *hp, const struct device_spec *spec, char **ret_error);
/* Empties the slot and frees its backend, then calls the deleted function: 0. In the
 * dynamic model, 1 when the guest was asked and the rest follows once it lets go
 * (-EINPROGRESS when it was asked already). -ENOENT when no device has that id (QMP's
 * DeviceNotFound). */
int hotplug_device_del(struct hotplug *hp, const char *id, char **ret_error);
/* The dynamic model's guest bus: the guest let go of the device in slot. */
void hotplug_device_released(struct hotplug *hp, enum slot_kind kind, int slot);
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
	bool leaving;                  /* the guest was asked to give it back (dynamic model) */
	bool retired;                  /* empty, and used since boot (dynamic model) */
	const struct blk_backend *blk; /* a disk slot's backend, or NULL */
	const struct net_backend *net; /* a NIC slot's backend, or NULL */
	uint8_t mac[MAC_LEN];          /* a NIC slot's fixed MAC */
};
int hotplug_slot_info(struct hotplug *hp, enum slot_kind kind, int slot, struct slot_info *ret);
/* Number of slots of a kind in this VM's model. */
int hotplug_slot_count(const struct hotplug *hp, enum slot_kind kind);
