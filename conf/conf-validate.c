/*
 * Semantic checks of definitions, separate from parsing: what the schema cannot say (limits,
 * uniqueness, the root disk's rules). Every failure is one sentence naming the value.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>

#include "conf-internal.h"
#include "domain-conf.h"
#include "i18n.h"
#include "util.h"

static bool chars_valid(const char *s, size_t max, const char *extra)
{
	size_t n = strlen(s);

	if (n == 0 || n > max)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr(extra, *s))
			return false;
	return true;
}

static bool name_valid(const char *s)
{
	return chars_valid(s, DOMAIN_NAME_MAX, "_.+-");
}

static bool alias_valid(const char *s)
{
	return chars_valid(s, CONF_ALIAS_MAX, "_.-");
}

/* As the kernel's dev_valid_name(): 1..15 bytes, not . or .., no '/', ':' or whitespace. */
static bool ifname_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > CONF_IFNAME_MAX || streq(s, ".") || streq(s, ".."))
		return false;
	for (; *s; s++)
		if (*s == '/' || *s == ':' || isspace((unsigned char)*s) || !isprint((unsigned char)*s))
			return false;
	return true;
}

static bool path_valid(const char *s)
{
	if (s[0] != '/')
		return false;
	for (; *s; s++)
		if (iscntrl((unsigned char)*s))
			return false;
	return true;
}

int disk_def_validate(const struct disk_def *disk, char **ret_error)
{
	if (!path_valid(disk->source))
		return error_set(ret_error, -EINVAL,
			_("The disk image path '%s' is not an absolute path; write it "
			  "starting with /."),
			disk->source);
	if (disk_target_to_slot(disk->target) < 0)
		return error_set(ret_error, -EINVAL,
			_("The disk target %s is not supported; use vda to vdz or vdaa to vdaf."),
			disk->target);
	if (disk->driver_type[0] && !streq(disk->driver_type, "raw"))
		return error_set(ret_error, -EINVAL,
			_("The disk format %s is not supported; mvirt reads raw images."),
			disk->driver_type);
	if (disk->driver_name[0] && !streq(disk->driver_name, "qemu"))
		return error_set(ret_error, -EINVAL,
			_("The disk driver name %s is not supported; use qemu or leave it "
			  "out."),
			disk->driver_name);
	for (const char *p = disk->serial; *p; p++)
		if (!isprint((unsigned char)*p))
			return error_set(ret_error, -EINVAL,
				_("The serial of disk %s has a character that cannot be "
				  "printed."),
				disk->target);
	if (disk->alias[0] && !alias_valid(disk->alias))
		return error_set(ret_error, -EINVAL,
			_("The alias %s of disk %s is not valid; use letters, digits, _, . "
			  "and -."),
			disk->alias, disk->target);
	return 0;
}

static int ifname_check(const char *name, const char *what, char **ret_error)
{
	if (!ifname_valid(name))
		return error_set(ret_error, -EINVAL,
			_("The %s name '%s' is not a valid interface name; use 1 to 15 "
			  "characters without /, : or spaces."),
			what, name);
	return 0;
}

int net_def_validate(const struct net_def *net, char **ret_error)
{
	char mac[MAC_STR_SIZE];
	int r;

	mac_format(net->mac, mac);
	if (net->type == NET_TYPE_BRIDGE && (r = ifname_check(net->bridge, "bridge", ret_error)) < 0)
		return r;
	/* libvirt's rule: an existing TAP only with managed='no'; otherwise mvirtd makes it. */
	if (!net->managed && (net->type != NET_TYPE_ETHERNET || !net->ifname[0]))
		return error_set(ret_error, -EINVAL,
			_("The interface with MAC %s has <target managed='no'>, which needs "
			  "type='ethernet' and <target dev=> naming an existing TAP device."),
			mac);
	if (net->ifname[0] && (r = ifname_check(net->ifname, "TAP", ret_error)) < 0)
		return r;
	if ((net->mac[0] & 1) || !memcmp(net->mac, "\0\0\0\0\0\0", MAC_LEN))
		return error_set(ret_error, -EINVAL,
			_("The MAC address %s is not a unicast address; the first byte "
			  "must be even and the address not zero."),
			mac);
	if (net->model[0] && !streq(net->model, "virtio"))
		return error_set(ret_error, -EINVAL,
			_("The interface model %s is not supported; use virtio."), net->model);
	if (net->alias[0] && !alias_valid(net->alias))
		return error_set(ret_error, -EINVAL,
			_("The alias %s of interface %s is not valid; use letters, "
			  "digits, _, . and -."),
			net->alias, mac);
	return 0;
}

int device_def_validate(const struct device_def *dev, char **ret_error)
{
	if (dev->kind == DEVICE_KIND_DISK)
		return disk_def_validate(&dev->disk, ret_error);
	if (dev->kind == DEVICE_KIND_INTERFACE)
		return net_def_validate(&dev->net, ret_error);
	return error_set(ret_error, -EINVAL, _("The device kind is unknown."));
}

static int validate_identity(const struct domain_def *def, char **ret_error)
{
	/* The name is a folder under the runtime dir: "." or ".." would name that folder or
	 * the one above it, which Start gives to the VMM's user. */
	if (streq(def->name, ".") || streq(def->name, ".."))
		return error_set(ret_error, -EINVAL,
			_("The domain name '%s' is not valid, since . and .. name folders; pick "
			  "another name."),
			def->name);
	if (!name_valid(def->name))
		return error_set(ret_error, -EINVAL,
			_("The domain name '%s' is not valid; use 1 to %d letters, "
			  "digits, _, ., + and -."),
			def->name, DOMAIN_NAME_MAX);
	if (!uuid_is_valid(def->uuid))
		return error_set(ret_error, -EINVAL, _("The UUID '%s' of domain %s is malformed."),
			def->uuid, def->name);
	if (def->memory_kib < DOMAIN_MEMORY_MIN_KIB || def->memory_kib > DOMAIN_MEMORY_MAX_KIB)
		return error_set(ret_error, -EINVAL,
			_("The memory size %llu KiB of domain %s is out of range; use "
			  "16 MiB to 64 GiB."),
			(unsigned long long)def->memory_kib, def->name);
	if (def->vcpus < 1 || def->vcpus > DOMAIN_VCPUS_MAX)
		return error_set(ret_error, -EINVAL,
			_("The vCPU count %u of domain %s is out of range; use 1 to %d."),
			def->vcpus, def->name, DOMAIN_VCPUS_MAX);
	if (!streq(def->os_type, "hvm"))
		return error_set(ret_error, -EINVAL,
			_("The OS type %s of domain %s is not supported; use hvm."), def->os_type,
			def->name);
	if (!path_valid(def->kernel) || (def->initrd[0] && !path_valid(def->initrd)))
		return error_set(ret_error, -EINVAL,
			_("The kernel and initrd of domain %s must be absolute paths."), def->name);
	return 0;
}

static int validate_chrs(const struct domain_def *def, char **ret_error)
{
	for (size_t i = 0; i < def->n_chrs; i++) {
		const struct chr_def *c = &def->chrs[i];

		if (c->type == CHR_TYPE_UNIX && !path_valid(c->source_path))
			return error_set(ret_error, -EINVAL,
				_("The unix socket path '%s' of the console is not an "
				  "absolute path."),
				c->source_path);
		for (size_t j = 0; j < i; j++)
			if (def->chrs[j].is_console == c->is_console)
				return error_set(ret_error, -EINVAL,
					_("Domain %s has two <%s> elements; mvirt has one."),
					def->name, c->is_console ? "console" : "serial");
	}
	return 0;
}

/* What the parser refuses line by line, for a definition that did not come from XML. */
static int validate_counts(const struct domain_def *def, char **ret_error)
{
	if (!domain_hotplug_to_string(def->hotplug))
		return error_set(ret_error, -EINVAL,
			_("The hot-plug model of domain %s is unknown; use slots or acpi."),
			def->name);
	if (def->n_disks <= (size_t)domain_hotplug_disk_slots(def->hotplug) &&
	    def->n_nets <= (size_t)domain_hotplug_nic_slots(def->hotplug))
		return 0;
	if (def->hotplug == DOMAIN_HOTPLUG_SLOTS)
		return error_set(ret_error, -EINVAL,
			_("Domain %s has %zu disks and %zu interfaces, more than the %d disks and "
			  "%d interfaces of the slots hot-plug model; use <hotplug model='acpi'/> "
			  "for up to %d disks and %d interfaces."),
			def->name, def->n_disks, def->n_nets, CONF_DISK_SLOTS, CONF_NIC_SLOTS,
			CONF_DISK_SLOTS_MAX, CONF_NIC_SLOTS_MAX);
	return error_set(ret_error, -EINVAL,
		_("Domain %s has %zu disks and %zu interfaces, more than the %d disks and %d "
		  "interfaces of the acpi hot-plug model."),
		def->name, def->n_disks, def->n_nets, domain_hotplug_disk_slots(def->hotplug),
		domain_hotplug_nic_slots(def->hotplug));
}

int domain_def_validate(const struct domain_def *def, char **ret_error)
{
	_cleanup_domain_def_ struct domain_def *rest = NULL;
	int r;

	if ((r = validate_identity(def, ret_error)) < 0 || (r = validate_chrs(def, ret_error)) < 0)
		return r;
	if ((r = validate_counts(def, ret_error)) < 0)
		return r;
	/* Rebuild the device list one by one: the attach checks cover uniqueness and the root. */
	rest = domain_def_copy(def);
	if (!rest)
		return -ENOMEM;
	rest->n_disks = rest->n_nets = 0;
	for (size_t i = 0; i < def->n_disks; i++) {
		struct device_def d = { .kind = DEVICE_KIND_DISK, .disk = def->disks[i] };

		if ((r = domain_def_check_join(rest, &d, false, ret_error)) < 0)
			return r == -ENOMEM ? r : -EINVAL;
		rest->disks[rest->n_disks++] = d.disk;
	}
	for (size_t i = 0; i < def->n_nets; i++) {
		struct device_def d = { .kind = DEVICE_KIND_INTERFACE, .net = def->nets[i] };

		if ((r = domain_def_check_join(rest, &d, false, ret_error)) < 0)
			return r == -ENOMEM ? r : -EINVAL;
		rest->nets[rest->n_nets++] = d.net;
	}
	return 0;
}
