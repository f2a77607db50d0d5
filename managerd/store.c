/*
 * mvirtd's SQLite store. One connection per struct store; every change runs in its own
 * BEGIN IMMEDIATE transaction so a lock held elsewhere shows up before anything is written,
 * and a crash leaves either all of a change or none of it.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "i18n.h"
#include "log.h"
#include "store.h"
#include "util.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(sqlite3_stmt *, sqlite3_finalize);
#define _cleanup_stmt_ _cleanup_(sqlite3_finalizep)

struct store {
	sqlite3 *db;
	char *path;
};

/* Migration steps: entry N-1 takes a database from version N-1 to N. Never edit a step. */
static const char *const migrations[] = {
	/* 1: domains, their devices, and what a running domain needs to be reconnected. */
	"CREATE TABLE domains ("
	"  uuid TEXT PRIMARY KEY NOT NULL,"
	"  name TEXT NOT NULL UNIQUE,"
	"  definition TEXT NOT NULL,"
	"  autostart INTEGER NOT NULL DEFAULT 0 CHECK (autostart IN (0, 1)),"
	"  desired_state TEXT NOT NULL DEFAULT 'shutoff'"
	"    CHECK (desired_state IN ('shutoff', 'running', 'paused')));"
	"CREATE TABLE devices ("
	"  domain_uuid TEXT NOT NULL REFERENCES domains(uuid) ON DELETE CASCADE,"
	"  alias TEXT NOT NULL,"
	"  kind TEXT NOT NULL CHECK (kind IN ('disk', 'interface')),"
	"  definition TEXT NOT NULL,"
	"  slot INTEGER CHECK (slot IS NULL OR slot >= 0),"
	"  persistent INTEGER NOT NULL DEFAULT 0 CHECK (persistent IN (0, 1)),"
	"  live INTEGER NOT NULL DEFAULT 0 CHECK (live IN (0, 1)),"
	"  state TEXT NOT NULL CHECK (state IN ('attaching', 'attached', 'detaching')),"
	"  PRIMARY KEY (domain_uuid, alias));"
	"CREATE UNIQUE INDEX devices_slot ON devices(domain_uuid, kind, slot)"
	"  WHERE slot IS NOT NULL;"
	"CREATE TABLE runtime ("
	"  domain_uuid TEXT PRIMARY KEY NOT NULL REFERENCES domains(uuid) ON DELETE CASCADE,"
	"  vmm_pid INTEGER NOT NULL CHECK (vmm_pid > 0),"
	"  qmp_socket TEXT NOT NULL);",
	/* 2: what the daemon created for a device (for rollback), pid reuse, the console. */
	"ALTER TABLE devices ADD COLUMN created INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE devices ADD COLUMN host_ifname TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE runtime ADD COLUMN vmm_start_time INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE runtime ADD COLUMN console_socket TEXT NOT NULL DEFAULT '';",
};
_Static_assert(ELEMENTSOF(migrations) == STORE_SCHEMA_VERSION, "one step per version");

static const char *const desired_table[_STORE_DESIRED_MAX] = {
	[STORE_DESIRED_SHUTOFF] = "shutoff",
	[STORE_DESIRED_RUNNING] = "running",
	[STORE_DESIRED_PAUSED] = "paused",
};
static const char *const device_state_table[_STORE_DEVICE_STATE_MAX] = {
	[STORE_DEVICE_ATTACHING] = "attaching",
	[STORE_DEVICE_ATTACHED] = "attached",
	[STORE_DEVICE_DETACHING] = "detaching",
};

static int table_lookup(const char *const *t, int n, const char *s)
{
	for (int i = 0; s && i < n; i++)
		if (streq(t[i], s))
			return i;
	return -1;
}

const char *store_desired_state_to_string(enum store_desired_state s)
{
	return (int)s >= 0 && s < _STORE_DESIRED_MAX ? desired_table[s] : NULL;
}

enum store_desired_state store_desired_state_from_string(const char *s)
{
	return (enum store_desired_state)table_lookup(desired_table, _STORE_DESIRED_MAX, s);
}

const char *store_device_state_to_string(enum store_device_state s)
{
	return (int)s >= 0 && s < _STORE_DEVICE_STATE_MAX ? device_state_table[s] : NULL;
}

enum store_device_state store_device_state_from_string(const char *s)
{
	return (enum store_device_state)table_lookup(device_state_table, _STORE_DEVICE_STATE_MAX,
						     s);
}

static int set_error(char **ret_error, int r, const char *fmt, ...) _printf_(3, 4);
static int set_error(char **ret_error, int r, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	if (!ret_error)
		return r;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	free(*ret_error);
	*ret_error = s;
	return r;
}

/* Maps an SQLite result to -errno; constraint kinds become EEXIST, ENOENT or EINVAL. */
static int sqlite_errno(sqlite3 *db, int rc)
{
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_READONLY:
		return -EROFS;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_CANTOPEN:
		return sqlite3_system_errno(db) ? -sqlite3_system_errno(db) : -ENOENT;
	case SQLITE_CONSTRAINT:
		switch (sqlite3_extended_errcode(db)) {
		case SQLITE_CONSTRAINT_UNIQUE:
		case SQLITE_CONSTRAINT_PRIMARYKEY:
			return -EEXIST;
		case SQLITE_CONSTRAINT_FOREIGNKEY:
			return -ENOENT;
		default:
			return -EINVAL;
		}
	default:
		return -EIO;
	}
}

/* The sentence for a failure no caller explains better. */
static int store_fail(struct store *s, int rc, char **ret_error)
{
	int r = sqlite_errno(s->db, rc);

	if (r == -EBUSY)
		return set_error(ret_error, r,
				 _("The database %s is locked by another program; stop the other "
				   "mvirtd or try again."),
				 s->path);
	if (r == -EROFS)
		return set_error(ret_error, r,
				 _("The database %s is read-only; mvirtd needs to write to it."),
				 s->path);
	return set_error(ret_error, r, _("The database %s reported an error: %s."), s->path,
			 sqlite3_errmsg(s->db));
}

static int store_exec(struct store *s, const char *sql, char **ret_error)
{
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : store_fail(s, rc, ret_error);
}

static int tx_begin(struct store *s, char **ret_error)
{
	return store_exec(s, "BEGIN IMMEDIATE", ret_error);
}

/* Commits when r >= 0, else rolls back; returns r or the commit's error. */
static int tx_end(struct store *s, int r, char **ret_error)
{
	if (r >= 0) {
		int c = store_exec(s, "COMMIT", ret_error);

		if (c >= 0)
			return r;
		r = c;
	}
	sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return r;
}

/*
 * Prepares sql and binds arguments by the letters of types: 't' const char *, 'i' int64_t,
 * 'b' bool (as int), 'n' int that is NULL when negative.
 */
static int stmt_prepare(struct store *s, sqlite3_stmt **ret, char **ret_error, const char *sql,
			const char *types, va_list ap)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);

	for (int i = 0; rc == SQLITE_OK && types[i]; i++) {
		int n;

		switch (types[i]) {
		case 't':
			rc = sqlite3_bind_text(st, i + 1, va_arg(ap, const char *), -1,
					       SQLITE_TRANSIENT);
			break;
		case 'i':
			rc = sqlite3_bind_int64(st, i + 1, va_arg(ap, int64_t));
			break;
		case 'b':
			rc = sqlite3_bind_int(st, i + 1, va_arg(ap, int) ? 1 : 0);
			break;
		default:
			n = va_arg(ap, int);
			rc = n < 0 ? sqlite3_bind_null(st, i + 1) : sqlite3_bind_int(st, i + 1, n);
			break;
		}
	}
	if (rc != SQLITE_OK)
		return store_fail(s, rc, ret_error);
	*ret = TAKE_PTR(st);
	return 0;
}

static int stmt_new(struct store *s, sqlite3_stmt **ret, char **ret_error, const char *sql,
		    const char *types, ...)
{
	va_list ap;
	int r;

	va_start(ap, types);
	r = stmt_prepare(s, ret, ret_error, sql, types, ap);
	va_end(ap);
	return r;
}

/*
 * Runs one changing statement. Returns the number of rows changed, or -errno with no
 * sentence set for -EEXIST/-ENOENT/-EINVAL constraint failures (callers name the value).
 */
static int stmt_change(struct store *s, char **ret_error, const char *sql, const char *types,
		       ...)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	va_list ap;
	int r, rc;

	va_start(ap, types);
	r = stmt_prepare(s, &st, ret_error, sql, types, ap);
	va_end(ap);
	if (r < 0)
		return r;
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return sqlite3_changes(s->db);
	r = sqlite_errno(s->db, rc);
	if (r == -EEXIST || r == -ENOENT || r == -EINVAL)
		return r;
	return store_fail(s, rc, ret_error);
}

static int pragma_int(struct store *s, const char *sql, int *ret, char **ret_error)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r = stmt_new(s, &st, ret_error, sql, ""), rc;

	if (r < 0)
		return r;
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW)
		return store_fail(s, rc, ret_error);
	*ret = sqlite3_column_int(st, 0);
	return 0;
}

int store_schema_version(struct store *s)
{
	int v, r = pragma_int(s, "PRAGMA user_version", &v, NULL);

	return r < 0 ? r : v;
}

static int store_migrate(struct store *s, int target, char **ret_error)
{
	int version, r;

	r = pragma_int(s, "PRAGMA user_version", &version, ret_error);
	if (r < 0)
		return r;
	if (version > STORE_SCHEMA_VERSION)
		return set_error(ret_error, -EPROTO,
				 _("The database %s has schema version %d, newer than this mvirtd "
				   "(%d); use a newer mvirtd."),
				 s->path, version, STORE_SCHEMA_VERSION);
	for (; version < target; version++) {
		char sql[64];

		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", version + 1);
		r = tx_begin(s, ret_error);
		if (r < 0)
			return r;
		r = store_exec(s, migrations[version], ret_error);
		if (r >= 0)
			r = store_exec(s, sql, ret_error);
		r = tx_end(s, r, ret_error);
		if (r < 0)
			return r;
		log_debug("Migrated %s to schema version %d.", s->path, version + 1);
	}
	return 0;
}

static int store_setup(struct store *s, char **ret_error)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r, rc;

	sqlite3_busy_timeout(s->db, STORE_BUSY_TIMEOUT_MS);
	if (sqlite3_db_readonly(s->db, "main") == 1)
		return set_error(ret_error, -EROFS,
				 _("The database %s is read-only; mvirtd needs to write to it."),
				 s->path);
	r = stmt_new(s, &st, ret_error, "PRAGMA journal_mode = WAL", "");
	if (r < 0)
		return r;
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW)
		return store_fail(s, rc, ret_error);
	if (!streq_ptr((const char *)sqlite3_column_text(st, 0), "wal"))
		return set_error(ret_error, -EIO,
				 _("The database %s cannot use write-ahead logging; put it on a "
				   "local file system."),
				 s->path);
	/* FULL: a define that returned is on disk even if the host loses power right after. */
	return store_exec(s, "PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL", ret_error);
}

int store_open_version(const char *path, int version, struct store **ret, char **ret_error)
{
	_cleanup_store_ struct store *s = NULL;
	int rc, r;

	if (version < 1 || version > STORE_SCHEMA_VERSION)
		return set_error(ret_error, -EINVAL, _("The schema version %d is unknown."),
				 version);
	s = calloc(1, sizeof(*s));
	if (!s || !(s->path = strdup(path)))
		return -ENOMEM;
	rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	if (rc != SQLITE_OK) {
		r = sqlite_errno(s->db, rc);
		return set_error(ret_error, r, _("The database %s cannot be opened: %s."), path,
				 s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
	}
	sqlite3_extended_result_codes(s->db, 1);
	if ((r = store_setup(s, ret_error)) < 0 || (r = store_migrate(s, version, ret_error)) < 0)
		return r;
	*ret = TAKE_PTR(s);
	return 0;
}

int store_open(const char *path, struct store **ret, char **ret_error)
{
	return store_open_version(path, STORE_SCHEMA_VERSION, ret, ret_error);
}

struct store *store_close(struct store *s)
{
	if (!s)
		return NULL;
	sqlite3_close_v2(s->db);
	free(s->path);
	free(s);
	return NULL;
}

void store_set_busy_timeout(struct store *s, int ms)
{
	sqlite3_busy_timeout(s->db, ms);
}

int store_integrity_check(struct store *s, char **ret_error)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	_cleanup_stmt_ sqlite3_stmt *fk = NULL;
	const char *res;
	int r, rc;

	r = stmt_new(s, &st, ret_error, "PRAGMA integrity_check", "");
	if (r < 0)
		return r;
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW)
		return store_fail(s, rc, ret_error);
	res = (const char *)sqlite3_column_text(st, 0);
	if (!streq_ptr(res, "ok"))
		return set_error(ret_error, -EIO, _("The database %s is damaged: %s."), s->path,
				 res ? res : "?");
	r = stmt_new(s, &fk, ret_error, "PRAGMA foreign_key_check", "");
	if (r < 0)
		return r;
	rc = sqlite3_step(fk);
	if (rc == SQLITE_ROW)
		return set_error(ret_error, -EIO,
				 _("The database %s has a row in %s whose parent is missing."),
				 s->path, (const char *)sqlite3_column_text(fk, 0));
	return rc == SQLITE_DONE ? 0 : store_fail(s, rc, ret_error);
}

/* Domains. */

static int copy_text(char *dst, size_t size, sqlite3_stmt *st, int col)
{
	const char *v = (const char *)sqlite3_column_text(st, col);

	return str_copy(dst, size, v ? v : "") < 0 ? -EIO : 0;
}

static int domain_exists_error(struct store *s, const struct store_domain *d, char **ret_error)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	bool uuid_taken;

	if (stmt_new(s, &st, NULL, "SELECT 1 FROM domains WHERE uuid = ?", "t", d->uuid) < 0)
		return -EEXIST;
	uuid_taken = sqlite3_step(st) == SQLITE_ROW;
	if (uuid_taken)
		return set_error(ret_error, -EEXIST, _("A domain with UUID %s already exists."),
				 d->uuid);
	return set_error(ret_error, -EEXIST, _("A domain named %s already exists."), d->name);
}

int store_domain_insert(struct store *s, const struct store_domain *d, char **ret_error)
{
	const char *state = store_desired_state_to_string(d->desired_state);
	int r;

	if (!state || !d->definition)
		return set_error(ret_error, -EINVAL, _("The domain %s has no valid definition."),
				 d->name);
	r = tx_begin(s, ret_error);
	if (r < 0)
		return r;
	r = stmt_change(s, ret_error,
			"INSERT INTO domains (uuid, name, definition, autostart, desired_state) "
			"VALUES (?, ?, ?, ?, ?)",
			"tttbt", d->uuid, d->name, d->definition, (int)d->autostart, state);
	if (r == -EEXIST)
		r = domain_exists_error(s, d, ret_error);
	return tx_end(s, r < 0 ? r : 0, ret_error);
}

static int domain_missing(const char *uuid, char **ret_error)
{
	return set_error(ret_error, -ENOENT, _("No domain with UUID %s is defined."), uuid);
}

/* Runs one UPDATE/DELETE on a domain row in a transaction; -ENOENT when no row changed. */
static int domain_change(struct store *s, const char *uuid, char **ret_error, const char *sql,
			 const char *types, ...)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	va_list ap;
	int r, rc;

	r = tx_begin(s, ret_error);
	if (r < 0)
		return r;
	va_start(ap, types);
	r = stmt_prepare(s, &st, ret_error, sql, types, ap);
	va_end(ap);
	if (r >= 0) {
		rc = sqlite3_step(st);
		if (rc != SQLITE_DONE)
			r = store_fail(s, rc, ret_error);
		else if (sqlite3_changes(s->db) == 0)
			r = domain_missing(uuid, ret_error);
	}
	return tx_end(s, r, ret_error);
}

int store_domain_update(struct store *s, const char *uuid, const char *name,
			const char *definition, char **ret_error)
{
	int r = domain_change(s, uuid, ret_error,
			      "UPDATE domains SET name = ?, definition = ? WHERE uuid = ?", "ttt",
			      name, definition, uuid);

	if (r == -EEXIST)
		return set_error(ret_error, r, _("A domain named %s already exists."), name);
	return r;
}

int store_domain_set_autostart(struct store *s, const char *uuid, bool autostart,
			       char **ret_error)
{
	return domain_change(s, uuid, ret_error, "UPDATE domains SET autostart = ? WHERE uuid = ?",
			     "bt", (int)autostart, uuid);
}

int store_domain_set_desired_state(struct store *s, const char *uuid,
				   enum store_desired_state state, char **ret_error)
{
	const char *v = store_desired_state_to_string(state);

	if (!v)
		return set_error(ret_error, -EINVAL, _("The desired state %d is unknown."), state);
	return domain_change(s, uuid, ret_error,
			     "UPDATE domains SET desired_state = ? WHERE uuid = ?", "tt", v, uuid);
}

int store_domain_delete(struct store *s, const char *uuid, char **ret_error)
{
	return domain_change(s, uuid, ret_error, "DELETE FROM domains WHERE uuid = ?", "t", uuid);
}

#define DOMAIN_COLUMNS "uuid, name, definition, autostart, desired_state"

static int domain_from_row(sqlite3_stmt *st, struct store_domain *d)
{
	const char *def = (const char *)sqlite3_column_text(st, 2);

	*d = (struct store_domain){};
	if (copy_text(d->uuid, sizeof(d->uuid), st, 0) < 0 ||
	    copy_text(d->name, sizeof(d->name), st, 1) < 0)
		return -EIO;
	d->definition = strdup(def ? def : "");
	if (!d->definition)
		return -ENOMEM;
	d->autostart = sqlite3_column_int(st, 3) != 0;
	d->desired_state =
		store_desired_state_from_string((const char *)sqlite3_column_text(st, 4));
	return 0;
}

static int domain_get_by(struct store *s, const char *sql, const char *key,
			 struct store_domain *ret, char **ret_error)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r = stmt_new(s, &st, ret_error, sql, "t", key), rc;

	if (r < 0)
		return r;
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return -ENOENT;
	if (rc != SQLITE_ROW)
		return store_fail(s, rc, ret_error);
	return domain_from_row(st, ret);
}

int store_domain_get(struct store *s, const char *uuid, struct store_domain *ret,
		     char **ret_error)
{
	int r = domain_get_by(s, "SELECT " DOMAIN_COLUMNS " FROM domains WHERE uuid = ?", uuid,
			      ret, ret_error);

	return r == -ENOENT ? domain_missing(uuid, ret_error) : r;
}

int store_domain_get_by_name(struct store *s, const char *name, struct store_domain *ret,
			     char **ret_error)
{
	int r = domain_get_by(s, "SELECT " DOMAIN_COLUMNS " FROM domains WHERE name = ?", name,
			      ret, ret_error);

	if (r == -ENOENT)
		return set_error(ret_error, r, _("No domain named %s is defined."), name);
	return r;
}

void store_domain_clear(struct store_domain *d)
{
	if (!d)
		return;
	free(d->definition);
	d->definition = NULL;
}

void store_domain_array_free(struct store_domain *a, size_t n)
{
	for (size_t i = 0; a && i < n; i++)
		store_domain_clear(&a[i]);
	free(a);
}

/* Steps st and appends each row through from_row into a growing array of elem bytes. */
static int collect_rows(struct store *s, sqlite3_stmt *st, size_t elem,
			int (*from_row)(sqlite3_stmt *, void *), void (*clear)(void *), void **ret,
			size_t *ret_n, char **ret_error)
{
	char *a = NULL;
	size_t n = 0, cap = 0;
	int rc, r = 0;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n >= STORE_LIST_MAX) {
			r = set_error(ret_error, -E2BIG, _("The database %s holds more than %d rows "
							  "of one kind."), s->path, STORE_LIST_MAX);
			break;
		}
		if (n == cap) {
			char *p = realloc(a, (cap ? cap * 2 : 16) * elem);

			if (!p) {
				r = -ENOMEM;
				break;
			}
			a = p;
			cap = cap ? cap * 2 : 16;
		}
		r = from_row(st, a + n * elem);
		if (r < 0)
			break;
		n++;
	}
	if (r >= 0 && rc != SQLITE_DONE)
		r = store_fail(s, rc, ret_error);
	if (r < 0) {
		for (size_t i = 0; clear && i < n; i++)
			clear(a + i * elem);
		free(a);
		return r;
	}
	*ret = a;
	*ret_n = n;
	return 0;
}

static int domain_row_cb(sqlite3_stmt *st, void *p)
{
	return domain_from_row(st, p);
}

static void domain_clear_cb(void *p)
{
	store_domain_clear(p);
}

int store_domain_list(struct store *s, struct store_domain **ret, size_t *ret_n,
		      char **ret_error)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r = stmt_new(s, &st, ret_error, "SELECT " DOMAIN_COLUMNS " FROM domains ORDER BY name",
			 "");

	if (r < 0)
		return r;
	return collect_rows(s, st, sizeof(**ret), domain_row_cb, domain_clear_cb, (void **)ret,
			    ret_n, ret_error);
}

/* Devices. */

#define DEVICE_COLUMNS                                                                             \
	"domain_uuid, alias, kind, definition, slot, persistent, live, state, created, host_ifname"

static int device_from_row(sqlite3_stmt *st, struct store_device *d)
{
	const char *def = (const char *)sqlite3_column_text(st, 3);

	*d = (struct store_device){};
	if (copy_text(d->domain_uuid, sizeof(d->domain_uuid), st, 0) < 0 ||
	    copy_text(d->alias, sizeof(d->alias), st, 1) < 0 ||
	    copy_text(d->kind, sizeof(d->kind), st, 2) < 0 ||
	    copy_text(d->host_ifname, sizeof(d->host_ifname), st, 9) < 0)
		return -EIO;
	d->definition = strdup(def ? def : "");
	if (!d->definition)
		return -ENOMEM;
	d->slot = sqlite3_column_type(st, 4) == SQLITE_NULL ? -1 : sqlite3_column_int(st, 4);
	d->persistent = sqlite3_column_int(st, 5) != 0;
	d->live = sqlite3_column_int(st, 6) != 0;
	d->state = store_device_state_from_string((const char *)sqlite3_column_text(st, 7));
	d->created = (unsigned)sqlite3_column_int(st, 8);
	return 0;
}

static int device_missing(const char *uuid, const char *alias, char **ret_error)
{
	return set_error(ret_error, -ENOENT, _("Domain %s has no device with alias %s."), uuid,
			 alias);
}

static int device_check_fields(const struct store_device *dev, char **ret_error)
{
	if (!store_device_state_to_string(dev->state) || !dev->definition ||
	    (!streq(dev->kind, "disk") && !streq(dev->kind, "interface")))
		return set_error(ret_error, -EINVAL,
				 _("The device %s has an unknown kind or state, or no definition."),
				 dev->alias);
	if (isempty(dev->alias))
		return set_error(ret_error, -EINVAL, _("A device needs an alias to be stored."));
	return 0;
}

/* Explains an -EEXIST/-ENOENT/-EINVAL from a device insert or update. */
static int device_constraint_error(const struct store_device *dev, int r, char **ret_error)
{
	if (r == -ENOENT)
		return domain_missing(dev->domain_uuid, ret_error);
	if (r == -EEXIST)
		return set_error(ret_error, r,
				 _("Domain %s already has a device with alias %s or a %s in slot "
				   "%d."),
				 dev->domain_uuid, dev->alias, dev->kind, dev->slot);
	return set_error(ret_error, r, _("The device %s has a value the database refuses."),
			 dev->alias);
}

int store_device_insert(struct store *s, const struct store_device *dev, char **ret_error)
{
	int r = device_check_fields(dev, ret_error);

	if (r < 0)
		return r;
	r = tx_begin(s, ret_error);
	if (r < 0)
		return r;
	r = stmt_change(s, ret_error,
			"INSERT INTO devices (" DEVICE_COLUMNS ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
			"ttttnbbtit", dev->domain_uuid, dev->alias, dev->kind, dev->definition,
			dev->slot, (int)dev->persistent, (int)dev->live,
			store_device_state_to_string(dev->state), (int64_t)dev->created,
			dev->host_ifname);
	if (r == -EEXIST || r == -ENOENT || r == -EINVAL)
		r = device_constraint_error(dev, r, ret_error);
	return tx_end(s, r < 0 ? r : 0, ret_error);
}

static bool transition_allowed(enum store_device_state from, enum store_device_state to)
{
	return from == to || (from == STORE_DEVICE_ATTACHING && to == STORE_DEVICE_ATTACHED) ||
	       (from == STORE_DEVICE_ATTACHED && to == STORE_DEVICE_DETACHING) ||
	       (from == STORE_DEVICE_DETACHING && to == STORE_DEVICE_ATTACHED);
}

/* Reads the current state inside the caller's transaction and checks the move to `to`. */
static int device_check_transition(struct store *s, const char *uuid, const char *alias,
				   enum store_device_state to, char **ret_error)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	enum store_device_state from;
	int r, rc;

	r = stmt_new(s, &st, ret_error,
		     "SELECT state FROM devices WHERE domain_uuid = ? AND alias = ?", "tt", uuid,
		     alias);
	if (r < 0)
		return r;
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return device_missing(uuid, alias, ret_error);
	if (rc != SQLITE_ROW)
		return store_fail(s, rc, ret_error);
	from = store_device_state_from_string((const char *)sqlite3_column_text(st, 0));
	if (!transition_allowed(from, to))
		return set_error(ret_error, -EINVAL,
				 _("Device %s of domain %s is %s and cannot become %s."), alias,
				 uuid, store_device_state_to_string(from),
				 store_device_state_to_string(to));
	return 0;
}

int store_device_update(struct store *s, const struct store_device *dev, char **ret_error)
{
	int r = device_check_fields(dev, ret_error);

	if (r < 0)
		return r;
	r = tx_begin(s, ret_error);
	if (r < 0)
		return r;
	r = device_check_transition(s, dev->domain_uuid, dev->alias, dev->state, ret_error);
	if (r >= 0) {
		r = stmt_change(s, ret_error,
				"UPDATE devices SET kind = ?, definition = ?, slot = ?, persistent = ?, "
				"live = ?, state = ?, created = ?, host_ifname = ? "
				"WHERE domain_uuid = ? AND alias = ?",
				"ttnbbtittt", dev->kind, dev->definition, dev->slot,
				(int)dev->persistent, (int)dev->live,
				store_device_state_to_string(dev->state), (int64_t)dev->created,
				dev->host_ifname, dev->domain_uuid, dev->alias);
		if (r == -EEXIST || r == -ENOENT || r == -EINVAL)
			r = device_constraint_error(dev, r, ret_error);
	}
	return tx_end(s, r < 0 ? r : 0, ret_error);
}

int store_device_set_state(struct store *s, const char *domain_uuid, const char *alias,
			   enum store_device_state state, char **ret_error)
{
	int r;

	if (!store_device_state_to_string(state))
		return set_error(ret_error, -EINVAL, _("The device state %d is unknown."), state);
	r = tx_begin(s, ret_error);
	if (r < 0)
		return r;
	r = device_check_transition(s, domain_uuid, alias, state, ret_error);
	if (r >= 0)
		r = stmt_change(s, ret_error,
				"UPDATE devices SET state = ? WHERE domain_uuid = ? AND alias = ?",
				"ttt", store_device_state_to_string(state), domain_uuid, alias);
	return tx_end(s, r < 0 ? r : 0, ret_error);
}

int store_device_delete(struct store *s, const char *domain_uuid, const char *alias,
			char **ret_error)
{
	int r = tx_begin(s, ret_error);

	if (r < 0)
		return r;
	r = stmt_change(s, ret_error, "DELETE FROM devices WHERE domain_uuid = ? AND alias = ?",
			"tt", domain_uuid, alias);
	if (r == 0)
		r = device_missing(domain_uuid, alias, ret_error);
	return tx_end(s, r < 0 ? r : 0, ret_error);
}

int store_device_get(struct store *s, const char *domain_uuid, const char *alias,
		     struct store_device *ret, char **ret_error)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r, rc;

	r = stmt_new(s, &st, ret_error,
		     "SELECT " DEVICE_COLUMNS " FROM devices WHERE domain_uuid = ? AND alias = ?",
		     "tt", domain_uuid, alias);
	if (r < 0)
		return r;
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return device_missing(domain_uuid, alias, ret_error);
	if (rc != SQLITE_ROW)
		return store_fail(s, rc, ret_error);
	return device_from_row(st, ret);
}

static int device_row_cb(sqlite3_stmt *st, void *p)
{
	return device_from_row(st, p);
}

static void device_clear_cb(void *p)
{
	store_device_clear(p);
}

int store_device_list(struct store *s, const char *domain_uuid, struct store_device **ret,
		      size_t *ret_n, char **ret_error)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r = stmt_new(s, &st, ret_error,
			 "SELECT " DEVICE_COLUMNS " FROM devices WHERE domain_uuid = ? "
			 "ORDER BY kind, slot IS NULL, slot, alias",
			 "t", domain_uuid);

	if (r < 0)
		return r;
	return collect_rows(s, st, sizeof(**ret), device_row_cb, device_clear_cb, (void **)ret,
			    ret_n, ret_error);
}

void store_device_clear(struct store_device *dev)
{
	if (!dev)
		return;
	free(dev->definition);
	dev->definition = NULL;
}

void store_device_array_free(struct store_device *a, size_t n)
{
	for (size_t i = 0; a && i < n; i++)
		store_device_clear(&a[i]);
	free(a);
}

/* Runtime rows. */

#define RUNTIME_COLUMNS "domain_uuid, vmm_pid, vmm_start_time, qmp_socket, console_socket"

int store_runtime_set(struct store *s, const struct store_runtime *rt, char **ret_error)
{
	int r;

	if (rt->vmm_pid <= 0)
		return set_error(ret_error, -EINVAL, _("The VMM pid %d is not valid."),
				 (int)rt->vmm_pid);
	r = tx_begin(s, ret_error);
	if (r < 0)
		return r;
	r = stmt_change(s, ret_error,
			"INSERT OR REPLACE INTO runtime (" RUNTIME_COLUMNS ") VALUES (?, ?, ?, ?, ?)",
			"tiitt", rt->domain_uuid, (int64_t)rt->vmm_pid,
			(int64_t)rt->vmm_start_time, rt->qmp_socket, rt->console_socket);
	if (r == -ENOENT)
		r = domain_missing(rt->domain_uuid, ret_error);
	else if (r == -EEXIST || r == -EINVAL)
		r = set_error(ret_error, r, _("The runtime state of domain %s is refused."),
			      rt->domain_uuid);
	return tx_end(s, r < 0 ? r : 0, ret_error);
}

static int runtime_from_row(sqlite3_stmt *st, void *p)
{
	struct store_runtime *rt = p;

	*rt = (struct store_runtime){};
	if (copy_text(rt->domain_uuid, sizeof(rt->domain_uuid), st, 0) < 0 ||
	    copy_text(rt->qmp_socket, sizeof(rt->qmp_socket), st, 3) < 0 ||
	    copy_text(rt->console_socket, sizeof(rt->console_socket), st, 4) < 0)
		return -EIO;
	rt->vmm_pid = (pid_t)sqlite3_column_int64(st, 1);
	rt->vmm_start_time = (uint64_t)sqlite3_column_int64(st, 2);
	return 0;
}

int store_runtime_get(struct store *s, const char *domain_uuid, struct store_runtime *ret,
		      char **ret_error)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r, rc;

	r = stmt_new(s, &st, ret_error, "SELECT " RUNTIME_COLUMNS " FROM runtime WHERE domain_uuid = ?",
		     "t", domain_uuid);
	if (r < 0)
		return r;
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return set_error(ret_error, -ENOENT, _("Domain %s has no recorded VMM."),
				 domain_uuid);
	if (rc != SQLITE_ROW)
		return store_fail(s, rc, ret_error);
	return runtime_from_row(st, ret);
}

int store_runtime_delete(struct store *s, const char *domain_uuid, char **ret_error)
{
	int r = tx_begin(s, ret_error);

	if (r < 0)
		return r;
	r = stmt_change(s, ret_error, "DELETE FROM runtime WHERE domain_uuid = ?", "t",
			domain_uuid);
	if (r == 0)
		r = set_error(ret_error, -ENOENT, _("Domain %s has no recorded VMM."),
			      domain_uuid);
	return tx_end(s, r < 0 ? r : 0, ret_error);
}

int store_runtime_list(struct store *s, struct store_runtime **ret, size_t *ret_n,
		       char **ret_error)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r = stmt_new(s, &st, ret_error,
			 "SELECT " RUNTIME_COLUMNS " FROM runtime ORDER BY domain_uuid", "");

	if (r < 0)
		return r;
	return collect_rows(s, st, sizeof(**ret), runtime_from_row, NULL, (void **)ret, ret_n,
			    ret_error);
}

int proc_pid_start_time(pid_t pid, uint64_t *ret)
{
	_cleanup_free_ char *buf = NULL;
	char path[64];
	const char *p;
	unsigned long long v;
	int r;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	r = read_file(path, 4096, &buf, NULL);
	if (r < 0)
		return r;
	/* The command name (field 2) may hold spaces and parentheses: count from the last ')'. */
	p = strrchr(buf, ')');
	if (!p)
		return -EIO;
	p++;
	for (int field = 2; field < 21; field++) {
		p = strchr(p + 1, ' ');
		if (!p)
			return -EIO;
	}
	if (sscanf(p, " %llu", &v) != 1)
		return -EIO;
	*ret = v;
	return 0;
}
