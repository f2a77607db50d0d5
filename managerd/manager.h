/*
 * mvirtd's logic: the manager owns the store and the domains (domain.h); a domain owns its
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
#include <sys/types.h>

#include "image.h"

#define MANAGER_DOMAINS_MAX 4096
/* How long Shutdown waits for the guest before Destroy, unless configured. */
#define DOMAIN_SHUTDOWN_TIMEOUT_MS 10000

enum device_event {
	DEVICE_EVENT_ADDED,
	DEVICE_EVENT_REMOVED,
	DEVICE_EVENT_REMOVAL_FAILED,
};

struct domain;
struct domain_def;
struct loop;
struct manager;
struct store;

struct manager_notify {
	void (*domain_added)(struct domain *d, void *userdata);
	void (*domain_removed)(struct domain *d, void *userdata);
	void (*state_changed)(struct domain *d, void *userdata);
	void (*autostart_changed)(struct domain *d, void *userdata);
	void (*device)(struct domain *d, enum device_event ev, const char *alias, void *userdata);
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

int manager_define(struct manager *m, const char *xml, struct domain **ret, char **ret_error);
struct domain *manager_lookup_name(struct manager *m, const char *name);
struct domain *manager_lookup_uuid(struct manager *m, const char *uuid);
struct domain *manager_first(struct manager *m);
int manager_undefine(struct manager *m, struct domain *d, char **ret_error);
/* Stops every VMM's QMP connection without stopping the VMMs (daemon exit). */
void manager_detach_all(struct manager *m);

/* For the files that work on domains (domain*.c, restore.c), not for the adapters. */
int manager_domain_add(struct manager *m, struct domain_def *def, bool autostart,
		       struct domain **ret);
void manager_notify_state(struct domain *d);
void manager_notify_device(struct domain *d, enum device_event ev, const char *alias);
