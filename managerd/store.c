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
#include "store-internal.h"
#include "string-table.h"
#include "util.h"

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
	/* 3: the bridges mvirtd created: only these are ever brought up, down or
	 * deleted, and one is deleted when its last port goes, also after a restart. */
	"CREATE TABLE bridges ("
	"  name TEXT PRIMARY KEY NOT NULL CHECK (length(name) BETWEEN 1 AND 15));"
	/* Version 2 kept it per device (created & 2), the name in the formatted definition. */
	"INSERT OR IGNORE INTO bridges (name)"
	"  SELECT substr(rest, 1, instr(rest, '''') - 1) FROM"
	"  (SELECT substr(definition, instr(definition, 'bridge=''') + 8) AS rest FROM devices"
	"   WHERE (created & 2) AND instr(definition, 'bridge=''') > 0)"
	"  WHERE instr(rest, '''') BETWEEN 2 AND 16;"
	/* type='ethernet' with a TAP named used to mean the user's existing TAP: it says so now
	 * (libvirt's managed='no'), or restore would make a TAP and meet the user's. A device
	 * row holds one interface; the domains' own definitions are left as they are. */
	"UPDATE devices SET definition = replace(definition, '<target dev=',"
	"  '<target managed=''no'' dev=')"
	"  WHERE kind = 'interface' AND instr(definition, 'type=''ethernet''') > 0"
	"  AND instr(definition, 'managed=') = 0;",
};
_Static_assert(ELEMENTSOF(migrations) == STORE_SCHEMA_VERSION, "one step per version");

static const char *const store_desired_state_table[_STORE_DESIRED_MAX] = {
	[STORE_DESIRED_SHUTOFF] = "shutoff",
	[STORE_DESIRED_RUNNING] = "running",
	[STORE_DESIRED_PAUSED] = "paused",
};
static const char *const store_device_state_table[_STORE_DEVICE_STATE_MAX] = {
	[STORE_DEVICE_ATTACHING] = "attaching",
	[STORE_DEVICE_ATTACHED] = "attached",
	[STORE_DEVICE_DETACHING] = "detaching",
};

DEFINE_STRING_TABLE(store_desired_state, enum store_desired_state, _STORE_DESIRED_MAX);
DEFINE_STRING_TABLE(store_device_state, enum store_device_state, _STORE_DEVICE_STATE_MAX);

/* Maps an SQLite result to -errno; constraint kinds become EEXIST, ENOENT or EINVAL. */
int store_sqlite_errno(sqlite3 *db, int rc)
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
int store_fail(struct store *s, int rc, char **ret_error)
{
	int r = store_sqlite_errno(s->db, rc);

	if (r == -EBUSY)
		return error_set(ret_error, r,
			_("The database %s is locked by another program; stop the other "
			  "mvirtd or try again."),
			s->path);
	if (r == -EROFS)
		return error_set(ret_error, r,
			_("The database %s is read-only; mvirtd needs to write to it."), s->path);
	return error_set(ret_error, r, _("The database %s reported an error: %s."), s->path,
		sqlite3_errmsg(s->db));
}

int store_exec(struct store *s, const char *sql, char **ret_error)
{
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : store_fail(s, rc, ret_error);
}

int store_tx_begin(struct store *s, char **ret_error)
{
	return store_exec(s, "BEGIN IMMEDIATE", ret_error);
}

/* Commits when r >= 0, else rolls back; returns r or the commit's error. */
int store_tx_end(struct store *s, int r, char **ret_error)
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
int store_stmt_prepare(struct store *s, sqlite3_stmt **ret, char **ret_error, const char *sql,
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

int store_stmt_new(struct store *s, sqlite3_stmt **ret, char **ret_error, const char *sql,
	const char *types, ...)
{
	va_list ap;
	int r;

	va_start(ap, types);
	r = store_stmt_prepare(s, ret, ret_error, sql, types, ap);
	va_end(ap);
	return r;
}

/*
 * Runs one changing statement. Returns the number of rows changed, or -errno with no
 * sentence set for -EEXIST/-ENOENT/-EINVAL constraint failures (callers name the value).
 */
int store_stmt_change(struct store *s, char **ret_error, const char *sql, const char *types, ...)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	va_list ap;
	int r, rc;

	va_start(ap, types);
	r = store_stmt_prepare(s, &st, ret_error, sql, types, ap);
	va_end(ap);
	if (r < 0)
		return r;
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return sqlite3_changes(s->db);
	r = store_sqlite_errno(s->db, rc);
	if (r == -EEXIST || r == -ENOENT || r == -EINVAL)
		return r;
	return store_fail(s, rc, ret_error);
}

static int pragma_int(struct store *s, const char *sql, int *ret, char **ret_error)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r = store_stmt_new(s, &st, ret_error, sql, ""), rc;

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
		return error_set(ret_error, -EPROTO,
			_("The database %s has schema version %d, newer than this mvirtd "
			  "(%d); use a newer mvirtd."),
			s->path, version, STORE_SCHEMA_VERSION);
	for (; version < target; version++) {
		char sql[64];

		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", version + 1);
		r = store_tx_begin(s, ret_error);
		if (r < 0)
			return r;
		r = store_exec(s, migrations[version], ret_error);
		if (r >= 0)
			r = store_exec(s, sql, ret_error);
		r = store_tx_end(s, r, ret_error);
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
		return error_set(ret_error, -EROFS,
			_("The database %s is read-only; mvirtd needs to write to it."), s->path);
	r = store_stmt_new(s, &st, ret_error, "PRAGMA journal_mode = WAL", "");
	if (r < 0)
		return r;
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW)
		return store_fail(s, rc, ret_error);
	if (!streq_ptr((const char *)sqlite3_column_text(st, 0), "wal"))
		return error_set(ret_error, -EIO,
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
		return error_set(
			ret_error, -EINVAL, _("The schema version %d is unknown."), version);
	s = calloc(1, sizeof(*s));
	if (!s || !(s->path = strdup(path)))
		return -ENOMEM;
	rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	if (rc != SQLITE_OK) {
		r = store_sqlite_errno(s->db, rc);
		return error_set(ret_error, r, _("The database %s cannot be opened: %s."), path,
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

	r = store_stmt_new(s, &st, ret_error, "PRAGMA integrity_check", "");
	if (r < 0)
		return r;
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW)
		return store_fail(s, rc, ret_error);
	res = (const char *)sqlite3_column_text(st, 0);
	if (!streq_ptr(res, "ok"))
		return error_set(ret_error, -EIO, _("The database %s is damaged: %s."), s->path,
			res ? res : "?");
	r = store_stmt_new(s, &fk, ret_error, "PRAGMA foreign_key_check", "");
	if (r < 0)
		return r;
	rc = sqlite3_step(fk);
	if (rc == SQLITE_ROW)
		return error_set(ret_error, -EIO,
			_("The database %s has a row in %s whose parent is missing."), s->path,
			(const char *)sqlite3_column_text(fk, 0));
	return rc == SQLITE_DONE ? 0 : store_fail(s, rc, ret_error);
}

/* Shared by the domain, device and runtime files. */

int store_copy_text(char *dst, size_t size, sqlite3_stmt *st, int col)
{
	const char *v = (const char *)sqlite3_column_text(st, col);

	return str_copy(dst, size, v ? v : "") < 0 ? -EIO : 0;
}

/* Steps st and appends each row through from_row into a growing array of elem bytes. */
int store_collect_rows(struct store *s, sqlite3_stmt *st, size_t elem,
	int (*from_row)(sqlite3_stmt *, void *), void (*clear)(void *), void **ret, size_t *ret_n,
	char **ret_error)
{
	char *a = NULL;
	size_t n = 0, cap = 0;
	int rc, r = 0;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n >= STORE_LIST_MAX) {
			r = error_set(ret_error, -E2BIG,
				_("The database %s holds more than %d rows "
				  "of one kind."),
				s->path, STORE_LIST_MAX);
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

