/*
 * Domain definitions: libvirt's <domain type='kvm'> subset that mvirt runs (see
 * schemas/domain.rng). Parse (domain-conf.c), validate (conf-validate.c) and format
 * (domain-conf.c) are separate steps; domain_def_from_xml() does the first two.
 *
 * Errors: >= 0 or -errno; `char **ret_error` (may be NULL) receives one malloc'd, translated
 * sentence naming the value at fault (and the line, for XML errors). Outputs untouched on failure.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cleanup.h"
#include "device-conf.h"

#define DOMAIN_NAME_MAX 64                       /* [A-Za-z0-9_.+-], 1..64 characters */
#define DOMAIN_UUID_STRING_MAX 36                /* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" */
#define DOMAIN_CMDLINE_MAX 2047                  /* the kernel command line */
#define DOMAIN_VCPUS_MAX 8
#define DOMAIN_MEMORY_MIN_KIB (16ULL * 1024)     /* 16 MiB */
#define DOMAIN_MEMORY_MAX_KIB (64ULL * 1024 * 1024) /* 64 GiB */
/* The array sizes: what the acpi hot-plug model allows. What a domain may have depends on its
 * model: domain_hotplug_disk_slots() and domain_hotplug_nic_slots(). */
#define DOMAIN_DISKS_MAX CONF_DISK_SLOTS_MAX     /* the root disk included */
#define DOMAIN_NICS_MAX CONF_NIC_SLOTS_MAX
#define DOMAIN_CHRS_MAX 2                        /* one <serial> and one <console> */

enum lifecycle_action {
	LIFECYCLE_DEFAULT, /* element absent */
	LIFECYCLE_DESTROY,
	LIFECYCLE_RESTART,
	LIFECYCLE_PRESERVE,
	_LIFECYCLE_MAX,
	_LIFECYCLE_INVALID = -1,
};

/*
 * <features><hotplug model=>: how devices come and go in the VMM (-machine microvm,hotplug=),
 * and so how many a domain may have. "slots" (the default, and what an absent element means):
 * StratoVirt's fixed slots, CONF_DISK_SLOTS disks and CONF_NIC_SLOTS NICs. "acpi": ACPI hot-add
 * and unplug, CONF_DISK_SLOTS_MAX disks and CONF_NIC_SLOTS_MAX NICs.
 */
enum domain_hotplug {
	DOMAIN_HOTPLUG_SLOTS,
	DOMAIN_HOTPLUG_ACPI,
	_DOMAIN_HOTPLUG_MAX,
	_DOMAIN_HOTPLUG_INVALID = -1,
};

struct domain_def {
	char name[DOMAIN_NAME_MAX + 1];
	char uuid[DOMAIN_UUID_STRING_MAX + 1];   /* lower case; generated (v4) when absent */
	uint64_t memory_kib;                     /* <memory unit=>, converted to KiB */
	uint64_t current_memory_kib;             /* <currentMemory>, 0 when absent; not enforced */
	unsigned vcpus;                          /* <vcpu> */

	char os_type[CONF_SHORT_MAX + 1];        /* "hvm" */
	char os_arch[CONF_SHORT_MAX + 1];        /* <type arch=>, "" or "x86_64" */
	char os_machine[CONF_SHORT_MAX + 1];     /* <type machine=>, "" or "microvm" */
	char kernel[CONF_PATH_MAX + 1];          /* <kernel>, absolute path, required */
	char initrd[CONF_PATH_MAX + 1];          /* <initrd>, "" when absent */
	char cmdline[DOMAIN_CMDLINE_MAX + 1];    /* <cmdline>, "" when absent */

	enum lifecycle_action on_poweroff, on_reboot, on_crash;
	/* <clock offset='utc'/> and <features> (<acpi/>, <apic/>) were given. What they say is
	 * what every mvirt guest has, so they are written back as that, and only when given (or,
	 * for <features>, when the hot-plug model has to be written in it). */
	bool clock_utc;
	bool features;
	enum domain_hotplug hotplug;             /* <features><hotplug model=>, slots if absent */

	struct disk_def disks[DOMAIN_DISKS_MAX];
	size_t n_disks;
	struct net_def nets[DOMAIN_NICS_MAX];
	size_t n_nets;
	struct chr_def chrs[DOMAIN_CHRS_MAX];
	size_t n_chrs;
};

const char *lifecycle_action_to_string(enum lifecycle_action a); /* NULL for default */
enum lifecycle_action lifecycle_action_from_string(const char *s);

const char *domain_hotplug_to_string(enum domain_hotplug h);    /* "slots", "acpi"; else NULL */
enum domain_hotplug domain_hotplug_from_string(const char *s);  /* or _DOMAIN_HOTPLUG_INVALID */
/* The disk slots of a model, the root disk included: 6 or 32; 0 for a value out of range. */
int domain_hotplug_disk_slots(enum domain_hotplug h);
/* The NIC slots of a model: 2 or 8; 0 for a value out of range. */
int domain_hotplug_nic_slots(enum domain_hotplug h);

/*
 * Parses a <domain> document: safe libxml2 parse (no network, no DTD or entities, at most
 * CONF_XML_MAX bytes), schemas/domain.rng (an unsupported element is named, with its line),
 * then the fields. Generates a UUID and MACs where absent. -EINVAL with a sentence on bad XML.
 */
int domain_def_parse(const char *xml, struct domain_def **ret, char **ret_error);
/* Semantic checks (names, UUID, memory, vcpus, the hot-plug model and the device counts and
 * disk targets it allows, uniqueness, paths): 0 or -EINVAL. */
int domain_def_validate(const struct domain_def *def, char **ret_error);
/* domain_def_parse() then domain_def_validate(): what define uses. */
int domain_def_from_xml(const char *xml, struct domain_def **ret, char **ret_error);
/* Formats the definition back; parse(format(def)) == def. -ENOMEM. */
int domain_def_format(const struct domain_def *def, char **ret_xml);

/*
 * Replaces the <serial>/<console> of def with what the VMM really has: its one UART, on a unix
 * socket mvirtd binds at socket_path, as <serial type='unix'> and <console type='unix'>.
 * -ENAMETOOLONG (def unchanged) when the path does not fit a sockaddr_un.
 */
int domain_def_set_console(struct domain_def *def, const char *socket_path);

/* A heap copy (the struct is plain data). NULL on ENOMEM. */
struct domain_def *domain_def_copy(const struct domain_def *def);
struct domain_def *domain_def_free(struct domain_def *def); /* accepts NULL, returns NULL */
DEFINE_TRIVIAL_CLEANUP_FUNC(struct domain_def *, domain_def_free);
#define _cleanup_domain_def_ _cleanup_(domain_def_freep)

/*
 * The root disk: the disk with <boot order='1'/>, else the first disk. Returns its index in
 * def->disks, or -ENOENT when the domain has no disk. The root disk can never be detached, and
 * no other disk may use its source path.
 */
int domain_def_root_disk(const struct domain_def *def);
/* True when path is the source of the root disk. */
bool domain_def_is_root_source(const struct domain_def *def, const char *path);

/* Index of the disk / NIC that matches a detach request (see disk_def_matches), or -ENOENT. */
int domain_def_find_disk(const struct domain_def *def, const struct disk_def *want);
/* find_net: -ENOTUNIQ when several NICs match a request without MAC or alias. */
int domain_def_find_net(const struct domain_def *def, const struct net_def *want);
/* Finds a device by alias: its kind and index; -ENOENT if no device has it. */
int domain_def_find_alias(const struct domain_def *def, const char *alias,
			  enum device_kind *ret_kind, size_t *ret_index);
/* Fills empty aliases of every device (device_def_ensure_alias()). */
void domain_def_ensure_aliases(struct domain_def *def);

/*
 * Checks that dev may join def (a free target/slot, unique alias, MAC and TAP name, count
 * limits and disk targets of def's hot-plug model, not the root disk's image, not a second
 * boot order 1) without changing def:
 * 0, -EINVAL (bad request), -EEXIST (clash with a device already there), -ENOSPC (no free
 * slot), -EPERM (the root disk's image).
 */
int domain_def_check_attach(const struct domain_def *def, const struct device_def *dev,
			    char **ret_error);
/* domain_def_check_attach(), then appends dev to def. */
int domain_def_add_device(struct domain_def *def, const struct device_def *dev, char **ret_error);
/*
 * Removes the device that matches want (by target/MAC/alias as above) and returns a copy of
 * it in *ret_removed (may be NULL). -ENOENT if none matches; -EPERM for the root disk when
 * keep_root. Only a persistent definition knows its root disk: in a live one the first disk
 * may be one hot-plugged into a domain that booted without disks.
 */
int domain_def_remove_device(struct domain_def *def, const struct device_def *want,
			     bool keep_root, struct device_def **ret_removed, char **ret_error);

/* RFC 4122 version 4 UUID from getrandom(), lower case, into buf[DOMAIN_UUID_STRING_MAX + 1]. */
int uuid_generate(char *buf);
/* True for 8-4-4-4-12 hex digits (either case). */
bool uuid_is_valid(const char *s);
/* Copies s in lower case into buf[DOMAIN_UUID_STRING_MAX + 1]; -EINVAL when not valid. */
int uuid_normalize(const char *s, char *buf);

/*
 * The folder holding domain.rng and device.rng: $MVIRT_SCHEMAS when set (the tests point it at
 * the source tree), else SCHEMADIR (the installed $(pkgdatadir)/schemas).
 */
const char *conf_schema_dir(void);

/* What a document holds: DefineXML takes a <domain>, AttachDevice and DetachDevice a device. */
enum conf_doc {
	CONF_DOC_DOMAIN, /* domain_def_from_xml() */
	CONF_DOC_DEVICE, /* device_def_from_xml() */
	_CONF_DOC_MAX,
	_CONF_DOC_INVALID = -1,
};

/*
 * mvirtd's verdict on a document, short of what depends on the daemon's state (other domains,
 * the image policy, the running guest): the same parse, schema and semantic checks, so that
 * mvirtctl refuses before sending what the daemon would refuse, in the daemon's sentence.
 * 0, or -EINVAL (-EIO when the schema cannot be read, -ENOMEM) with that sentence in
 * *ret_error and in *ret_error_line (may be NULL) the line it is about, 0 when none.
 */
int conf_check_xml(const char *xml, enum conf_doc doc, long *ret_error_line, char **ret_error);
