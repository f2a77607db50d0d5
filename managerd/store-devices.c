/* The devices table: each hot-plugged device's row and the checked moves of its state. */
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

/* Devices. */

#define DEVICE_COLUMNS                                                                             \
	"domain_uuid, alias, kind, definition, slot, persistent, live, state, created, host_ifname"

static int device_from_row(sqlite3_stmt *st, struct store_device *d)
{
	const char *def = (const char *)sqlite3_column_text(st, 3);

	*d = (struct store_device){};
	if (store_copy_text(d->domain_uuid, sizeof(d->domain_uuid), st, 0) < 0 ||
		store_copy_text(d->alias, sizeof(d->alias), st, 1) < 0 ||
		store_copy_text(d->kind, sizeof(d->kind), st, 2) < 0 ||
		store_copy_text(d->host_ifname, sizeof(d->host_ifname), st, 9) < 0)
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
	return error_set(
		ret_error, -ENOENT, _("Domain %s has no device with alias %s."), uuid, alias);
}

static int device_check_fields(const struct store_device *dev, char **ret_error)
{
	if (!store_device_state_to_string(dev->state) || !dev->definition ||
	    (!streq(dev->kind, "disk") && !streq(dev->kind, "interface")))
		return error_set(ret_error, -EINVAL,
			_("The device %s has an unknown kind or state, or no definition."),
			dev->alias);
	if (isempty(dev->alias))
		return error_set(ret_error, -EINVAL, _("A device needs an alias to be stored."));
	return 0;
}

/* Explains an -EEXIST/-ENOENT/-EINVAL from a device insert or update. */
static int device_constraint_error(const struct store_device *dev, int r, char **ret_error)
{
	if (r == -ENOENT)
		return store_domain_missing(dev->domain_uuid, ret_error);
	if (r == -EEXIST)
		return error_set(ret_error, r,
			_("Domain %s already has a device with alias %s or a %s in slot "
			  "%d."),
			dev->domain_uuid, dev->alias, dev->kind, dev->slot);
	return error_set(
		ret_error, r, _("The device %s has a value the database refuses."), dev->alias);
}

int store_device_insert(struct store *s, const struct store_device *dev, char **ret_error)
{
	int r = device_check_fields(dev, ret_error);

	if (r < 0)
		return r;
	r = store_tx_begin(s, ret_error);
	if (r < 0)
		return r;
	r = store_stmt_change(s, ret_error,
		"INSERT INTO devices (" DEVICE_COLUMNS ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		"ttttnbbtit", dev->domain_uuid, dev->alias, dev->kind, dev->definition, dev->slot,
		(int)dev->persistent, (int)dev->live, store_device_state_to_string(dev->state),
		(int64_t)dev->created, dev->host_ifname);
	if (r == -EEXIST || r == -ENOENT || r == -EINVAL)
		r = device_constraint_error(dev, r, ret_error);
	return store_tx_end(s, r < 0 ? r : 0, ret_error);
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

	r = store_stmt_new(s, &st, ret_error,
		"SELECT state FROM devices WHERE domain_uuid = ? AND alias = ?", "tt", uuid, alias);
	if (r < 0)
		return r;
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return device_missing(uuid, alias, ret_error);
	if (rc != SQLITE_ROW)
		return store_fail(s, rc, ret_error);
	from = store_device_state_from_string((const char *)sqlite3_column_text(st, 0));
	if (!transition_allowed(from, to))
		return error_set(ret_error, -EINVAL,
			_("Device %s of domain %s is %s and cannot become %s."), alias, uuid,
			store_device_state_to_string(from), store_device_state_to_string(to));
	return 0;
}

int store_device_update(struct store *s, const struct store_device *dev, char **ret_error)
{
	int r = device_check_fields(dev, ret_error);

	if (r < 0)
		return r;
	r = store_tx_begin(s, ret_error);
	if (r < 0)
		return r;
	r = device_check_transition(s, dev->domain_uuid, dev->alias, dev->state, ret_error);
	if (r >= 0) {
		r = store_stmt_change(s, ret_error,
			"UPDATE devices SET kind = ?, definition = ?, slot = ?, persistent = ?, "
			"live = ?, state = ?, created = ?, host_ifname = ? "
			"WHERE domain_uuid = ? AND alias = ?",
			"ttnbbtittt", dev->kind, dev->definition, dev->slot, (int)dev->persistent,
			(int)dev->live, store_device_state_to_string(dev->state),
			(int64_t)dev->created, dev->host_ifname, dev->domain_uuid, dev->alias);
		if (r == -EEXIST || r == -ENOENT || r == -EINVAL)
			r = device_constraint_error(dev, r, ret_error);
	}
	return store_tx_end(s, r < 0 ? r : 0, ret_error);
}

int store_device_set_state(struct store *s, const char *domain_uuid, const char *alias,
			   enum store_device_state state, char **ret_error)
{
	int r;

	if (!store_device_state_to_string(state))
		return error_set(ret_error, -EINVAL, _("The device state %d is unknown."), state);
	r = store_tx_begin(s, ret_error);
	if (r < 0)
		return r;
	r = device_check_transition(s, domain_uuid, alias, state, ret_error);
	if (r >= 0)
		r = store_stmt_change(s, ret_error,
			"UPDATE devices SET state = ? WHERE domain_uuid = ? AND alias = ?", "ttt",
			store_device_state_to_string(state), domain_uuid, alias);
	return store_tx_end(s, r < 0 ? r : 0, ret_error);
}

int store_device_delete(struct store *s, const char *domain_uuid, const char *alias,
			char **ret_error)
{
	int r = store_tx_begin(s, ret_error);

	if (r < 0)
		return r;
	r = store_stmt_change(s, ret_error,
		"DELETE FROM devices WHERE domain_uuid = ? AND alias = ?", "tt", domain_uuid,
		alias);
	if (r == 0)
		r = device_missing(domain_uuid, alias, ret_error);
	return store_tx_end(s, r < 0 ? r : 0, ret_error);
}

int store_device_get(struct store *s, const char *domain_uuid, const char *alias,
		     struct store_device *ret, char **ret_error)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r, rc;

	r = store_stmt_new(s, &st, ret_error,
		"SELECT " DEVICE_COLUMNS " FROM devices WHERE domain_uuid = ? AND alias = ?", "tt",
		domain_uuid, alias);
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
	int r = store_stmt_new(s, &st, ret_error,
		"SELECT " DEVICE_COLUMNS " FROM devices WHERE domain_uuid = ? "
		"ORDER BY kind, slot IS NULL, slot, alias",
		"t", domain_uuid);

	if (r < 0)
		return r;
	return store_collect_rows(s, st, sizeof(**ret), device_row_cb, device_clear_cb,
		(void **)ret, ret_n, ret_error);
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

