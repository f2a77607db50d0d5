/*
 * mvirtd's SQLite store: domains, their devices and the running state needed to reconnect.
 * One database file (WAL, foreign_keys=ON, busy_timeout), a versioned schema migrated step by
 * step from version 1 (PRAGMA user_version). Every call that changes data is one transaction.
 *
 * Errors: >= 0 or -errno, and `char **ret_error` (may be NULL) gets one malloc'd, translated
 * sentence naming the value at fault. -ENOENT: no such domain/device/runtime row; -EEXIST:
 * duplicate name, UUID, alias or slot; -EBUSY: another connection holds the lock past the busy
 * timeout; -EROFS: the database cannot be written; -EINVAL: a bad argument or state
 * transition; -EIO: SQLite failed otherwise. A struct store is used from one thread at a time.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cleanup.h"
#include "vmm-contract.h"

#define STORE_SCHEMA_VERSION 3          /* the newest schema this code writes */
#define STORE_BUSY_TIMEOUT_MS 5000      /* default wait for a lock held by another connection */
#define STORE_UUID_MAX 36
#define STORE_NAME_MAX 64
#define STORE_ALIAS_MAX 63
#define STORE_IFNAME_MAX 15
#define STORE_SOCKET_PATH_MAX 107
#define STORE_DEFINITION_MAX (1024 * 1024) /* bytes of one stored XML definition */
#define STORE_LIST_MAX 100000           /* rows one list call returns at most */

_Static_assert(STORE_ALIAS_MAX <= MVIRT_ID_MAX, "a stored alias is the device's QMP id in the VMM");

struct store;

/* What the user asked a domain to be; restore brings a domain back to it. */
enum store_desired_state {
	STORE_DESIRED_SHUTOFF,
	STORE_DESIRED_RUNNING,
	STORE_DESIRED_PAUSED,
	_STORE_DESIRED_MAX,
	_STORE_DESIRED_INVALID = -1,
};

/* A device row's life: attaching → attached → detaching → (row deleted). */
enum store_device_state {
	STORE_DEVICE_ATTACHING,
	STORE_DEVICE_ATTACHED,
	STORE_DEVICE_DETACHING,
	_STORE_DEVICE_STATE_MAX,
	_STORE_DEVICE_STATE_INVALID = -1,
};

/* What the daemon created for a device and must undo on rollback or detach. */
enum {
	STORE_DEVICE_TAP_CREATED = 1 << 0,
	STORE_DEVICE_BRIDGE_CREATED = 1 << 1,
};

struct store_domain {
	char uuid[STORE_UUID_MAX + 1];
	char name[STORE_NAME_MAX + 1];
	char *definition;                        /* the domain XML, owned */
	bool autostart;
	enum store_desired_state desired_state;
};

struct store_device {
	char domain_uuid[STORE_UUID_MAX + 1];
	char alias[STORE_ALIAS_MAX + 1];         /* unique within the domain */
	char kind[16];                           /* "disk" or "interface" (device_kind_to_string) */
	char *definition;                        /* the device XML, owned */
	int slot;                                /* the VMM slot, -1 for none; unique per kind */
	bool persistent;                         /* in the persistent definition (--config) */
	bool live;                               /* plugged into the running VMM (--live) */
	enum store_device_state state;
	unsigned created;                        /* STORE_DEVICE_*_CREATED */
	char host_ifname[STORE_IFNAME_MAX + 1];  /* the TAP the daemon made/used, "" if none */
};

struct store_runtime {
	char domain_uuid[STORE_UUID_MAX + 1];
	pid_t vmm_pid;
	uint64_t vmm_start_time;                 /* /proc/PID/stat field 22: detects pid reuse */
	char qmp_socket[STORE_SOCKET_PATH_MAX + 1];
	char console_socket[STORE_SOCKET_PATH_MAX + 1];
};

const char *store_desired_state_to_string(enum store_desired_state s); /* "shutoff", ... */
enum store_desired_state store_desired_state_from_string(const char *s);
const char *store_device_state_to_string(enum store_device_state s);   /* "attaching", ... */
enum store_device_state store_device_state_from_string(const char *s);

/*
 * Opens (creating if needed) the database at path and migrates it to STORE_SCHEMA_VERSION.
 * A database newer than this code is refused (-EPROTO); a read-only file gives -EROFS.
 */
int store_open(const char *path, struct store **ret, char **ret_error);
/* Same, migrating only up to version (1..STORE_SCHEMA_VERSION): tests build old databases. */
int store_open_version(const char *path, int version, struct store **ret, char **ret_error);
struct store *store_close(struct store *s); /* accepts NULL, returns NULL */
DEFINE_TRIVIAL_CLEANUP_FUNC(struct store *, store_close);
#define _cleanup_store_ _cleanup_(store_closep)

void store_set_busy_timeout(struct store *s, int ms);
/* The schema version of the open database (PRAGMA user_version), or -EIO. */
int store_schema_version(struct store *s);
/* PRAGMA integrity_check (and foreign_key_check) report "ok": 0, else -EIO with the report. */
int store_integrity_check(struct store *s, char **ret_error);

/* Domains. Insert fails with -EEXIST if the UUID or the name is taken (the sentence says which). */
int store_domain_insert(struct store *s, const struct store_domain *d, char **ret_error);
/* Replaces name and definition of an existing domain (a redefine); -ENOENT, -EEXIST for a name. */
int store_domain_update(struct store *s, const char *uuid, const char *name,
			const char *definition, char **ret_error);
int store_domain_set_autostart(struct store *s, const char *uuid, bool autostart,
			       char **ret_error);
int store_domain_set_desired_state(struct store *s, const char *uuid,
				   enum store_desired_state state, char **ret_error);
/* Deletes the domain with its devices and runtime row (ON DELETE CASCADE). */
int store_domain_delete(struct store *s, const char *uuid, char **ret_error);
/* Fill *ret (whose definition the caller frees with store_domain_clear()); -ENOENT. */
int store_domain_get(struct store *s, const char *uuid, struct store_domain *ret,
		     char **ret_error);
int store_domain_get_by_name(struct store *s, const char *name, struct store_domain *ret,
			     char **ret_error);
/* All domains ordered by name; free with store_domain_array_free(). */
int store_domain_list(struct store *s, struct store_domain **ret, size_t *ret_n,
		      char **ret_error);
void store_domain_clear(struct store_domain *d);
void store_domain_array_free(struct store_domain *a, size_t n);

/* Devices. Insert: -ENOENT without the domain, -EEXIST for a taken alias or slot. */
int store_device_insert(struct store *s, const struct store_device *dev, char **ret_error);
/* Rewrites the row (domain_uuid, alias) with every field of dev; the state change is checked. */
int store_device_update(struct store *s, const struct store_device *dev, char **ret_error);
/*
 * Moves a device to a new state. Allowed: attaching → attached, attached → detaching,
 * detaching → attached (the VMM refused the removal), and the same state again; others -EINVAL.
 */
int store_device_set_state(struct store *s, const char *domain_uuid, const char *alias,
			   enum store_device_state state, char **ret_error);
int store_device_delete(struct store *s, const char *domain_uuid, const char *alias,
			char **ret_error);
int store_device_get(struct store *s, const char *domain_uuid, const char *alias,
		     struct store_device *ret, char **ret_error);
/* The devices of one domain ordered by kind then slot; free with store_device_array_free(). */
int store_device_list(struct store *s, const char *domain_uuid, struct store_device **ret,
		      size_t *ret_n, char **ret_error);
void store_device_clear(struct store_device *dev);
void store_device_array_free(struct store_device *a, size_t n);

/* Runtime rows: one per running domain. Set inserts or replaces; -ENOENT without the domain. */
int store_runtime_set(struct store *s, const struct store_runtime *rt, char **ret_error);
int store_runtime_get(struct store *s, const char *domain_uuid, struct store_runtime *ret,
		      char **ret_error);
int store_runtime_delete(struct store *s, const char *domain_uuid, char **ret_error);
/* Bridges mvirtd created (name: 1 to STORE_IFNAME_MAX bytes). add is idempotent; delete of an
 * absent name is 0; created is 1 or 0 (or -errno); list returns names, free with free(). */
int store_bridge_add(struct store *s, const char *name, char **ret_error);
int store_bridge_delete(struct store *s, const char *name, char **ret_error);
int store_bridge_created(struct store *s, const char *name);
int store_bridge_list(struct store *s, char (**ret)[STORE_IFNAME_MAX + 1], size_t *ret_n,
		      char **ret_error);
/* Every runtime row (what restore walks); free with free(). */
int store_runtime_list(struct store *s, struct store_runtime **ret, size_t *ret_n,
		       char **ret_error);
