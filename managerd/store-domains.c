/* The domains table: one row per defined domain (name, UUID, XML, autostart, desired state). */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "i18n.h"
#include "log.h"
#include "store-internal.h"
#include "util.h"

/* Domains. */

static int domain_exists_error(struct store *s, const struct store_domain *d, char **ret_error)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	bool uuid_taken;

	if (store_stmt_new(s, &st, NULL, "SELECT 1 FROM domains WHERE uuid = ?", "t", d->uuid) < 0)
		return -EEXIST;
	uuid_taken = sqlite3_step(st) == SQLITE_ROW;
	if (uuid_taken)
		return error_set(
			ret_error, -EEXIST, _("A domain with UUID %s already exists."), d->uuid);
	return error_set(ret_error, -EEXIST, _("A domain named %s already exists."), d->name);
}

int store_domain_insert(struct store *s, const struct store_domain *d, char **ret_error)
{
	const char *state = store_desired_state_to_string(d->desired_state);
	int r;

	if (!state || !d->definition)
		return error_set(
			ret_error, -EINVAL, _("The domain %s has no valid definition."), d->name);
	r = store_tx_begin(s, ret_error);
	if (r < 0)
		return r;
	r = store_stmt_change(s, ret_error,
		"INSERT INTO domains (uuid, name, definition, autostart, desired_state) "
		"VALUES (?, ?, ?, ?, ?)",
		"tttbt", d->uuid, d->name, d->definition, (int)d->autostart, state);
	if (r == -EEXIST)
		r = domain_exists_error(s, d, ret_error);
	return store_tx_end(s, r < 0 ? r : 0, ret_error);
}

int store_domain_missing(const char *uuid, char **ret_error)
{
	return error_set(ret_error, -ENOENT, _("No domain with UUID %s is defined."), uuid);
}

/* Runs one UPDATE/DELETE on a domain row in a transaction; -ENOENT when no row changed. */
static int domain_change(struct store *s, const char *uuid, char **ret_error, const char *sql,
			 const char *types, ...)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	va_list ap;
	int r, rc;

	r = store_tx_begin(s, ret_error);
	if (r < 0)
		return r;
	va_start(ap, types);
	r = store_stmt_prepare(s, &st, ret_error, sql, types, ap);
	va_end(ap);
	if (r >= 0) {
		rc = sqlite3_step(st);
		if (rc != SQLITE_DONE)
			r = store_fail(s, rc, ret_error);
		else if (sqlite3_changes(s->db) == 0)
			r = store_domain_missing(uuid, ret_error);
	}
	return store_tx_end(s, r, ret_error);
}

int store_domain_update(struct store *s, const char *uuid, const char *name,
			const char *definition, char **ret_error)
{
	int r = domain_change(s, uuid, ret_error,
			      "UPDATE domains SET name = ?, definition = ? WHERE uuid = ?", "ttt",
			      name, definition, uuid);

	if (r == -EEXIST)
		return error_set(ret_error, r, _("A domain named %s already exists."), name);
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
		return error_set(ret_error, -EINVAL, _("The desired state %d is unknown."), state);
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
	if (store_copy_text(d->uuid, sizeof(d->uuid), st, 0) < 0 ||
		store_copy_text(d->name, sizeof(d->name), st, 1) < 0)
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
	int r = store_stmt_new(s, &st, ret_error, sql, "t", key), rc;

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

	return r == -ENOENT ? store_domain_missing(uuid, ret_error) : r;
}

int store_domain_get_by_name(struct store *s, const char *name, struct store_domain *ret,
			     char **ret_error)
{
	int r = domain_get_by(s, "SELECT " DOMAIN_COLUMNS " FROM domains WHERE name = ?", name,
			      ret, ret_error);

	if (r == -ENOENT)
		return error_set(ret_error, r, _("No domain named %s is defined."), name);
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
	int r = store_stmt_new(
		s, &st, ret_error, "SELECT " DOMAIN_COLUMNS " FROM domains ORDER BY name", "");

	if (r < 0)
		return r;
	return store_collect_rows(s, st, sizeof(**ret), domain_row_cb, domain_clear_cb,
		(void **)ret, ret_n, ret_error);
}

