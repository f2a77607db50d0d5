/* A domain's life: Start, Shutdown, Destroy, its VMM's exit, and its XML. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "domain-conf.h"
#include "domain-hotplug.h"
#include "domain.h"
#include "i18n.h"
#include "job.h"
#include "json-stream.h"
#include "log.h"
#include "loop.h"
#include "manager.h"
#include "qmp-client.h"
#include "store.h"
#include "string-table.h"
#include "util.h"
#include "vmm-contract.h"
#include "vmm-process.h"

static const char *const domain_state_table[_DOMAIN_STATE_MAX] = {
	[DOMAIN_SHUTOFF] = "shutoff",
	[DOMAIN_RUNNING] = "running",
	[DOMAIN_PAUSED] = "paused",
	[DOMAIN_CRASHED] = "crashed",
};

DEFINE_STRING_TABLE_TO_STRING(domain_state, enum domain_state, _DOMAIN_STATE_MAX);

bool domain_is_active(const struct domain *d)
{
	return d->state == DOMAIN_RUNNING || d->state == DOMAIN_PAUSED;
}

static void state_set(struct domain *d, enum domain_state s)
{
	/* Another crash is news even from crashed: StateReason may have changed. */
	if (d->state == s && s != DOMAIN_CRASHED)
		return;
	if (s != DOMAIN_CRASHED)
		d->state_reason[0] = 0;
	d->state = s;
	manager_notify_state(d);
}

static void exit_status_read(struct domain *d)
{
	siginfo_t si = { 0 };

	/* Only a VMM this daemon started is its child; a reconnected one has no status here. */
	if (waitid(P_PIDFD, (id_t)d->pidfd, &si, WEXITED | WNOHANG) == 0 && si.si_pid)
		vmm_exit_record(d, &si);
}

void domain_stopped(struct domain *d, enum domain_state state)
{
	struct manager *m = d->manager;
	char path[512];

	loop_remove(manager_loop(m), d);
	loop_remove(manager_loop(m), &d->qmp);
	loop_remove(manager_loop(m), &d->stopping);
	d->qmp = qmp_client_free(d->qmp);
	if (d->pidfd >= 0)
		exit_status_read(d);
	d->pidfd = safe_close(d->pidfd);
	domain_hotplug_cleanup_all(d);
	(void)store_runtime_delete(manager_store(m), d->uuid, NULL);
	if (state == DOMAIN_SHUTOFF)
		(void)store_domain_set_desired_state(manager_store(m), d->uuid,
						     STORE_DESIRED_SHUTOFF, NULL);
	snprintf(path, sizeof(path), "%s/" MVIRT_RUNTIME_QMP_SOCKET, d->rundir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/" MVIRT_RUNTIME_CONSOLE_SOCKET, d->rundir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/" MVIRT_RUNTIME_PIDFILE, d->rundir);
	unlink(path);
	d->live = domain_def_free(d->live);
	d->pid = 0;
	d->stopping = false;
	/* A crash says why (a caller may have said already); any other state needs no reason. */
	if (state != DOMAIN_CRASHED)
		d->state_reason[0] = 0;
	else if (!d->state_reason[0])
		vmm_exit_reason(d);
	log_info("Domain %s is now %s (VMM exit status %d).", d->name,
		 domain_state_to_string(state), d->exit_status);
	if (d->state_reason[0])
		log_warning("Domain %s crashed: %s", d->name, d->state_reason);
	state_set(d, state);
}

static int job_restart(struct domain *d, const char *arg, unsigned flags, char **ret_error)
{
	/* A Start or Destroy queued before may have run meanwhile. */
	if (domain_is_active(d))
		return 0;
	return domain_start(d, ret_error);
}

static void on_vmm_exit(int fd, short revents, void *userdata)
{
	struct domain *d = userdata;
	bool crashed;

	if (job_queue_running(&d->jobs)) {
		/* The job's worker owns the domain now; the exit is handled when it ends. */
		loop_set_io_events(manager_loop(d->manager), d, 0);
		return;
	}

	exit_status_read(d);
	crashed = !d->stopping && d->exit_status != 0;
	domain_stopped(d, crashed ? DOMAIN_CRASHED : DOMAIN_SHUTOFF);
	if (crashed && d->def->on_crash == LIFECYCLE_RESTART) {
		_cleanup_free_ char *err = NULL;

		if (job_submit(&d->jobs, job_restart, NULL, 0, NULL, NULL, &err) < 0)
			log_error("Cannot restart crashed domain %s: %s", d->name, err ? err : "");
	}
}

static void qmp_event_dispatch(struct domain *d, struct json_object *ev)
{
	const char *name = qmp_event_name(ev);

	if (streq_ptr(name, "SHUTDOWN"))
		d->stopping = true; /* the guest or QMP asked: its exit is not a crash */
	else if (streq_ptr(name, "STOP") && d->state == DOMAIN_RUNNING)
		state_set(d, DOMAIN_PAUSED);
	else if (streq_ptr(name, "RESUME") && d->state == DOMAIN_PAUSED)
		state_set(d, DOMAIN_RUNNING);
	else if (streq_ptr(name, "DEVICE_DELETED") && qmp_event_device(ev))
		domain_hotplug_device_deleted(d, qmp_event_device(ev));
}

static void domain_events_drain(struct domain *d)
{
	struct json_object *ev = NULL;

	while (d->qmp && qmp_client_next_event(d->qmp, &ev) > 0) {
		qmp_event_dispatch(d, ev);
		json_object_put(ev);
	}
}

static void on_qmp(int fd, short revents, void *userdata)
{
	struct domain *d = userdata;

	if (job_queue_running(&d->jobs)) {
		/* The job reads the socket itself; events it queues are drained afterwards. */
		loop_set_io_events(manager_loop(d->manager), &d->qmp, 0);
		return;
	}
	if (qmp_client_process(d->qmp) < 0) {
		/* The VMM closed QMP: its exit follows and the pidfd reports it. */
		domain_events_drain(d);
		loop_remove(manager_loop(d->manager), &d->qmp);
		return;
	}
	domain_events_drain(d);
}

static void on_idle_events(void *userdata)
{
	struct domain *d = userdata;

	if (!job_queue_running(&d->jobs))
		domain_events_drain(d);
}

/* After each job: on_vmm_exit and on_qmp paused the sources while the worker owned them. */
static void watch_resume(struct domain *d)
{
	struct loop *l = manager_loop(d->manager);

	loop_set_io_events(l, d, POLLIN);
	loop_set_io_events(l, &d->qmp, POLLIN);
}

int domain_new(struct manager *m, struct domain_def *def, bool autostart, struct domain **ret)
{
	struct domain *d = calloc(1, sizeof(*d));

	if (!d)
		return -ENOMEM;
	d->manager = m;
	d->def = def;
	d->autostart = autostart;
	d->pidfd = -1;
	d->exit_status = -1;
	memcpy(d->uuid, def->uuid, sizeof(d->uuid));
	memcpy(d->name, def->name, sizeof(d->name));
	snprintf(d->rundir, sizeof(d->rundir), "%s/%s", manager_config(m)->runtime_dir, d->name);
	job_queue_init(&d->jobs, d, d->name, watch_resume);
	*ret = d;
	return 0;
}

struct domain *domain_free(struct domain *d)
{
	if (!d)
		return NULL;
	job_queue_clear(&d->jobs);
	domain_def_free(d->def);
	domain_def_free(d->live);
	qmp_client_free(d->qmp);
	safe_close(d->pidfd);
	free(d);
	return NULL;
}

int domain_watch(struct domain *d)
{
	struct loop *l = manager_loop(d->manager);
	int r = 0;

	if (d->pidfd >= 0)
		r = loop_add_io(l, d, d->pidfd, POLLIN, on_vmm_exit, d);
	if (r >= 0 && d->qmp)
		r = loop_add_io(l, &d->qmp, qmp_client_fd(d->qmp), POLLIN, on_qmp, d);
	/* Events queued while a command waited for its reply never make the socket
	 * readable again: a repeating tick hands them out. */
	if (r >= 0)
		r = loop_add_timer(l, d, 200, true, on_idle_events, d);
	return r;
}

int domain_qmp_reconnect(struct domain *d)
{
	struct loop *l = manager_loop(d->manager);
	char path[512];
	int r;

	loop_remove(l, &d->qmp);
	d->qmp = qmp_client_free(d->qmp);
	snprintf(path, sizeof(path), "%s/" MVIRT_RUNTIME_QMP_SOCKET, d->rundir);
	r = vmm_qmp_connect(d, path, QMP_CLIENT_TIMEOUT_MS);
	if (r < 0)
		return log_warning_errno(r, "Cannot reconnect to QMP %s of domain %s: %m", path,
					 d->name);
	return loop_add_io(l, &d->qmp, qmp_client_fd(d->qmp), POLLIN, on_qmp, d);
}

static int live_def_init(struct domain *d)
{
	int root = domain_def_root_disk(d->def);

	d->live = domain_def_copy(d->def);
	if (!d->live)
		return -ENOMEM;
	/* The VMM boots with the root disk alone; the rest is plugged like any hot-plug. */
	d->live->n_disks = 0;
	d->live->n_nets = 0;
	if (root >= 0)
		d->live->disks[d->live->n_disks++] = d->def->disks[root];
	for (int i = 0; i < CONF_NIC_SLOTS; i++) {
		if ((size_t)i < d->def->n_nets)
			memcpy(d->nic_macs[i], d->def->nets[i].mac, MAC_LEN);
		else if (mac_generate(d->nic_macs[i]) < 0)
			return -EIO;
	}
	return 0;
}

static int runtime_record(struct domain *d, char **ret_error)
{
	struct store_runtime rt = { .vmm_pid = d->pid, .vmm_start_time = d->start_time };
	struct store *s = manager_store(d->manager);
	int r;

	memcpy(rt.domain_uuid, d->uuid, sizeof(rt.domain_uuid));
	if (snprintf(rt.qmp_socket, sizeof(rt.qmp_socket), "%s/" MVIRT_RUNTIME_QMP_SOCKET,
		     d->rundir) >= (int)sizeof(rt.qmp_socket) ||
	    snprintf(rt.console_socket, sizeof(rt.console_socket), "%s/" MVIRT_RUNTIME_CONSOLE_SOCKET,
		     d->rundir) >= (int)sizeof(rt.console_socket))
		return error_set_first(ret_error, -ENAMETOOLONG,
			_("The runtime folder %s is too long for a unix socket path; use a "
			  "shorter --runtime-dir or domain name."),
			d->rundir);
	r = store_runtime_set(s, &rt, ret_error);
	if (r < 0)
		return r;
	return store_domain_set_desired_state(s, d->uuid, STORE_DESIRED_RUNNING, ret_error);
}

static int devices_apply(struct domain *d, char **ret_error)
{
	int root = domain_def_root_disk(d->def);
	struct device_def dev;
	int r;

	for (size_t i = 0; i < d->def->n_disks; i++) {
		if ((int)i == root)
			continue;
		dev.kind = DEVICE_KIND_DISK;
		dev.disk = d->def->disks[i];
		r = domain_hotplug_apply(d, &dev, true, ret_error);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < d->def->n_nets; i++) {
		dev.kind = DEVICE_KIND_INTERFACE;
		dev.net = d->def->nets[i];
		r = domain_hotplug_apply(d, &dev, true, ret_error);
		if (r < 0)
			return r;
	}
	return 0;
}

static int kill_and_reap(struct domain *d)
{
	struct pollfd p = { .fd = d->pidfd, .events = POLLIN };
	int r;

	if (d->pidfd < 0)
		return d->pid > 0 && kill(d->pid, SIGKILL) < 0 ? -errno : 0;
	if (syscall(SYS_pidfd_send_signal, d->pidfd, SIGKILL, NULL, 0) < 0 && errno != ESRCH)
		return -errno;
	/* SIGKILL cannot be refused; the wait only covers the kernel tearing it down. */
	job_blocking_begin();
	r = poll(&p, 1, 5000);
	job_blocking_end();
	return r <= 0 ? -ETIMEDOUT : 0;
}

int domain_start(struct domain *d, char **ret_error)
{
	int r;

	if (domain_is_active(d))
		return error_set_first(ret_error, -EALREADY,
			_("Domain %s is already running."), d->name);
	r = live_def_init(d);
	if (r < 0)
		return error_set_first(ret_error, r,
			_("Cannot prepare domain %s to start."), d->name);
	d->stopping = false;
	d->exit_status = -1;
	d->exit_signal = 0;
	r = vmm_spawn(d, manager_config(d->manager), ret_error);
	if (r >= 0)
		r = vmm_wait_qmp(d, DOMAIN_START_TIMEOUT_MS, ret_error);
	if (r >= 0)
		r = runtime_record(d, ret_error);
	if (r >= 0)
		r = domain_watch(d);
	if (r >= 0)
		r = devices_apply(d, ret_error);
	if (r < 0) {
		/* A VMM that ended by itself before it was ready crashed: State says why. */
		bool died = d->exit_status != -1;

		d->stopping = true;
		(void)kill_and_reap(d);
		domain_stopped(d, died ? DOMAIN_CRASHED : DOMAIN_SHUTOFF);
		return error_set_first(ret_error, r, _("Domain %s failed to start."), d->name);
	}
	state_set(d, DOMAIN_RUNNING);
	return 0;
}

static int job_destroy_stopping(struct domain *d, const char *arg, unsigned flags,
				char **ret_error)
{
	/* Only if nothing (a Start, a Destroy) ran since the timer was set. */
	if (!domain_is_active(d) || !d->stopping)
		return 0;
	return domain_destroy(d, ret_error);
}

static void on_shutdown_timeout(void *userdata)
{
	struct domain *d = userdata;
	_cleanup_free_ char *err = NULL;

	log_warning("Domain %s did not power off within %d ms; destroying it.", d->name,
		    manager_config(d->manager)->shutdown_timeout_ms);
	if (job_submit(&d->jobs, job_destroy_stopping, NULL, 0, NULL, NULL, &err) < 0)
		log_error("Cannot destroy domain %s: %s", d->name, err ? err : "");
}

int domain_shutdown(struct domain *d, char **ret_error)
{
	_cleanup_(qmp_error_done) struct qmp_error qerr = {};
	int r;

	if (!domain_is_active(d))
		return error_set_first(ret_error, -EALREADY,
			_("Domain %s is not running."), d->name);
	d->stopping = true;
	(void)store_domain_set_desired_state(manager_store(d->manager), d->uuid,
					     STORE_DESIRED_SHUTOFF, NULL);
	r = d->qmp ? qmp_client_execute(d->qmp, "system_powerdown", NULL, -1,
					 QMP_CLIENT_TIMEOUT_MS, NULL, &qerr) : -ENOTCONN;
	if (r < 0)
		log_warning("Domain %s: system_powerdown failed (%s); destroying after the timeout.",
			    d->name, qerr.desc ? qerr.desc : strerror(-r));
	loop_remove(manager_loop(d->manager), &d->stopping);
	return loop_add_timer(manager_loop(d->manager), &d->stopping,
			      manager_config(d->manager)->shutdown_timeout_ms,
			      false, on_shutdown_timeout, d);
}

int domain_destroy(struct domain *d, char **ret_error)
{
	int r;

	if (!domain_is_active(d))
		return error_set_first(ret_error, -EALREADY,
			_("Domain %s is not running."), d->name);
	d->stopping = true;
	r = kill_and_reap(d);
	if (r < 0)
		return error_set_first(ret_error, r,
			_("Cannot kill mvirt-vmm process %d of domain %s: %s."), (int)d->pid,
			d->name, strerror(-r));
	domain_stopped(d, DOMAIN_SHUTOFF);
	return 0;
}

/* stop or cont; the VMM's STOP/RESUME events come later and find the state already set. */
static int vcpus_set(struct domain *d, bool run, char **ret_error)
{
	_cleanup_json_ struct json_object *ev = NULL;
	_cleanup_(qmp_error_done) struct qmp_error qerr = {};
	int r;

	r = d->qmp ? qmp_client_execute(d->qmp, run ? "cont" : "stop", NULL, -1,
					 QMP_CLIENT_TIMEOUT_MS, NULL, &qerr) : -ENOTCONN;
	if (r < 0)
		return error_set_first(ret_error,
			r == -EREMOTEIO ? qmp_error_to_errno(qerr.error_class) : r,
			run ? _("Cannot resume domain %s: %s.")
			    : _("Cannot suspend domain %s: %s."),
			d->name, qerr.desc ? qerr.desc : strerror(-r));
	/* Take the command's own event, or the loop would replay it after a later change. */
	if (qmp_client_wait_event(d->qmp, run ? "RESUME" : "STOP", NULL, QMP_CLIENT_TIMEOUT_MS,
				  &ev) <= 0)
		log_warning("Domain %s: no %s event after %s.", d->name, run ? "RESUME" : "STOP",
			    run ? "cont" : "stop");
	state_set(d, run ? DOMAIN_RUNNING : DOMAIN_PAUSED);
	return 0;
}

int domain_suspend(struct domain *d, char **ret_error)
{
	if (d->state != DOMAIN_RUNNING)
		return error_set_first(ret_error, -EALREADY,
			_("Domain %s is %s, not running, so it cannot be suspended."), d->name,
			domain_state_to_string(d->state));
	return vcpus_set(d, false, ret_error);
}

int domain_resume(struct domain *d, char **ret_error)
{
	if (d->state != DOMAIN_PAUSED)
		return error_set_first(ret_error, -EALREADY,
			_("Domain %s is %s, not paused, so it cannot be resumed."), d->name,
			domain_state_to_string(d->state));
	return vcpus_set(d, true, ret_error);
}

int domain_set_autostart(struct domain *d, bool autostart, char **ret_error)
{
	int r = store_domain_set_autostart(manager_store(d->manager), d->uuid, autostart,
					   ret_error);

	if (r < 0)
		return r;
	d->autostart = autostart;
	return 0;
}

int domain_get_xml(struct domain *d, unsigned flags, char **ret_xml, char **ret_error)
{
	_cleanup_domain_def_ struct domain_def *copy = NULL;
	char console[PATH_MAX];

	if (flags & ~(unsigned)(DOMAIN_AFFECT_LIVE | DOMAIN_AFFECT_CONFIG))
		return error_set_first(ret_error, -EINVAL,
			_("The GetXML flags %u are not supported; use 0 (current), 1 "
			  "(live) or 2 (config)."),
			flags);
	if ((flags & DOMAIN_AFFECT_LIVE) && (flags & DOMAIN_AFFECT_CONFIG))
		return error_set_first(ret_error, -EINVAL,
			_("GetXML takes live (1) or config (2), not both (flags %u)."), flags);
	copy = domain_def_copy(!(flags & DOMAIN_AFFECT_CONFIG) && d->live ? d->live : d->def);
	if (!copy)
		return -ENOMEM;
	/* Whatever <serial>/<console> was defined, the console is this unix socket: say so. */
	snprintf(console, sizeof(console), "%s/console.sock", d->rundir);
	(void)domain_def_set_console(copy, console);
	return domain_def_format(copy, ret_xml);
}
