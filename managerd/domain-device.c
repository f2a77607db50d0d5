/* AttachDevice / DetachDevice with libvirt's flags: which definition each call changes. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "domain-conf.h"
#include "domain-device.h"
#include "domain-hotplug.h"
#include "domain.h"
#include "i18n.h"
#include "image.h"
#include "job.h"
#include "manager.h"
#include "store.h"
#include "util.h"

/* current → live when running, else config; live on a stopped domain is refused. */
static int flags_resolve(struct domain *d, unsigned flags, unsigned *ret, char **ret_error)
{
	if (flags & ~(unsigned)(DOMAIN_AFFECT_LIVE | DOMAIN_AFFECT_CONFIG))
		return error_set_first(ret_error, -EINVAL,
			_("Unknown device flags %u: use 0 (current), 1 (live), 2 (config) or "
			  "3 (both)."),
			flags);
	if (flags == DOMAIN_AFFECT_CURRENT)
		flags = domain_is_active(d) ? DOMAIN_AFFECT_LIVE : DOMAIN_AFFECT_CONFIG;
	if ((flags & DOMAIN_AFFECT_LIVE) && (!domain_is_active(d) || !d->live))
		return error_set_first(ret_error, -EALREADY,
			_("Domain %s is not running, so a live change is impossible; use "
			  "--config."),
			d->name);
	*ret = flags;
	return 0;
}

/* The caller's document is parsed without the big lock, so that a large one stalls no other
 * client: nothing shared is read. */
static int device_parse(const char *xml, struct device_def **ret, char **ret_error)
{
	int r;

	job_unlocked_begin();
	r = device_def_parse(xml, ret, ret_error) < 0 ? -EBADMSG : 0;
	if (r >= 0)
		r = device_def_validate(*ret, ret_error);
	job_unlocked_end();
	return r;
}

static int config_commit(struct domain *d, struct domain_def *newdef, char **ret_error)
{
	_cleanup_free_ char *xml = NULL;
	int r = domain_def_format(newdef, &xml);

	if (r < 0)
		return r;
	r = store_domain_update(manager_store(d->manager), d->uuid, d->name, xml, ret_error);
	if (r < 0)
		return r;
	domain_def_free(d->def);
	d->def = newdef;
	return 0;
}

int domain_attach_device(struct domain *d, const char *xml, unsigned flags, char **ret_error)
{
	_cleanup_device_def_ struct device_def *dev = NULL;
	_cleanup_domain_def_ struct domain_def *newdef = NULL;
	int r;

	r = device_parse(xml, &dev, ret_error);
	if (r >= 0)
		r = flags_resolve(d, flags, &flags, ret_error);
	if (r < 0)
		return r;
	device_def_ensure_alias(dev);
	/* The image policy holds for --config too, when the definition is accepted. */
	if (dev->kind == DEVICE_KIND_DISK) {
		r = image_def_check(&manager_config(d->manager)->images, dev->disk.source,
				    ret_error);
		if (r < 0)
			return r;
	}
	if (flags & DOMAIN_AFFECT_CONFIG) {
		/* Checked before the live part so that a config clash changes nothing. */
		r = domain_def_check_attach(d->def, dev, ret_error);
		if (r < 0)
			return r;
	}
	if (flags & DOMAIN_AFFECT_LIVE) {
		r = domain_hotplug_apply(d, dev, flags & DOMAIN_AFFECT_CONFIG, ret_error);
		if (r < 0)
			return r;
		/* domain_hotplug_apply() wrote back the MAC or target it chose: config stores the same. */
	}
	if (!(flags & DOMAIN_AFFECT_CONFIG))
		return 0;
	newdef = domain_def_copy(d->def);
	if (!newdef)
		return -ENOMEM;
	r = domain_def_add_device(newdef, dev, ret_error);
	if (r >= 0)
		r = config_commit(d, TAKE_PTR(newdef), ret_error);
	return r;
}

static int detach_config(struct domain *d, const struct device_def *want, char **ret_error)
{
	_cleanup_domain_def_ struct domain_def *newdef = domain_def_copy(d->def);
	int r;

	if (!newdef)
		return -ENOMEM;
	r = domain_def_remove_device(newdef, want, true, NULL, ret_error);
	if (r == -EPERM)
		return error_set_first(ret_error, -EINVAL,
			_("The root disk of domain %s can never be detached."), d->name);
	if (r < 0)
		return r;
	return config_commit(d, TAKE_PTR(newdef), ret_error);
}

static int detach_live(struct domain *d, const struct device_def *want, char **ret_error)
{
	_cleanup_device_def_ struct device_def *found = NULL;
	_cleanup_domain_def_ struct domain_def *probe = domain_def_copy(d->live);
	int r;

	if (!probe)
		return -ENOMEM;
	/* Finds (and checks for the root disk) on a scratch copy: the live definition
	 * changes only when the VMM confirms the removal. */
	r = domain_def_remove_device(probe, want, false, &found, ret_error);
	if (r < 0)
		return r;
	if (found->kind == DEVICE_KIND_DISK && domain_def_is_root_source(d->def, found->disk.source))
		return error_set_first(ret_error, -EINVAL,
			_("The root disk of domain %s can never be detached."), d->name);
	return domain_hotplug_unplug(d, device_def_alias(found), ret_error);
}

static int detach(struct domain *d, const struct device_def *want, unsigned flags,
		  char **ret_error)
{
	int r = flags_resolve(d, flags, &flags, ret_error);

	if (r < 0)
		return r;
	if (flags & DOMAIN_AFFECT_CONFIG) {
		_cleanup_domain_def_ struct domain_def *check = domain_def_copy(d->def);

		if (!check)
			return -ENOMEM;
		r = domain_def_remove_device(check, want, true, NULL, ret_error);
		if (r == -EPERM)
			return error_set_first(ret_error, -EINVAL,
				_("The root disk of domain %s can never be detached."), d->name);
		if (r < 0)
			return r;
	}
	if (flags & DOMAIN_AFFECT_LIVE) {
		r = detach_live(d, want, ret_error);
		if (r < 0)
			return r;
	}
	if (flags & DOMAIN_AFFECT_CONFIG)
		return detach_config(d, want, ret_error);
	return 0;
}

int domain_detach_device(struct domain *d, const char *xml, unsigned flags, char **ret_error)
{
	_cleanup_device_def_ struct device_def *want = NULL;
	int r = device_parse(xml, &want, ret_error);

	if (r < 0)
		return r;
	return detach(d, want, flags, ret_error);
}

int domain_detach_alias(struct domain *d, const char *alias, unsigned flags, char **ret_error)
{
	const struct domain_def *def = d->live ? d->live : d->def;
	_cleanup_device_def_ struct device_def *want = NULL;
	enum device_kind kind;
	size_t idx;

	if (domain_def_find_alias(def, alias, &kind, &idx) < 0 &&
	    domain_def_find_alias(def = d->def, alias, &kind, &idx) < 0)
		return error_set_first(ret_error, -ENOENT,
			_("Domain %s has no device with alias %s."), d->name, alias);
	want = device_def_new(kind);
	if (!want)
		return -ENOMEM;
	if (kind == DEVICE_KIND_DISK)
		want->disk = def->disks[idx];
	else
		want->net = def->nets[idx];
	return detach(d, want, flags, ret_error);
}
