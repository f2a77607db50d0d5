/*
 * Daemon start: load the domains, reconnect to VMMs that still run (checked by pid
 * and start time, like libvirt's qemuProcessReconnect) and reconcile their slots with
 * the store; start again domains whose VMM died and autostart domains. A domain is
 * never run twice: a VMM that is alive but unreachable is killed before a restart.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "domain-conf.h"
#include "domain-hotplug.h"
#include "domain.h"
#include "i18n.h"
#include "job.h"
#include "json-stream.h"
#include "log.h"
#include "manager.h"
#include "qmp-client.h"
#include "restore.h"
#include "store.h"
#include "util.h"
#include "vmm-process.h"

/* What query-slots says occupies each slot. */
struct vmm_slot {
	bool used;
	bool boot;
	char id[CONF_ALIAS_MAX + 1];
};

struct vmm_slots {
	struct vmm_slot blk[CONF_DISK_SLOTS_MAX];
	struct vmm_slot net[CONF_NIC_SLOTS_MAX];
	int n_blk; /* disk slots the VMM has: its hot-plug model */
};

static const char *jstr(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static void slot_read(struct domain *d, struct json_object *e, struct vmm_slots *vs)
{
	struct json_object *v = NULL;
	const char *kind = jstr(e, "kind"), *id = jstr(e, "id"), *mac = jstr(e, "mac");
	int slot = json_object_object_get_ex(e, "slot", &v) ? json_object_get_int(v) : -1;
	struct vmm_slot *s = NULL;

	if (streq_ptr(kind, "blk") && slot >= 0 && slot < CONF_DISK_SLOTS_MAX) {
		s = &vs->blk[slot];
		if (slot >= vs->n_blk)
			vs->n_blk = slot + 1;
	}
	else if (streq_ptr(kind, "net") && slot >= 0 && slot < CONF_NIC_SLOTS_MAX) {
		s = &vs->net[slot];
		/* Each NIC slot's MAC was fixed at VM start; keep it for later attaches. */
		if (mac && slot < CONF_NIC_SLOTS)
			(void)mac_parse(mac, d->nic_macs[slot]);
	}
	if (!s || isempty(id))
		return;
	s->used = true;
	s->boot = json_object_object_get_ex(e, "boot", &v) && json_object_get_boolean(v);
	str_copy(s->id, sizeof(s->id), id);
}

static int slots_query(struct domain *d, struct vmm_slots *vs)
{
	_cleanup_json_ struct json_object *ret = NULL;
	int r;

	memset(vs, 0, sizeof(*vs));
	r = qmp_client_execute(d->qmp, "query-slots", NULL, -1, QMP_CLIENT_TIMEOUT_MS, &ret, NULL);
	if (r < 0)
		return r;
	if (!json_object_is_type(ret, json_type_array))
		return -EBADMSG;
	for (size_t i = 0; i < json_object_array_length(ret); i++)
		slot_read(d, json_object_array_get_idx(ret, i), vs);
	return 0;
}

/* Whether any slot's device has this id (its backend is in use). */
static bool slot_id_used(const struct vmm_slots *vs, const char *alias)
{
	for (int i = 0; i < CONF_DISK_SLOTS_MAX; i++)
		if (vs->blk[i].id[0] && streq(vs->blk[i].id, alias))
			return true;
	for (int i = 0; i < CONF_NIC_SLOTS_MAX; i++)
		if (vs->net[i].id[0] && streq(vs->net[i].id, alias))
			return true;
	return false;
}

static struct vmm_slot *slot_find(struct vmm_slots *vs, const char *alias)
{
	for (int i = 0; i < CONF_DISK_SLOTS_MAX; i++)
		if (vs->blk[i].used && streq(vs->blk[i].id, alias))
			return &vs->blk[i];
	for (int i = 0; i < CONF_NIC_SLOTS_MAX; i++)
		if (vs->net[i].used && streq(vs->net[i].id, alias))
			return &vs->net[i];
	return NULL;
}

static void qmp_quiet(struct domain *d, const char *cmd, const char *key, const char *val)
{
	_cleanup_json_ struct json_object *args = json_object_new_object();

	json_object_object_add(args, key, json_object_new_string(val));
	(void)qmp_client_execute(d->qmp, cmd, args, -1, QMP_CLIENT_TIMEOUT_MS, NULL, NULL);
}

/* One device row against what the VMM has. */
static void row_reconcile(struct domain *d, struct store_device *row, struct vmm_slots *vs)
{
	_cleanup_device_def_ struct device_def *dev = NULL;
	_cleanup_free_ char *err = NULL;
	struct vmm_slot *slot = slot_find(vs, row->alias);
	struct store *s = manager_store(d->manager);

	if (device_def_parse(row->definition, &dev, NULL) < 0) {
		log_warning("Dropping unreadable device row %s of domain %s.", row->alias, d->name);
		(void)store_device_delete(s, d->uuid, row->alias, NULL);
		return;
	}
	if (slot)
		slot->used = false; /* accounted for: not a stray */
	if (row->state == STORE_DEVICE_DETACHING) {
		if (!slot) {
			domain_hotplug_unplug_finish(d, row);
			return;
		}
		/* The removal was asked; ask again, DEVICE_DELETED finishes it. */
		(void)domain_def_add_device(d->live, dev, NULL);
		qmp_quiet(d, "device_del", "id", row->alias);
		return;
	}
	if (slot) {
		(void)store_device_set_state(s, d->uuid, row->alias, STORE_DEVICE_ATTACHED, NULL);
		(void)domain_def_add_device(d->live, dev, NULL);
		return;
	}
	/* Attached (or half-attached) in the store, absent in the VMM: plug it (again). */
	qmp_quiet(d, dev->kind == DEVICE_KIND_DISK ? "blockdev-del" : "netdev_del",
		  dev->kind == DEVICE_KIND_DISK ? "node-name" : "id", row->alias);
	(void)store_device_delete(s, d->uuid, row->alias, NULL);
	if (row->state == STORE_DEVICE_ATTACHED && domain_hotplug_apply(d, dev, row->persistent, &err) < 0)
		log_warning("Cannot re-apply device %s of domain %s: %s", row->alias, d->name,
			    err ? err : "");
}

static void strays_remove(struct domain *d, struct vmm_slot *slots, int n, const char *backend_cmd,
			  const char *backend_key)
{
	for (int i = 0; i < n; i++) {
		if (!slots[i].used || slots[i].boot)
			continue;
		log_info("Removing device %s of domain %s: the store has no such device.",
			 slots[i].id, d->name);
		qmp_quiet(d, "device_del", "id", slots[i].id);
		qmp_quiet(d, backend_cmd, backend_key, slots[i].id);
	}
}

/* Whether the store has a device row with this alias. */
static bool rows_have(const struct store_device *rows, size_t n, const char *alias)
{
	for (size_t i = 0; i < n; i++)
		if (streq(rows[i].alias, alias))
			return true;
	return false;
}

static void backend_del_quiet(struct domain *d, const char *cmd, const char *key,
			      const char *alias)
{
	_cleanup_json_ struct json_object *args = json_object_new_object();

	json_object_object_add(args, key, json_object_new_string(alias));
	if (qmp_client_execute(d->qmp, cmd, args, -1, QMP_CLIENT_TIMEOUT_MS, NULL, NULL) >= 0)
		log_info("Removed backend %s of domain %s, which no device uses and the store does "
			 "not know (a late answer to an attach that timed out).", alias, d->name);
}

/*
 * Backends without a device: query-slots lists only plugged devices and the VMM has no list
 * of bare backends, so every name of the daemon's scheme that the store does not know is
 * deleted (disk-vdX for each disk slot, net-MAC for each NIC slot's MAC). A backend under an
 * alias given in the XML cannot be guessed and stays until its slot is reused.
 */
static void bare_backends_remove(struct domain *d, const struct store_device *rows, size_t n,
				 const struct vmm_slots *vs)
{
	char alias[CONF_ALIAS_MAX + 1], target[CONF_DISK_TARGET_MAX + 1];

	for (int i = 0; i < domain_hotplug_disk_slots(d->live->hotplug); i++) {
		(void)disk_slot_to_target(i, target);
		disk_default_alias(target, alias);
		if (!vs->blk[i].boot && !vs->blk[i].used && !slot_id_used(vs, alias) &&
		    !rows_have(rows, n, alias))
			backend_del_quiet(d, "blockdev-del", "node-name", alias);
	}
	for (int i = 0; d->live->hotplug == DOMAIN_HOTPLUG_SLOTS && i < CONF_NIC_SLOTS; i++) {
		net_default_alias(d->nic_macs[i], alias);
		if (!slot_id_used(vs, alias) && !rows_have(rows, n, alias))
			backend_del_quiet(d, "netdev_del", "id", alias);
	}
}

static int reconcile(struct domain *d)
{
	struct store_device *rows = NULL;
	struct vmm_slots vs;
	size_t n = 0;
	int r;

	r = slots_query(d, &vs);
	if (r < 0)
		return log_warning_errno(r, "query-slots on domain %s failed: %m", d->name);
	/* The running VMM's model, whatever the definition says now. */
	d->live->hotplug = vs.n_blk > CONF_DISK_SLOTS ? DOMAIN_HOTPLUG_ACPI : DOMAIN_HOTPLUG_SLOTS;
	/* The boot disk's slot is the root disk, not a stray. */
	for (int i = 0; i < CONF_DISK_SLOTS_MAX; i++)
		if (vs.blk[i].boot)
			vs.blk[i].used = false;
	r = store_device_list(manager_store(d->manager), d->uuid, &rows, &n, NULL);
	if (r < 0)
		return r;
	/* Before the rows are reconciled: a re-applied device must not lose its backend. */
	bare_backends_remove(d, rows, n, &vs);
	for (size_t i = 0; i < n; i++)
		row_reconcile(d, &rows[i], &vs);
	store_device_array_free(rows, n);
	strays_remove(d, vs.blk, CONF_DISK_SLOTS_MAX, "blockdev-del", "node-name");
	strays_remove(d, vs.net, CONF_NIC_SLOTS_MAX, "netdev_del", "id");
	return 0;
}

static int reconnect(struct domain *d, const struct store_runtime *rt)
{
	int root = domain_def_root_disk(d->def), r;

	d->pid = rt->vmm_pid;
	d->start_time = rt->vmm_start_time;
	str_copy(d->rundir, sizeof(d->rundir), rt->qmp_socket);
	if (strrchr(d->rundir, '/'))
		*strrchr(d->rundir, '/') = 0;
	d->pidfd = (int)syscall(SYS_pidfd_open, d->pid, 0);
	r = vmm_qmp_connect(d, rt->qmp_socket, QMP_CLIENT_TIMEOUT_MS);
	if (r < 0)
		return log_warning_errno(r, "Cannot reconnect to QMP %s of domain %s: %m",
					 rt->qmp_socket, d->name);
	d->live = domain_def_copy(d->def);
	if (!d->live)
		return -ENOMEM;
	d->live->n_disks = d->live->n_nets = 0;
	if (root >= 0)
		d->live->disks[d->live->n_disks++] = d->def->disks[root];
	d->state = DOMAIN_RUNNING;
	r = reconcile(d);
	if (r < 0)
		return r;
	return domain_watch(d);
}

static int restore_domain(struct domain *d, const struct store_runtime *rt)
{
	int r;

	if (vmm_check_alive(rt->vmm_pid, rt->vmm_start_time) < 0) {
		log_info("The VMM of domain %s (process %d) is gone.", d->name, (int)rt->vmm_pid);
		domain_hotplug_cleanup_all(d);
		(void)store_runtime_delete(manager_store(d->manager), d->uuid, NULL);
		/* It may have died after manager_restore() saw it alive and showed it running. */
		if (d->state != DOMAIN_SHUTOFF) {
			d->state = DOMAIN_SHUTOFF;
			manager_notify_state(d);
		}
		return 0;
	}
	r = reconnect(d, rt);
	if (r >= 0) {
		log_info("Reconnected to domain %s (process %d).", d->name, (int)d->pid);
		return 1;
	}
	/* Alive but unusable: stop it rather than risk running the domain twice. */
	log_warning("Killing unreachable VMM process %d of domain %s.", (int)rt->vmm_pid, d->name);
	d->state = DOMAIN_RUNNING;
	d->stopping = true;
	kill(rt->vmm_pid, SIGKILL);
	snprintf(d->state_reason, sizeof(d->state_reason),
		 _("mvirtd killed mvirt-vmm (process %d) because it did not answer on its QMP "
		   "socket %s after mvirtd restarted."), (int)rt->vmm_pid, rt->qmp_socket);
	/* Crashed keeps the desired state running: start_wanted() starts it afresh. */
	domain_stopped(d, DOMAIN_CRASHED);
	return 0;
}

static int domains_load(struct manager *m)
{
	struct store_domain *rows = NULL;
	size_t n = 0;
	int r = store_domain_list(manager_store(m), &rows, &n, NULL);

	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		_cleanup_domain_def_ struct domain_def *def = NULL;
		_cleanup_free_ char *err = NULL;
		struct domain *d;

		if (domain_def_parse(rows[i].definition, &def, &err) < 0) {
			log_error("Skipping stored domain %s: %s", rows[i].name, err ? err : "");
			continue;
		}
		if (manager_domain_add(m, def, rows[i].autostart, &d) >= 0)
			TAKE_PTR(def);
	}
	store_domain_array_free(rows, n);
	return 0;
}

/* Whether the store wants d running (desired state or autostart). */
static bool start_wanted(struct domain *d)
{
	struct store_domain row = { 0 };
	bool want;

	if (store_domain_get(manager_store(d->manager), d->uuid, &row, NULL) < 0)
		return false;
	want = row.desired_state == STORE_DESIRED_RUNNING || row.autostart;
	store_domain_clear(&row);
	return want;
}

/*
 * One domain's restore, on its own worker: a VMM that does not answer (stopped, overloaded)
 * delays only its domain, never the bus name or the other domains. Calls on the domain made
 * meanwhile queue behind this job, so they see the domain reconnected.
 */
static int job_restore(struct domain *d, const char *arg, unsigned flags, char **ret_error)
{
	struct store_runtime rt = { 0 };
	int r;

	/* The state stays what manager_restore() saw (running while the VMM lives) until
	 * restore_domain() knows better: a client is never told a running VM is shut off. */
	if (store_runtime_get(manager_store(d->manager), d->uuid, &rt, NULL) >= 0)
		(void)restore_domain(d, &rt);
	d->restoring = false;
	if (domain_is_active(d) || !start_wanted(d))
		return 0;
	r = domain_start(d, ret_error);
	if (r < 0)
		log_error("Cannot start domain %s: %s", d->name,
			  ret_error && *ret_error ? *ret_error : strerror(-r));
	return 0;
}

int manager_restore(struct manager *m)
{
	struct store_runtime *rts = NULL;
	size_t n = 0;
	int r;

	r = domains_load(m);
	if (r < 0)
		return r;
	r = store_runtime_list(manager_store(m), &rts, &n, NULL);
	if (r < 0)
		return r;
	/* A VMM alive by pid and start time shows as running while its job reconnects. */
	for (size_t i = 0; i < n; i++) {
		struct domain *d = manager_lookup_uuid(m, rts[i].domain_uuid);

		if (d && vmm_check_alive(rts[i].vmm_pid, rts[i].vmm_start_time) >= 0)
			d->state = DOMAIN_RUNNING;
	}
	free(rts);
	/* Before any job runs: a bridge a domain needs again is made again when it is plugged. */
	domain_hotplug_bridges_reap(m);
	for (struct domain *d = manager_first(m); d; d = d->next) {
		_cleanup_free_ char *err = NULL;

		d->restoring = true;
		if (job_submit(&d->jobs, job_restore, NULL, 0, NULL, NULL, &err) < 0) {
			d->restoring = false;
			log_error("Cannot restore domain %s: %s", d->name, err ? err : "");
		}
	}
	return 0;
}
