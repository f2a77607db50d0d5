/*
 * mvirtd's logic: the manager owns the store and the domains; a domain owns its
 * definitions, its VMM process and its QMP connection. Nothing here knows D-Bus:
 * the adapters (*-dbus.c) call these functions, map -errno to error names, and
 * turn the notify callbacks into signals.
 *
 * Errors: >= 0 or -errno; char **ret_error (may be NULL) gets a translated sentence
 * naming the value at fault. The errno says which kind of error it is:
 * -ENOENT not found, -EINVAL bad argument, -EBADMSG invalid XML, -EEXIST already
 * exists, -EALREADY wrong state, -ENOSPC no free slot, -EBUSY busy, others failed.
 */
#pragma once

#include <stdbool.h>
#include <signal.h>
#include <stdint.h>
#include <sys/types.h>

#include "domain-conf.h"
#include "image.h"
#include "loop.h"
#include "qmp-client.h"
#include "store.h"

#define MANAGER_DOMAINS_MAX 4096
/* How long Shutdown waits for the guest before Destroy, unless configured. */
#define DOMAIN_SHUTDOWN_TIMEOUT_MS 10000
/* How long Start waits for the VMM's QMP socket. */
#define DOMAIN_START_TIMEOUT_MS 10000
/* How long a detach waits for DEVICE_DELETED before returning with the device detaching. */
#define DOMAIN_DETACH_TIMEOUT_MS 5000
/* Bytes of a domain's StateReason sentence (it names the runtime folder). */
#define DOMAIN_REASON_MAX 640

enum domain_state {
	DOMAIN_SHUTOFF,
	DOMAIN_RUNNING,
	DOMAIN_PAUSED,
	DOMAIN_CRASHED,
	_DOMAIN_STATE_MAX,
	_DOMAIN_STATE_INVALID = -1,
};

/* Flags of AttachDevice/DetachDevice/GetXML, as libvirt's virDomainModificationImpact. */
enum {
	DOMAIN_AFFECT_CURRENT = 0,
	DOMAIN_AFFECT_LIVE = 1 << 0,
	DOMAIN_AFFECT_CONFIG = 1 << 1,
};

enum device_event {
	DEVICE_EVENT_ADDED,
	DEVICE_EVENT_REMOVED,
	DEVICE_EVENT_REMOVAL_FAILED,
};

struct domain;
struct manager;

struct manager_notify {
	void (*domain_added)(struct domain *d, void *userdata);
	void (*domain_removed)(struct domain *d, void *userdata);
	void (*state_changed)(struct domain *d, void *userdata);
	void (*autostart_changed)(struct domain *d, void *userdata);
	void (*device)(struct domain *d, enum device_event ev, const char *alias, void *userdata);
};

struct domain {
	struct manager *manager;
	struct domain *next;
	char uuid[DOMAIN_UUID_STRING_MAX + 1];
	char name[DOMAIN_NAME_MAX + 1];
	struct domain_def *def;   /* the persistent definition */
	struct domain_def *live;  /* what the VMM runs, while it runs */
	bool autostart;
	enum domain_state state;
	bool stopping;            /* Shutdown/Destroy asked: the exit is not a crash */
	bool restoring;           /* its restore job (restore.c) has not ended yet */
	int exit_status;          /* of the last VMM (128 + signal if killed), -1 if unknown */
	int exit_signal;          /* the signal that ended the last VMM, 0 if none or unknown */
	char state_reason[DOMAIN_REASON_MAX]; /* why it crashed, translated; "" otherwise */

	pid_t pid;
	uint64_t start_time;
	int pidfd;
	struct qmp_client *qmp;
	char rundir[256];
	uint8_t nic_macs[CONF_NIC_SLOTS][MAC_LEN]; /* fixed when the VMM starts */

	/* job.c: calls waiting for this domain's worker, at most DOMAIN_JOBS_MAX */
	struct job *jobs_head, *jobs_tail;
	unsigned n_jobs;
	bool worker;              /* a worker thread serves the queue */
	bool job_running;         /* ... and runs a job now */
};

struct manager_config {
	const char *state_dir;
	const char *runtime_dir;
	const char *vmm_path;
	bool allow_bridge_create;
	int shutdown_timeout_ms;  /* Shutdown waits this long for the guest before Destroy */
	struct image_policy images; /* where disk images may come from */
	const char *vmm_user;     /* the VMM's -runas user; NULL: mvirtd's own user */
	uid_t vmm_uid;            /* ... resolved at start: its runtime folders belong to it */
	gid_t vmm_gid;
	bool sandbox;             /* the VMM's -sandbox (only its runtime folder visible) */
};

int manager_new(const struct manager_config *cfg, struct loop *loop, struct manager **ret);
struct manager *manager_free(struct manager *m);
void manager_set_notify(struct manager *m, const struct manager_notify *n, void *userdata);
struct loop *manager_loop(struct manager *m);
const struct manager_config *manager_config(struct manager *m);
struct store *manager_store(struct manager *m);

/* Loads the domains from the store, reconnects or restarts running ones, starts autostart ones. */
int manager_restore(struct manager *m);

int manager_define(struct manager *m, const char *xml, struct domain **ret, char **ret_error);
struct domain *manager_lookup_name(struct manager *m, const char *name);
struct domain *manager_lookup_uuid(struct manager *m, const char *uuid);
struct domain *manager_first(struct manager *m);
int manager_undefine(struct manager *m, struct domain *d, char **ret_error);
/* Stops every VMM's QMP connection without stopping the VMMs (daemon exit). */
void manager_detach_all(struct manager *m);

/* internal to manager.c/restore.c */
int manager_domain_add(struct manager *m, struct domain_def *def, bool autostart,
		       struct domain **ret);
void manager_notify_state(struct domain *d);
void manager_notify_device(struct domain *d, enum device_event ev, const char *alias);

const char *domain_state_to_string(enum domain_state s);
int domain_start(struct domain *d, char **ret_error);
int domain_shutdown(struct domain *d, char **ret_error);
int domain_destroy(struct domain *d, char **ret_error);
/* QMP stop / cont: State paused / running. */
int domain_suspend(struct domain *d, char **ret_error);
int domain_resume(struct domain *d, char **ret_error);
int domain_set_autostart(struct domain *d, bool autostart, char **ret_error);
int domain_get_xml(struct domain *d, unsigned flags, char **ret_xml, char **ret_error);
bool domain_is_active(const struct domain *d);
/* Watches the VMM (pidfd, QMP) from the loop: internal to domain.c and restore.c. */
int domain_watch(struct domain *d);
/* A new QMP connection to the running VMM (drops what the VMM kept for the old one). */
int domain_qmp_reconnect(struct domain *d);
/* Connects d->qmp to path and checks that d's VMM (d->pid) serves it: -EPERM otherwise. */
int domain_qmp_connect(struct domain *d, const char *path, int timeout_ms);
/* The VMM is gone (or was destroyed): clean up and record the new state. */
void domain_stopped(struct domain *d, enum domain_state state);

/* domain-hotplug.c */
int domain_attach_device(struct domain *d, const char *xml, unsigned flags, char **ret_error);
int domain_detach_device(struct domain *d, const char *xml, unsigned flags, char **ret_error);
int domain_detach_alias(struct domain *d, const char *alias, unsigned flags, char **ret_error);
/* Plugs a device of the definition into the running VMM (Start, restore). */
int domain_hotplug_apply(struct domain *d, struct device_def *dev, bool persistent,
		  char **ret_error);
/* device_del, then up to DOMAIN_DETACH_TIMEOUT_MS for DEVICE_DELETED (else left detaching). */
int domain_hotplug_unplug(struct domain *d, const char *alias, char **ret_error);
/* A DEVICE_DELETED event for a device that was left detaching. */
void domain_hotplug_device_deleted(struct domain *d, const char *alias);
/* The VMM no longer has the device of row: drop backend, bridge, row; DeviceRemoved. */
void domain_hotplug_unplug_finish(struct domain *d, const struct store_device *row);
/* Forgets the rows and host-side resources of all live devices (the VMM is gone). */
void domain_hotplug_cleanup_all(struct domain *d);
/* Deletes every bridge mvirtd created that has no port left (at start: one left behind by a
 * crash or a race), and forgets those that are gone. */
void domain_hotplug_bridges_reap(struct manager *m);

/* vmm-process.c */
int vmm_spawn(struct domain *d, char **ret_error);
int vmm_wait_qmp(struct domain *d, int timeout_ms, char **ret_error);
/* Keeps the exit status and signal of the VMM the waitid() result si describes. */
void vmm_exit_record(struct domain *d, const siginfo_t *si);
/* Sets d->state_reason to a sentence saying why the last VMM ended (its status or signal). */
void vmm_exit_reason(struct domain *d);
/* -ESRCH unless pid is alive and started at start_time. */
int vmm_check_alive(pid_t pid, uint64_t start_time);

/* restore.c */
int restore_domain(struct domain *d, const struct store_runtime *rt);

