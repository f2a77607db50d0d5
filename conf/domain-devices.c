/* A domain's device list: the root disk, lookups for detach, and the attach/remove rules. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "conf-internal.h"
#include "domain-conf.h"
#include "i18n.h"
#include "util.h"

int domain_def_root_disk(const struct domain_def *def)
{
	for (size_t i = 0; i < def->n_disks; i++)
		if (def->disks[i].boot_order == 1)
			return (int)i;
	return def->n_disks > 0 ? 0 : -ENOENT;
}

bool domain_def_is_root_source(const struct domain_def *def, const char *path)
{
	int root = domain_def_root_disk(def);

	return root >= 0 && path && streq(def->disks[root].source, path);
}

int domain_def_find_disk(const struct domain_def *def, const struct disk_def *want)
{
	for (size_t i = 0; i < def->n_disks; i++)
		if (disk_def_matches(&def->disks[i], want))
			return (int)i;
	return -ENOENT;
}

int domain_def_find_net(const struct domain_def *def, const struct net_def *want)
{
	int found = -ENOENT;

	for (size_t i = 0; i < def->n_nets; i++)
		if (net_def_matches(&def->nets[i], want)) {
			/* Matched by type and source alone, a second match leaves it open which. */
			if (found >= 0)
				return -ENOTUNIQ;
			found = (int)i;
		}
	return found;
}

int domain_def_find_alias(const struct domain_def *def, const char *alias,
			  enum device_kind *ret_kind, size_t *ret_index)
{
	for (size_t i = 0; !isempty(alias) && i < def->n_disks; i++)
		if (streq(def->disks[i].alias, alias)) {
			*ret_kind = DEVICE_KIND_DISK;
			*ret_index = i;
			return 0;
		}
	for (size_t i = 0; !isempty(alias) && i < def->n_nets; i++)
		if (streq(def->nets[i].alias, alias)) {
			*ret_kind = DEVICE_KIND_INTERFACE;
			*ret_index = i;
			return 0;
		}
	return -ENOENT;
}

void domain_def_ensure_aliases(struct domain_def *def)
{
	for (size_t i = 0; i < def->n_disks; i++) {
		struct device_def d = { .kind = DEVICE_KIND_DISK, .disk = def->disks[i] };

		device_def_ensure_alias(&d);
		def->disks[i] = d.disk;
	}
	for (size_t i = 0; i < def->n_nets; i++) {
		struct device_def d = { .kind = DEVICE_KIND_INTERFACE, .net = def->nets[i] };

		device_def_ensure_alias(&d);
		def->nets[i] = d.net;
	}
}

/* The model decides how many slots there are; the slots model's can be lifted by the acpi one. */
static int no_free_disk_slot(const struct domain_def *def, char **ret_error)
{
	if (def->hotplug == DOMAIN_HOTPLUG_SLOTS)
		return error_set(ret_error, -ENOSPC,
			_("Domain %s has no free disk slot: the slots hot-plug model gives it %d "
			  "and all are in use; detach a disk first, or define the domain with "
			  "<hotplug model='acpi'/> for %d."),
			def->name, CONF_DISK_SLOTS, CONF_DISK_SLOTS_MAX);
	return error_set(ret_error, -ENOSPC,
		_("Domain %s has no free disk slot: all %d of the acpi hot-plug model are in use; "
		  "detach a disk first."),
		def->name, domain_hotplug_disk_slots(def->hotplug));
}

static int no_free_nic_slot(const struct domain_def *def, char **ret_error)
{
	if (def->hotplug == DOMAIN_HOTPLUG_SLOTS)
		return error_set(ret_error, -ENOSPC,
			_("Domain %s has no free interface slot: the slots hot-plug model gives "
			  "it %d and all are in use; detach an interface first, or define the "
			  "domain with <hotplug model='acpi'/> for %d."),
			def->name, CONF_NIC_SLOTS, CONF_NIC_SLOTS_MAX);
	return error_set(ret_error, -ENOSPC,
		_("Domain %s has no free interface slot: all %d of the acpi hot-plug model are "
		  "in use; detach an interface first."),
		def->name, domain_hotplug_nic_slots(def->hotplug));
}

/* A target the device schema takes (vda..vdaf) may still name a slot this domain lacks. */
static int check_disk_target(const struct domain_def *def, const struct disk_def *disk,
			     char **ret_error)
{
	int n = domain_hotplug_disk_slots(def->hotplug);
	char last[CONF_DISK_TARGET_MAX + 1] = "";

	if (disk_target_to_slot(disk->target) < n)
		return 0;
	(void)disk_slot_to_target(n > 0 ? (unsigned)n - 1 : 0, last);
	if (def->hotplug == DOMAIN_HOTPLUG_SLOTS)
		return error_set(ret_error, -EINVAL,
			_("Domain %s has %d disk slots (vda..%s) in the slots hot-plug model, so "
			  "it cannot have a disk %s; give a target among them, or "
			  "<hotplug model='acpi'/> for %d."),
			def->name, n, last, disk->target, CONF_DISK_SLOTS_MAX);
	return error_set(ret_error, -EINVAL,
		_("Domain %s has %d disk slots (vda..%s), so it cannot have a disk %s; give a "
		  "target among them."),
		def->name, n, last, disk->target);
}

static int check_disk_join(const struct domain_def *def, const struct disk_def *disk,
			   bool hotplug, char **ret_error)
{
	int r;

	if (def->n_disks >= (size_t)domain_hotplug_disk_slots(def->hotplug))
		return no_free_disk_slot(def, ret_error);
	if ((r = check_disk_target(def, disk, ret_error)) < 0)
		return r;
	for (size_t i = 0; i < def->n_disks; i++)
		if (streq(def->disks[i].target, disk->target))
			return error_set(ret_error, -EEXIST,
				_("Domain %s already has a disk %s; choose another target."),
				def->name, disk->target);
	if (domain_def_is_root_source(def, disk->source))
		return error_set(ret_error, -EPERM,
			_("The image %s is the root disk of domain %s; it cannot be "
			  "attached a second time."),
			disk->source, def->name);
	if (disk->boot_order == 1 && def->n_disks > 0 &&
	    (hotplug || def->disks[domain_def_root_disk(def)].boot_order == 1))
		return error_set(ret_error, -EINVAL,
			_("The disk %s asks for boot order 1, but domain %s already has "
			  "its root disk."),
			disk->target, def->name);
	return 0;
}

static int check_net_join(const struct domain_def *def, const struct net_def *net,
			  char **ret_error)
{
	char mac[MAC_STR_SIZE];

	mac_format(net->mac, mac);
	if (def->n_nets >= (size_t)domain_hotplug_nic_slots(def->hotplug))
		return no_free_nic_slot(def, ret_error);
	for (size_t i = 0; i < def->n_nets; i++) {
		if (!memcmp(def->nets[i].mac, net->mac, MAC_LEN))
			return error_set(ret_error, -EEXIST,
				_("Domain %s already has an interface with MAC %s."), def->name,
				mac);
		if (net->ifname[0] && streq(def->nets[i].ifname, net->ifname))
			return error_set(ret_error, -EEXIST,
				_("Domain %s already has an interface on TAP %s."), def->name,
				net->ifname);
	}
	return 0;
}

int domain_def_check_join(const struct domain_def *def, const struct device_def *dev,
			  bool hotplug, char **ret_error)
{
	enum device_kind kind;
	size_t idx;
	const char *alias = device_def_alias(dev);
	int r;

	r = device_def_validate(dev, ret_error);
	if (r < 0)
		return r;
	/* Without a model there is no slot count to check against. */
	if (!domain_hotplug_to_string(def->hotplug))
		return error_set(ret_error, -EINVAL,
			_("The hot-plug model of domain %s is unknown; use slots or acpi."),
			def->name);
	if (alias[0] && domain_def_find_alias(def, alias, &kind, &idx) == 0)
		return error_set(ret_error, -EEXIST,
			_("Domain %s already has a device with alias %s."), def->name, alias);
	if (dev->kind == DEVICE_KIND_DISK)
		return check_disk_join(def, &dev->disk, hotplug, ret_error);
	return check_net_join(def, &dev->net, ret_error);
}

int domain_def_check_attach(const struct domain_def *def, const struct device_def *dev,
			    char **ret_error)
{
	return domain_def_check_join(def, dev, true, ret_error);
}

int domain_def_add_device(struct domain_def *def, const struct device_def *dev, char **ret_error)
{
	int r = domain_def_check_attach(def, dev, ret_error);

	if (r < 0)
		return r;
	if (dev->kind == DEVICE_KIND_DISK)
		def->disks[def->n_disks++] = dev->disk;
	else
		def->nets[def->n_nets++] = dev->net;
	return 0;
}

/* Why no single NIC matched: by MAC, by alias, or by what the XML says (none or several). */
static int net_not_found(const struct domain_def *def, const struct net_def *want, int r,
			 char **ret_error)
{
	const char *type = net_type_to_string(want->type);
	char mac[MAC_STR_SIZE];

	mac_format(want->mac, mac);
	if (!want->mac_generated)
		return error_set(ret_error, -ENOENT, _("Domain %s has no interface %s."), def->name,
			mac);
	if (want->alias[0])
		return error_set(ret_error, -ENOENT, _("Domain %s has no interface %s."), def->name,
			want->alias);
	if (r == -ENOTUNIQ)
		return error_set(ret_error, -EINVAL,
			_("Several interfaces of type %s of domain %s match the XML; give the "
			  "<mac address> of the one to detach."),
			type, def->name);
	return error_set(ret_error, -ENOENT,
		_("Domain %s has no interface of type %s that matches the XML (source, target "
		  "and model); give its <mac address>."),
		def->name, type);
}

static int find_device(const struct domain_def *def, const struct device_def *want,
		       char **ret_error)
{
	int i;

	if (want->kind == DEVICE_KIND_DISK)
		i = domain_def_find_disk(def, &want->disk);
	else
		i = domain_def_find_net(def, &want->net);
	if (i >= 0)
		return i;
	if (want->kind == DEVICE_KIND_DISK)
		return error_set(ret_error, -ENOENT, _("Domain %s has no disk %s."), def->name,
			want->disk.target[0] ? want->disk.target : want->disk.alias);
	return net_not_found(def, &want->net, i, ret_error);
}

int domain_def_remove_device(struct domain_def *def, const struct device_def *want,
			     bool keep_root, struct device_def **ret_removed, char **ret_error)
{
	_cleanup_device_def_ struct device_def *removed = device_def_new(want->kind);
	int i = find_device(def, want, ret_error);

	if (i < 0)
		return i;
	if (!removed)
		return -ENOMEM;
	if (want->kind == DEVICE_KIND_DISK) {
		if (keep_root && i == domain_def_root_disk(def))
			return error_set(ret_error, -EPERM,
				_("The disk %s holds the root image of domain %s; it "
				  "cannot be detached."),
				def->disks[i].target, def->name);
		removed->disk = def->disks[i];
		memmove(&def->disks[i], &def->disks[i + 1],
			(def->n_disks - i - 1) * sizeof(def->disks[0]));
		def->n_disks--;
	} else {
		removed->net = def->nets[i];
		memmove(&def->nets[i], &def->nets[i + 1],
			(def->n_nets - i - 1) * sizeof(def->nets[0]));
		def->n_nets--;
	}
	if (ret_removed)
		*ret_removed = TAKE_PTR(removed);
	return 0;
}
