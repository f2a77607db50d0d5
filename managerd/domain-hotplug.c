/*
 * Device attach and detach as QMP sequences (DESIGN.md, "The daemon"): a row in the
 * store marks each step's progress (attaching → attached → detaching → gone) so that
 * restore.c can finish or roll back what a daemon crash interrupted.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "domain-conf.h"
#include "domain-hotplug.h"
#include "domain.h"
#include "i18n.h"
#include "image.h"
#include "job.h"
#include "json-stream.h"
#include "log.h"
#include "manager.h"
#include "netdev.h"
#include "qmp-client.h"
#include "store.h"
#include "util.h"

struct plug {
	struct device_def dev;
	int slot;
	char tap[IFNAMSIZ];
	int tap_fd;
	unsigned created;
	bool row;
	bool backend; /* blockdev-add / netdev_add done */
};

/* How long the debug pause below waits for the test to remove its file. */
#define DEBUG_PAUSE_MAX_MS 120000

/* Whether the comma-separated list holds word. */
static bool list_has(const char *list, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = list; p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
		if (strncmp(p, word, n) == 0 && (p[n] == ',' || p[n] == 0))
			return true;
	return false;
}

/*
 * Fault-injection hook for test_mvirtd_faults.py: with MVIRT_DEBUG_PAUSE_AT=cmd[,cmd...] in the
 * environment, a hot-plug step stops just before it sends cmd, creates
 * <rundir>/debug-pause-<cmd> and waits (without the big lock) until that file is removed,
 * the daemon exits (SIGTERM: -ECANCELED, and the attach rolls back) or the limit passes.
 * Meanwhile a test may act behind the daemon's back (another QMP client, SIGTERM).
 */
static int debug_pause(struct domain *d, const char *cmd)
{
	const char *at = getenv("MVIRT_DEBUG_PAUSE_AT");
	char path[512];
	int fd;

	if (!at || !list_has(at, cmd))
		return 0;
	snprintf(path, sizeof(path), "%s/debug-pause-%s", d->rundir, cmd);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return 0;
	close(fd);
	log_info("Debug pause before %s on domain %s until %s is removed.", cmd, d->name, path);
	for (int waited = 0; waited < DEBUG_PAUSE_MAX_MS && access(path, F_OK) == 0; waited += 20) {
		if (jobs_draining()) {
			unlink(path);
			return -ECANCELED;
		}
		job_blocking_begin();
		usleep(20 * 1000);
		job_blocking_end();
	}
	unlink(path);
	return 0;
}

/* Runs cmd for the device alias; every refusal is one sentence naming both. */
static int qmp_run(struct domain *d, const char *cmd, struct json_object *args, int fd,
		   const char *alias, char **ret_error)
{
	_cleanup_(qmp_error_done) struct qmp_error qerr = {};
	int r;

	if (!d->qmp)
		return error_set_first(ret_error, -ENOTCONN,
			_("Domain %s has no QMP connection to its VMM, so %s for device %s cannot "
			  "be sent."), d->name, cmd, alias);
	if (debug_pause(d, cmd) < 0)
		return error_set_first(ret_error, -ECANCELED,
			_("mvirtd is exiting, so %s for device %s was not sent to domain %s."), cmd,
			alias, d->name);
	r = qmp_client_execute(d->qmp, cmd, args, fd, QMP_CLIENT_TIMEOUT_MS, NULL, &qerr);
	if (r == -EREMOTEIO)
		return error_set_first(ret_error, qmp_error_to_errno(qerr.error_class),
			_("Changing device %s of domain %s failed at %s: the VMM said: %s"), alias,
			d->name, cmd, qerr.desc ? qerr.desc : "?");
	if (r < 0)
		return error_set_first(ret_error, r,
			_("Changing device %s of domain %s failed at %s: %s."), alias, d->name, cmd,
			strerror(-r));
	return 0;
}

static int qmp_simple(struct domain *d, const char *cmd, const char *key, const char *value)
{
	_cleanup_json_ struct json_object *args = json_object_new_object();

	json_object_object_add(args, key, json_object_new_string(value));
	return qmp_run(d, cmd, args, -1, value, NULL);
}

/* In the dynamic model the VMM picks a slot the guest can take (device_add without addr),
 * and the guest names disks in the order it finds them: the daemon's slot is its target's
 * index, which names the disk in the XML only. */
static bool model_acpi(const struct domain *d)
{
	return d->live->hotplug == DOMAIN_HOTPLUG_ACPI;
}

static int disk_slot_pick(struct domain *d, struct disk_def *disk, char **ret_error)
{
	bool used[CONF_DISK_SLOTS_MAX] = { false };
	int n = domain_hotplug_disk_slots(d->live->hotplug);

	if (!isempty(disk->target))
		return disk_target_to_slot(disk->target);
	for (size_t i = 0; i < d->live->n_disks; i++) {
		int s = disk_target_to_slot(d->live->disks[i].target);

		if (s >= 0 && s < n)
			used[s] = true;
	}
	for (int s = 0; s < n; s++)
		if (!used[s])
			return disk_slot_to_target((unsigned)s, disk->target) < 0 ? -EINVAL : s;
	return error_set_first(ret_error, -ENOSPC,
		_("Domain %s has no free disk slot: all %d are in use; detach a disk first."),
		d->name, n);
}

static int nic_slot_used(struct domain *d, int slot)
{
	for (size_t i = 0; i < d->live->n_nets; i++)
		if (memcmp(d->live->nets[i].mac, d->nic_macs[slot], MAC_LEN) == 0)
			return 1;
	return 0;
}

static int nic_slot_pick(struct domain *d, struct net_def *net, char **ret_error)
{
	char have[CONF_NIC_SLOTS * 20] = "", mac[MAC_STR_SIZE];
	int n_free = 0;

	/* The dynamic model: the NIC keeps its MAC (given or generated); device_add says it,
	 * and the VMM picks the slot. */
	if (model_acpi(d)) {
		if ((int)d->live->n_nets < domain_hotplug_nic_slots(d->live->hotplug))
			return 0;
		return error_set_first(ret_error, -ENOSPC,
			_("Domain %s has no free NIC slot: all %d are in use; detach an interface "
			  "first."), d->name, domain_hotplug_nic_slots(d->live->hotplug));
	}
	for (int s = 0; s < CONF_NIC_SLOTS; s++) {
		if (nic_slot_used(d, s))
			continue;
		if (net->mac_generated) {
			/* The guest read each slot's MAC at boot: the NIC takes the slot's. */
			memcpy(net->mac, d->nic_macs[s], MAC_LEN);
			net->mac_generated = false;
			return s;
		}
		if (memcmp(net->mac, d->nic_macs[s], MAC_LEN) == 0)
			return s;
		mac_format(d->nic_macs[s], mac);
		snprintf(have + strlen(have), sizeof(have) - strlen(have), "%s%s", n_free ? ", " : "",
			 mac);
		n_free++;
	}
	mac_format(net->mac, mac);
	if (n_free == 0)
		return error_set_first(ret_error, -ENOSPC,
			_("Domain %s has no free NIC slot: both are in use; detach an "
			  "interface first."),
			d->name);
	return error_set_first(ret_error, -EINVAL,
		_("No free NIC slot of domain %s has MAC %s: the guest fixed each slot's MAC "
		  "at boot, and the free slots have %s. Leave <mac> out to take a free slot's "
		  "address, or attach with --config and restart the domain."),
		d->name, mac, have);
}

static int row_write(struct domain *d, struct plug *p, bool persistent,
		     enum store_device_state state, bool insert, char **ret_error)
{
	_cleanup_free_ char *xml = NULL;
	struct store_device row = { .slot = p->slot, .persistent = persistent, .live = true,
				    .state = state, .created = p->created };
	int r = device_def_format(&p->dev, &xml);

	if (r < 0)
		return r;
	row.definition = xml;
	memcpy(row.domain_uuid, d->uuid, sizeof(row.domain_uuid));
	str_copy(row.alias, sizeof(row.alias), device_def_alias(&p->dev));
	str_copy(row.kind, sizeof(row.kind), device_kind_to_string(p->dev.kind));
	str_copy(row.host_ifname, sizeof(row.host_ifname), p->tap);
	if (insert)
		return store_device_insert(manager_store(d->manager), &row, ret_error);
	return store_device_update(manager_store(d->manager), &row, ret_error);
}

_Static_assert(sizeof(MVIRT_FDNAME_PREFIX) - 1 + CONF_ALIAS_MAX <= MVIRT_FDNAME_MAX,
	       "getfd takes \"fd-<alias>\" for the longest alias");

/* Names fd in the VMM with getfd (SCM_RIGHTS); the backend command then takes it by name. */
static int fd_pass(struct domain *d, const char *fdname, int fd, const char *alias,
		   char **ret_error)
{
	_cleanup_json_ struct json_object *gf = json_object_new_object();
	int r;

	json_object_object_add(gf, "fdname", json_object_new_string(fdname));
	/* A VMM that refuses getfd keeps the fd queued on this connection, where the next
	 * getfd would take it instead of its own: a new connection drops it. */
	r = qmp_run(d, "getfd", gf, fd, alias, ret_error);
	if ((r == -EIO || r == -EOPNOTSUPP) && domain_qmp_reconnect(d) < 0)
		log_warning("Domain %s's VMM may keep the fd it refused to name.", d->name);
	return r;
}

/* A backend command that failed leaves the named fd in the VMM (a success takes it). */
static void fd_forget(struct domain *d, const char *fdname)
{
	(void)qmp_simple(d, "closefd", "fdname", fdname);
}

/*
 * A backend command that timed out (a stopped or overloaded VMM) may still be done later.
 * The rollback then deletes the backend anyway: QMP runs one connection's commands in
 * order, so the delete, late too, follows the late add and no orphan node is left to block
 * the alias. (A late add that fails makes the delete fail harmlessly.)
 */
static void backend_late(struct domain *d, struct plug *p, const char *cmd)
{
	log_warning("Domain %s did not answer %s for %s in time; the rollback deletes the backend "
		    "after it.", d->name, cmd, device_def_alias(&p->dev));
	p->backend = true;
}

static int disk_open(struct domain *d, const struct disk_def *disk, char **ret_error)
{
	_cleanup_free_ char *err = NULL;
	int fd = image_open(&manager_config(d->manager)->images, disk->source, disk->readonly,
			    disk_def_is_direct(disk), &err);

	if (fd >= 0)
		return fd;
	/* Outside the image folders, or a device: the caller's argument is at fault. */
	return error_set_first(ret_error, fd == -EINVAL ? -EINVAL : -EIO,
		_("Attaching disk %s to domain %s failed before blockdev-add: %s"), disk->alias,
		d->name, err ? err : "");
}

static int disk_plug(struct domain *d, struct plug *p, char **ret_error)
{
	const struct disk_def *disk = &p->dev.disk;
	_cleanup_json_ struct json_object *bd = json_object_new_object();
	_cleanup_json_ struct json_object *dev = json_object_new_object();
	struct json_object *file = json_object_new_object(), *cache = json_object_new_object();
	_cleanup_close_ int fd = -1;
	char addr[16], fdname[MVIRT_FDNAME_MAX + 1];
	int r;

	fd = disk_open(d, disk, ret_error);
	if (fd < 0)
		return fd;
	snprintf(fdname, sizeof(fdname), MVIRT_FDNAME_PREFIX "%s", disk->alias);
	r = fd_pass(d, fdname, fd, disk->alias, ret_error);
	if (r < 0)
		return r;
	fd = safe_close(fd);
	json_object_object_add(file, "driver", json_object_new_string("file"));
	json_object_object_add(file, "fd", json_object_new_string(fdname));
	json_object_object_add(cache, "direct", json_object_new_boolean(disk_def_is_direct(disk)));
	json_object_object_add(bd, "node-name", json_object_new_string(disk->alias));
	json_object_object_add(bd, "file", file);
	json_object_object_add(bd, "cache", cache);
	json_object_object_add(bd, "read-only", json_object_new_boolean(disk->readonly));
	r = qmp_run(d, "blockdev-add", bd, -1, disk->alias, ret_error);
	if (r == -ETIMEDOUT)
		backend_late(d, p, "blockdev-add");
	if (r < 0) {
		fd_forget(d, fdname);
		return r;
	}
	p->backend = true;
	snprintf(addr, sizeof(addr), "0x%x", p->slot);
	json_object_object_add(dev, "id", json_object_new_string(disk->alias));
	json_object_object_add(dev, "driver", json_object_new_string("virtio-blk-mmio"));
	if (!model_acpi(d))
		json_object_object_add(dev, "addr", json_object_new_string(addr));
	if (!isempty(disk->serial))
		json_object_object_add(dev, "serial", json_object_new_string(disk->serial));
	return qmp_run(d, "device_add", dev, -1, disk->alias, ret_error);
}

/*
 * The bridge: one mvirtd created (remembered in the store) is brought up; an
 * administrator's is used as it is, up or down, and never changed. A bridge made now is
 * recorded before anything is plugged into it, so a crash cannot lose track of it.
 */
static int bridge_prepare(struct domain *d, struct plug *p, char **ret_error)
{
	const struct net_def *net = &p->dev.net;
	struct store *s = manager_store(d->manager);
	bool made = false;
	int ours = store_bridge_created(s, net->bridge), r;

	if (ours < 0)
		return error_set_first(ret_error, ours,
			_("Cannot attach interface %s to domain %s: the database cannot say "
			  "whether mvirtd created bridge %s."), net->alias, d->name, net->bridge);
	r = netdev_bridge_ensure(net->bridge, manager_config(d->manager)->allow_bridge_create,
				 ours > 0, &made);
	if (r < 0)
		return error_set_first(ret_error, r == -ENODEV ? -EINVAL : r,
			_("Cannot attach interface %s to domain %s: the bridge %s cannot be used "
			  "(%s)."), net->alias, d->name, net->bridge, strerror(-r));
	if (!made)
		return 0;
	r = store_bridge_add(s, net->bridge, ret_error);
	if (r < 0) {
		(void)netdev_bridge_delete(net->bridge);
		return r;
	}
	p->created |= STORE_DEVICE_BRIDGE_CREATED;
	return 0;
}

static int tap_prepare(struct domain *d, struct plug *p, char **ret_error)
{
	const struct net_def *net = &p->dev.net;
	const char *bridge = net->type == NET_TYPE_BRIDGE ? net->bridge : NULL;
	int r;

	if (bridge && (r = bridge_prepare(d, p, ret_error)) < 0)
		return r;
	/* A name in use is refused (-EEXIST), never taken over: see tap_open_user() for that. */
	r = netdev_tap_create(isempty(net->ifname) ? NULL : net->ifname, net->mac, bridge,
			      p->tap, &p->tap_fd);
	if (r == -EEXIST)
		return error_set_first(ret_error, -EEXIST,
			_("Cannot attach interface %s to domain %s: the interface %s exists "
			  "already; pick another <target dev=>, or give <target dev='%s' "
			  "managed='no'/> with type='ethernet' to use that TAP."),
			net->alias, d->name, net->ifname, net->ifname);
	if (r < 0)
		return error_set_first(ret_error, r,
			_("Cannot attach interface %s to domain %s: the TAP %s cannot be created "
			  "(%s)."), net->alias, d->name,
			isempty(net->ifname) ? "mvtapN" : net->ifname, strerror(-r));
	p->created |= STORE_DEVICE_TAP_CREATED;
	return 0;
}

static int nic_backend_add(struct domain *d, struct plug *p, char **ret_error)
{
	const struct net_def *net = &p->dev.net;
	_cleanup_json_ struct json_object *nd = json_object_new_object();
	char fdname[MVIRT_FDNAME_MAX + 1];
	int r;

	snprintf(fdname, sizeof(fdname), MVIRT_FDNAME_PREFIX "%s", net->alias);
	r = fd_pass(d, fdname, p->tap_fd, net->alias, ret_error);
	if (r < 0)
		return r;
	json_object_object_add(nd, "id", json_object_new_string(net->alias));
	json_object_object_add(nd, "fd", json_object_new_string(fdname));
	r = qmp_run(d, "netdev_add", nd, -1, net->alias, ret_error);
	if (r < 0)
		fd_forget(d, fdname);
	return r;
}

/* type='ethernet' with <target managed='no'>: the user's existing TAP (libvirt's rule), opened
 * here so that the VMM needs no /dev/net/tun. Without managed='no' mvirtd makes the TAP. */
static int tap_open_user(struct domain *d, struct plug *p, char **ret_error)
{
	const char *tap = p->dev.net.ifname;
	int r;

	r = netdev_tap_attach(tap, &p->tap_fd);
	if (r < 0)
		return error_set_first(ret_error, r == -ENODEV || r == -EINVAL ? -EINVAL : -EIO,
			_("Cannot attach interface %s to domain %s: the TAP %s cannot be opened "
			  "(%s); create the TAP first or use <interface type='bridge'>."),
			p->dev.net.alias, d->name, isempty(tap) ? "?" : tap, strerror(-r));
	return 0;
}

static int nic_plug(struct domain *d, struct plug *p, char **ret_error)
{
	const struct net_def *net = &p->dev.net;
	_cleanup_json_ struct json_object *dev = json_object_new_object();
	char addr[16], mac[MAC_STR_SIZE];
	int r;

	r = !net->managed ? tap_open_user(d, p, ret_error) : tap_prepare(d, p, ret_error);
	if (r < 0)
		return r;
	r = nic_backend_add(d, p, ret_error);
	if (r == -ETIMEDOUT)
		backend_late(d, p, "netdev_add");
	if (r < 0)
		return r;
	p->backend = true;
	snprintf(addr, sizeof(addr), "0x%x", p->slot);
	mac_format(net->mac, mac);
	json_object_object_add(dev, "id", json_object_new_string(net->alias));
	json_object_object_add(dev, "driver", json_object_new_string("virtio-net-mmio"));
	if (!model_acpi(d))
		json_object_object_add(dev, "addr", json_object_new_string(addr));
	json_object_object_add(dev, "mac", json_object_new_string(mac));
	return qmp_run(d, "device_add", dev, -1, net->alias, ret_error);
}

/* Deletes a bridge this daemon created (the store says) once no port is left on it, and
 * forgets one that is gone. Any device's release may be the last: not only its creator's. */
static void bridge_release(struct store *s, const char *bridge)
{
	int ports;

	if (isempty(bridge) || store_bridge_created(s, bridge) <= 0)
		return;
	ports = netdev_bridge_port_count(bridge);
	if (ports == -ENODEV || (ports == 0 && netdev_bridge_delete(bridge) >= 0))
		(void)store_bridge_delete(s, bridge, NULL);
	else if (ports == 0)
		log_warning("Cannot delete bridge %s that mvirtd created: %m.", bridge);
}

static void plug_rollback(struct domain *d, struct plug *p)
{
	const char *alias = device_def_alias(&p->dev);

	if (p->backend)
		(void)qmp_simple(d, p->dev.kind == DEVICE_KIND_DISK ? "blockdev-del" : "netdev_del",
				 p->dev.kind == DEVICE_KIND_DISK ? "node-name" : "id", alias);
	/* Our fd was the TAP's last one if the VMM never took it: closing removes the TAP. A
	 * VMM that refused getfd may still hold the fd it received; the TAP goes anyway. */
	p->tap_fd = safe_close(p->tap_fd);
	if ((p->created & STORE_DEVICE_TAP_CREATED) && netdev_exists(p->tap) > 0) {
		int r = netdev_link_delete(p->tap);

		if (r < 0)
			log_warning_errno(r, "Cannot delete TAP %s that mvirtd created: %m.", p->tap);
	}
	if (p->dev.kind == DEVICE_KIND_INTERFACE)
		bridge_release(manager_store(d->manager), p->dev.net.bridge);
	if (p->row)
		(void)store_device_delete(manager_store(d->manager), d->uuid, alias, NULL);
}

static int plug_prepare(struct domain *d, struct plug *p, char **ret_error)
{
	struct store_device old = { 0 };
	int r;

	device_def_ensure_alias(&p->dev);
	if (store_device_get(manager_store(d->manager), d->uuid, device_def_alias(&p->dev), &old,
			     NULL) >= 0) {
		bool detaching = old.state == STORE_DEVICE_DETACHING;

		store_device_clear(&old);
		return error_set_first(ret_error, detaching ? -EBUSY : -EEXIST,
			detaching ? _("Device %s of domain %s is still being detached; wait "
				      "for DeviceRemoved before reusing its alias.")
				  : _("Domain %s already has a device with alias %s."),
			detaching ? device_def_alias(&p->dev) : d->name,
			detaching ? d->name : device_def_alias(&p->dev));
	}
	if (p->dev.kind == DEVICE_KIND_DISK)
		r = disk_slot_pick(d, &p->dev.disk, ret_error);
	else
		r = nic_slot_pick(d, &p->dev.net, ret_error);
	if (r < 0)
		return r;
	/* The dynamic model's NICs take the slot the VMM picks: none is recorded. */
	p->slot = model_acpi(d) && p->dev.kind == DEVICE_KIND_INTERFACE ? -1 : r;
	return domain_def_check_attach(d->live, &p->dev, ret_error);
}

int domain_hotplug_apply(struct domain *d, struct device_def *dev, bool persistent,
		  char **ret_error)
{
	struct plug p = { .dev = *dev, .tap_fd = -1 };
	int r;

	r = plug_prepare(d, &p, ret_error);
	if (r < 0)
		return r;
	r = row_write(d, &p, persistent, STORE_DEVICE_ATTACHING, true, ret_error);
	if (r < 0)
		return r;
	p.row = true;
	r = p.dev.kind == DEVICE_KIND_DISK ? disk_plug(d, &p, ret_error)
					   : nic_plug(d, &p, ret_error);
	if (r >= 0)
		r = row_write(d, &p, persistent, STORE_DEVICE_ATTACHED, false, ret_error);
	if (r >= 0)
		r = domain_def_add_device(d->live, &p.dev, ret_error);
	if (r < 0) {
		plug_rollback(d, &p);
		return r;
	}
	p.tap_fd = safe_close(p.tap_fd);
	*dev = p.dev;
	log_info("Attached %s %s to domain %s (slot %d).", device_kind_to_string(p.dev.kind),
		 device_def_alias(&p.dev), d->name, p.slot);
	manager_notify_device(d, DEVICE_EVENT_ADDED, device_def_alias(&p.dev));
	return 0;
}

/* The device is gone from the VMM: release its backend, TAP, bridge and row. */
void domain_hotplug_unplug_finish(struct domain *d, const struct store_device *row)
{
	_cleanup_device_def_ struct device_def *dev = NULL;
	bool disk = streq(row->kind, "disk");

	(void)qmp_simple(d, disk ? "blockdev-del" : "netdev_del", disk ? "node-name" : "id",
			 row->alias);
	if (device_def_parse(row->definition, &dev, NULL) >= 0 &&
	    dev->kind == DEVICE_KIND_INTERFACE)
		bridge_release(manager_store(d->manager), dev->net.bridge);
	if (d->live && dev)
		(void)domain_def_remove_device(d->live, dev, false, NULL, NULL);
	(void)store_device_delete(manager_store(d->manager), d->uuid, row->alias, NULL);
	log_info("Device %s of domain %s is detached.", row->alias, d->name);
	manager_notify_device(d, DEVICE_EVENT_REMOVED, row->alias);
}

static int job_unplug_finish(struct domain *d, const char *alias, unsigned flags,
			     char **ret_error)
{
	_cleanup_(store_device_clear) struct store_device row = { 0 };

	if (store_device_get(manager_store(d->manager), d->uuid, alias, &row, NULL) < 0)
		return 0;
	/* Detaching: the late event of our device_del. Attached: another QMP client removed it
	 * behind the daemon's back; the VMM no longer has it either way. */
	if (row.state != STORE_DEVICE_ATTACHING && d->qmp)
		domain_hotplug_unplug_finish(d, &row);
	return 0;
}

void domain_hotplug_device_deleted(struct domain *d, const char *alias)
{
	_cleanup_free_ char *err = NULL;

	/* Finishing talks QMP (blockdev-del, netdev_del): not on the bus loop. */
	if (job_submit(&d->jobs, job_unplug_finish, alias, 0, NULL, NULL, &err) < 0)
		log_warning("Cannot finish the detach of %s from domain %s: %s", alias, d->name,
			    err ? err : "");
}

int domain_hotplug_unplug(struct domain *d, const char *alias, char **ret_error)
{
	struct store *s = manager_store(d->manager);
	_cleanup_(store_device_clear) struct store_device row = { 0 };
	_cleanup_json_ struct json_object *ev = NULL;
	_cleanup_json_ struct json_object *args = json_object_new_object();
	int r;

	if (store_device_get(s, d->uuid, alias, &row, NULL) < 0)
		return error_set_first(ret_error, -ENOENT,
			_("Domain %s has no hot-plugged device %s in its running VM."), d->name,
			alias);
	if (row.state == STORE_DEVICE_DETACHING)
		return error_set_first(ret_error, -EBUSY,
			_("Device %s of domain %s is already being detached."), alias, d->name);
	r = store_device_set_state(s, d->uuid, alias, STORE_DEVICE_DETACHING, ret_error);
	if (r < 0)
		return r;
	json_object_object_add(args, "id", json_object_new_string(alias));
	r = qmp_run(d, "device_del", args, -1, alias, ret_error);
	if (r == -ETIMEDOUT) {
		if (ret_error) {
			free(*ret_error);
			*ret_error = NULL;
		}
		/* The VMM may yet do it: its DEVICE_DELETED finishes the detach, as on time out. */
		log_warning("Detaching %s from domain %s: the VMM did not answer device_del within "
			    "%d ms; it stays detaching.", alias, d->name, QMP_CLIENT_TIMEOUT_MS);
		return 0;
	}
	if (r == -ENODEV) {
		/* DeviceNotFound: it is gone already (another QMP client, a lost event); as
		 * libvirt does, the detach is done. */
		log_info("Detaching %s from domain %s: the VMM no longer has it; finishing the "
			 "detach.", alias, d->name);
		if (ret_error) {
			free(*ret_error);
			*ret_error = NULL;
		}
		row.state = STORE_DEVICE_DETACHING;
		domain_hotplug_unplug_finish(d, &row);
		return 0;
	}
	if (r < 0) {
		(void)store_device_set_state(s, d->uuid, alias, STORE_DEVICE_ATTACHED, NULL);
		manager_notify_device(d, DEVICE_EVENT_REMOVAL_FAILED, alias);
		return r;
	}
	r = qmp_client_wait_event(d->qmp, "DEVICE_DELETED", alias, DOMAIN_DETACH_TIMEOUT_MS, &ev);
	if (r > 0) {
		row.state = STORE_DEVICE_DETACHING;
		domain_hotplug_unplug_finish(d, &row);
	} else if (model_acpi(d)) {
		/* The guest keeps the device (it did not let go, e.g. a mounted disk): it stays
		 * attached, as libvirt's DeviceRemovalFailed says. Should the guest let go later,
		 * DEVICE_DELETED still finishes the detach. */
		(void)store_device_set_state(s, d->uuid, alias, STORE_DEVICE_ATTACHED, NULL);
		manager_notify_device(d, DEVICE_EVENT_REMOVAL_FAILED, alias);
		return error_set_first(ret_error, -EBUSY,
			_("The guest of domain %s did not release device %s within %d seconds, so it "
			  "stays attached; release it in the guest (unmount its file system) and "
			  "detach it again."),
			d->name, alias, DOMAIN_DETACH_TIMEOUT_MS / 1000);
	} else
		log_warning("Detaching %s from domain %s: no DEVICE_DELETED within %d ms; it stays "
			    "detaching.", alias, d->name, DOMAIN_DETACH_TIMEOUT_MS);
	return 0;
}

void domain_hotplug_bridges_reap(struct manager *m)
{
	struct store *s = manager_store(m);
	char (*names)[STORE_IFNAME_MAX + 1] = NULL;
	size_t n = 0;

	if (store_bridge_list(s, &names, &n, NULL) < 0)
		return;
	for (size_t i = 0; i < n; i++)
		bridge_release(s, names[i]);
	free(names);
}

void domain_hotplug_cleanup_all(struct domain *d)
{
	struct store *s = manager_store(d->manager);
	struct store_device *rows = NULL;
	size_t n = 0;

	if (store_device_list(s, d->uuid, &rows, &n, NULL) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		_cleanup_device_def_ struct device_def *dev = NULL;

		/* The VMM is gone, and with it the last fd of every TAP mvirtd made. */
		if (device_def_parse(rows[i].definition, &dev, NULL) >= 0 &&
		    dev->kind == DEVICE_KIND_INTERFACE)
			bridge_release(manager_store(d->manager), dev->net.bridge);
		(void)store_device_delete(s, d->uuid, rows[i].alias, NULL);
	}
	store_device_array_free(rows, n);
}
