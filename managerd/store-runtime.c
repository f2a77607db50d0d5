/* The runtime table: what a later mvirtd needs to find a running domain's VMM again; and the
 * bridges it created. */
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

/* Runtime rows. */

#define RUNTIME_COLUMNS "domain_uuid, vmm_pid, vmm_start_time, qmp_socket, console_socket"

int store_runtime_set(struct store *s, const struct store_runtime *rt, char **ret_error)
{
	int r;

	if (rt->vmm_pid <= 0)
		return error_set(
			ret_error, -EINVAL, _("The VMM pid %d is not valid."), (int)rt->vmm_pid);
	r = store_tx_begin(s, ret_error);
	if (r < 0)
		return r;
	r = store_stmt_change(s, ret_error,
		"INSERT OR REPLACE INTO runtime (" RUNTIME_COLUMNS ") VALUES (?, ?, ?, ?, ?)",
		"tiitt", rt->domain_uuid, (int64_t)rt->vmm_pid, (int64_t)rt->vmm_start_time,
		rt->qmp_socket, rt->console_socket);
	if (r == -ENOENT)
		r = store_domain_missing(rt->domain_uuid, ret_error);
	else if (r == -EEXIST || r == -EINVAL)
		r = error_set(ret_error, r, _("The runtime state of domain %s is refused."),
			rt->domain_uuid);
	return store_tx_end(s, r < 0 ? r : 0, ret_error);
}

static int runtime_from_row(sqlite3_stmt *st, void *p)
{
	struct store_runtime *rt = p;

	*rt = (struct store_runtime){};
	if (store_copy_text(rt->domain_uuid, sizeof(rt->domain_uuid), st, 0) < 0 ||
		store_copy_text(rt->qmp_socket, sizeof(rt->qmp_socket), st, 3) < 0 ||
		store_copy_text(rt->console_socket, sizeof(rt->console_socket), st, 4) < 0)
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

	r = store_stmt_new(s, &st, ret_error,
		"SELECT " RUNTIME_COLUMNS " FROM runtime WHERE domain_uuid = ?", "t", domain_uuid);
	if (r < 0)
		return r;
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return error_set(
			ret_error, -ENOENT, _("Domain %s has no recorded VMM."), domain_uuid);
	if (rc != SQLITE_ROW)
		return store_fail(s, rc, ret_error);
	return runtime_from_row(st, ret);
}

int store_runtime_delete(struct store *s, const char *domain_uuid, char **ret_error)
{
	int r = store_tx_begin(s, ret_error);

	if (r < 0)
		return r;
	r = store_stmt_change(
		s, ret_error, "DELETE FROM runtime WHERE domain_uuid = ?", "t", domain_uuid);
	if (r == 0)
		r = error_set(ret_error, -ENOENT, _("Domain %s has no recorded VMM."), domain_uuid);
	return store_tx_end(s, r < 0 ? r : 0, ret_error);
}

int store_runtime_list(struct store *s, struct store_runtime **ret, size_t *ret_n,
		       char **ret_error)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r = store_stmt_new(s, &st, ret_error,
		"SELECT " RUNTIME_COLUMNS " FROM runtime ORDER BY domain_uuid", "");

	if (r < 0)
		return r;
	return store_collect_rows(
		s, st, sizeof(**ret), runtime_from_row, NULL, (void **)ret, ret_n, ret_error);
}

/* Bridges mvirtd created. */

int store_bridge_add(struct store *s, const char *name, char **ret_error)
{
	int r = store_tx_begin(s, ret_error);

	if (r < 0)
		return r;
	/* Not OR IGNORE: that would ignore the CHECK on the name as well. */
	r = store_stmt_change(s, ret_error, "INSERT INTO bridges (name) VALUES (?)", "t", name);
	if (r == -EEXIST)
		r = 0;
	else if (r == -EINVAL)
		r = error_set(ret_error, r, _("The bridge name %s cannot be recorded."), name);
	return store_tx_end(s, r < 0 ? r : 0, ret_error);
}

int store_bridge_delete(struct store *s, const char *name, char **ret_error)
{
	int r = store_tx_begin(s, ret_error);

	if (r < 0)
		return r;
	r = store_stmt_change(s, ret_error, "DELETE FROM bridges WHERE name = ?", "t", name);
	return store_tx_end(s, r < 0 ? r : 0, ret_error);
}

int store_bridge_created(struct store *s, const char *name)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r = store_stmt_new(s, &st, NULL, "SELECT 1 FROM bridges WHERE name = ?", "t", name);
	int rc;

	if (r < 0)
		return r;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : store_sqlite_errno(s->db, rc);
}

static int bridge_from_row(sqlite3_stmt *st, void *p)
{
	return store_copy_text(p, STORE_IFNAME_MAX + 1, st, 0) < 0 ? -EIO : 0;
}

int store_bridge_list(struct store *s, char (**ret)[STORE_IFNAME_MAX + 1], size_t *ret_n,
		      char **ret_error)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r = store_stmt_new(s, &st, ret_error, "SELECT name FROM bridges ORDER BY name", "");

	if (r < 0)
		return r;
	return store_collect_rows(s, st, sizeof(**ret), bridge_from_row, NULL, (void **)ret,
				  ret_n, ret_error);
}
