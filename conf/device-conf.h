/*
 * Device definitions: libvirt's <disk> and <interface> as attach-device takes them, and the
 * <serial>/<console> of a domain. The same structs hold a domain's devices (domain-conf.h) and
 * a single device parsed for attach or detach. Parsing, validating and formatting are separate
 * steps; conf/ never talks to the daemon and only logs at debug level.
 *
 * Errors: functions return >= 0 or -errno. Where they take `char **ret_error`, a failure also
 * stores one translated sentence there (malloc'd, the caller frees it) naming the value at
 * fault; ret_error may be NULL. Outputs are untouched on failure.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cleanup.h"
#include "mac.h"
#include "vmm-contract.h"

/* Limits, each counted without the terminating NUL. */
#define CONF_XML_MAX (1024 * 1024)   /* bytes of one XML document */
/* Checked on the text before libxml2 sees it (143,243 attributes on one element took libxml2
 * 48 s). A domain with every slot of the acpi model used has about three hundred. */
#define CONF_XML_ELEMENTS_MAX 4096   /* elements in one document */
#define CONF_XML_ATTRS_MAX 32        /* attributes on one element */
#define CONF_XML_DEPTH_MAX 32        /* element nesting */
#define CONF_PATH_MAX 4095           /* an image path */
#define CONF_SOCKET_PATH_MAX 107     /* a unix socket path (sun_path) */
#define CONF_IFNAME_MAX 15           /* a Linux interface name (IFNAMSIZ - 1) */
#define CONF_ALIAS_MAX 63            /* <alias name=> */
#define CONF_SERIAL_MAX 20           /* <serial> of a disk: virtio-blk's ID is 20 bytes */
#define CONF_DISK_TARGET_MAX 7       /* "vda" .. "vdz", "vdaa" .. "vdaf" */
#define CONF_SHORT_MAX 31            /* driver names, model types and the like */
/* The VMM's virtio-blk and virtio-net slots: CONF_*_SLOTS in the slots hot-plug model (the
 * default), CONF_*_SLOTS_MAX in the acpi one, the most any domain can have. */
#define CONF_DISK_SLOTS 6            /* vda .. vdf */
#define CONF_NIC_SLOTS 2
#define CONF_DISK_SLOTS_MAX 32       /* vda .. vdz, vdaa .. vdaf */
#define CONF_NIC_SLOTS_MAX 8

_Static_assert(CONF_DISK_SLOTS == MVIRT_BLK_SLOTS, "a disk target names a VMM disk slot");
_Static_assert(CONF_NIC_SLOTS == MVIRT_NET_SLOTS, "a NIC takes one of the VMM's NIC slots");
_Static_assert(CONF_DISK_SLOTS_MAX == MVIRT_ACPI_BLK_SLOTS,
	       "the acpi model's disk slots are the most a domain has");
_Static_assert(CONF_NIC_SLOTS_MAX == MVIRT_ACPI_NET_SLOTS,
	       "the acpi model's NIC slots are the most a domain has");
_Static_assert(CONF_DISK_SLOTS <= CONF_DISK_SLOTS_MAX && CONF_NIC_SLOTS <= CONF_NIC_SLOTS_MAX,
	       "the slots model fits in the arrays sized for the acpi one");
_Static_assert(CONF_ALIAS_MAX <= MVIRT_ID_MAX, "an alias is the device's QMP id in the VMM");

enum device_kind {
	DEVICE_KIND_DISK,
	DEVICE_KIND_INTERFACE,
	_DEVICE_KIND_MAX,
	_DEVICE_KIND_INVALID = -1,
};

enum disk_cache {
	DISK_CACHE_DEFAULT, /* no cache= attribute */
	DISK_CACHE_NONE,
	DISK_CACHE_WRITETHROUGH,
	DISK_CACHE_WRITEBACK,
	DISK_CACHE_DIRECTSYNC,
	DISK_CACHE_UNSAFE,
	_DISK_CACHE_MAX,
	_DISK_CACHE_INVALID = -1,
};

enum net_type {
	NET_TYPE_BRIDGE,   /* the daemon makes a TAP and adds it to <source bridge=> */
	NET_TYPE_ETHERNET, /* a TAP that already exists, named by <target dev=> */
	_NET_TYPE_MAX,
	_NET_TYPE_INVALID = -1,
};

enum chr_type {
	CHR_TYPE_PTY,
	CHR_TYPE_UNIX,
	_CHR_TYPE_MAX,
	_CHR_TYPE_INVALID = -1,
};

/* <disk type='file' device='disk'> */
struct disk_def {
	char source[CONF_PATH_MAX + 1];          /* <source file=>, absolute */
	char target[CONF_DISK_TARGET_MAX + 1];   /* <target dev=>: "vda".."vdaf" */
	char driver_name[CONF_SHORT_MAX + 1];    /* <driver name=>, "" when absent */
	char driver_type[CONF_SHORT_MAX + 1];    /* <driver type=>, "" when absent ("raw") */
	enum disk_cache cache;                   /* none and directsync mean O_DIRECT */
	bool readonly;                           /* <readonly/> */
	char serial[CONF_SERIAL_MAX + 1];        /* <serial>, "" when absent */
	char alias[CONF_ALIAS_MAX + 1];          /* <alias name=>, "" when absent */
	unsigned boot_order;                     /* <boot order=>, 0 when absent */
};

/* <interface type='bridge'|'ethernet'> with <model type='virtio'/> */
struct net_def {
	enum net_type type;
	char bridge[CONF_IFNAME_MAX + 1];        /* <source bridge=>, bridge type only */
	char ifname[CONF_IFNAME_MAX + 1];        /* <target dev=>: the host TAP, "" if absent */
	uint8_t mac[MAC_LEN];                    /* <mac address=> */
	bool mac_generated;                      /* no <mac> was given: mac is 52:54:00:xx:xx:xx */
	bool managed;                            /* <target managed=>: false for 'no' (libvirt's
						  * unmanaged TAP, type ethernet); true when absent */
	char model[CONF_SHORT_MAX + 1];          /* <model type=>: "virtio" (also when absent) */
	char alias[CONF_ALIAS_MAX + 1];
};

/* <serial> or <console>, type pty or unix. The VMM has one UART; both describe it. */
struct chr_def {
	bool is_console;                         /* <console> rather than <serial> */
	enum chr_type type;
	char source_mode[CONF_SHORT_MAX + 1];    /* unix: <source mode=> "bind"/"connect" or "" */
	char source_path[CONF_SOCKET_PATH_MAX + 1]; /* unix: <source path=> */
	char target_type[CONF_SHORT_MAX + 1];    /* <target type=> ("serial"), "" if absent */
	int target_port;                         /* <target port=>, -1 when absent */
};

/* One device as attach-device / detach-device take it. */
struct device_def {
	enum device_kind kind;
	union {
		struct disk_def disk; /* kind == DEVICE_KIND_DISK */
		struct net_def net;   /* kind == DEVICE_KIND_INTERFACE */
	};
};

const char *device_kind_to_string(enum device_kind k);    /* "disk", "interface" */
enum device_kind device_kind_from_string(const char *s);  /* or _DEVICE_KIND_INVALID */
const char *disk_cache_to_string(enum disk_cache c);      /* libvirt's spelling; NULL for default */
enum disk_cache disk_cache_from_string(const char *s);
const char *net_type_to_string(enum net_type t);          /* "bridge", "ethernet" */
enum net_type net_type_from_string(const char *s);
const char *chr_type_to_string(enum chr_type t);          /* "pty", "unix" */
enum chr_type chr_type_from_string(const char *s);

/* True when the disk is to be opened with O_DIRECT (cache='none' or 'directsync'). */
bool disk_def_is_direct(const struct disk_def *disk);
/*
 * Disk targets name the VMM's disk slots as Linux names virtio disks: "vda".."vdz" are slots
 * 0..25 and "vdaa".."vdaf" slots 26..31 (CONF_DISK_SLOTS_MAX of them, the acpi model's). Whether
 * a domain has the slot depends on its hot-plug model (domain_hotplug_disk_slots()).
 */
/* "vda".."vdaf" → slot 0..31 (the VMM's addr), else -EINVAL. */
int disk_target_to_slot(const char *target);
/* Slot 0..31 → "vda".."vdaf" into buf[CONF_DISK_TARGET_MAX + 1]; -EINVAL out of range. */
int disk_slot_to_target(unsigned slot, char *buf);

/* A random 52:54:00:xx:xx:xx address (QEMU/libvirt's prefix). */
int mac_generate(uint8_t mac[MAC_LEN]);

/*
 * Parses one <disk> or <interface> (libvirt's attach-device XML): a safe libxml2 parse (no
 * network, no DTD, no entities, at most CONF_XML_MAX bytes), then schemas/device.rng, then the
 * fields. A missing <mac> gets a generated one (mac_generated set). Does not validate values:
 * call device_def_validate() (or use device_def_from_xml(), which does both).
 * -EINVAL for XML that is malformed or not valid against the schema; the sentence names the line.
 */
int device_def_parse(const char *xml, struct device_def **ret, char **ret_error);
/* Semantic checks of one device on its own (names, paths, MAC, ranges): 0 or -EINVAL. */
int device_def_validate(const struct device_def *dev, char **ret_error);
int disk_def_validate(const struct disk_def *disk, char **ret_error);
int net_def_validate(const struct net_def *net, char **ret_error);
/* device_def_parse() followed by device_def_validate(). */
int device_def_from_xml(const char *xml, struct device_def **ret, char **ret_error);
/* Formats the device as a standalone XML document (what the store keeps); -ENOMEM. */
int device_def_format(const struct device_def *dev, char **ret_xml);

/*
 * Matching for detach, as libvirt does it: a disk by target dev (or, when the request has no
 * target, by alias); a NIC by MAC unless it was generated, then by alias when given, else by
 * what the request does say (type, source bridge, target dev, model): domain_def_find_net()
 * then insists that exactly one NIC matches.
 */
bool disk_def_matches(const struct disk_def *have, const struct disk_def *want);
bool net_def_matches(const struct net_def *have, const struct net_def *want);

/* The default alias rule, also used to find a backend the daemon named but no device holds:
 * "disk-<target>" ("disk-vdb") for a disk, "net-<MAC>" ("net-525400123456") for a NIC. */
void disk_default_alias(const char *target, char ret[CONF_ALIAS_MAX + 1]);
void net_default_alias(const uint8_t mac[MAC_LEN], char ret[CONF_ALIAS_MAX + 1]);
/* Fills an empty alias with the default above. */
void device_def_ensure_alias(struct device_def *dev);
/* The device's alias (empty string if none). */
const char *device_def_alias(const struct device_def *dev);

struct device_def *device_def_new(enum device_kind kind);
struct device_def *device_def_free(struct device_def *dev); /* accepts NULL, returns NULL */
DEFINE_TRIVIAL_CLEANUP_FUNC(struct device_def *, device_def_free);
#define _cleanup_device_def_ _cleanup_(device_def_freep)
