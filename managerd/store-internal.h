/*
 * What store.c shares with store-domains.c, store-devices.c and store-runtime.c: the
 * connection, the error sentences, transactions and statements. Not for the store's users:
 * they include store.h.
 */
#pragma once

#include <stdarg.h>
#include <stddef.h>

#include <sqlite3.h>

#include "cleanup.h"
#include "store.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(sqlite3_stmt *, sqlite3_finalize);
#define _cleanup_stmt_ _cleanup_(sqlite3_finalizep)

struct store {
	sqlite3 *db;
	char *path;
};

/* Maps an SQLite result to -errno; constraint kinds become EEXIST, ENOENT or EINVAL. */
int store_sqlite_errno(sqlite3 *db, int rc);
/* The sentence for a failure no caller explains better (locked, read-only, other). */
int store_fail(struct store *s, int rc, char **ret_error);
int store_exec(struct store *s, const char *sql, char **ret_error);
/* BEGIN IMMEDIATE; store_tx_end() commits when r >= 0, else rolls back; returns r or the
 * commit's error. */
int store_tx_begin(struct store *s, char **ret_error);
int store_tx_end(struct store *s, int r, char **ret_error);
/*
 * Prepares sql and binds arguments by the letters of types: 't' const char *, 'i' int64_t,
 * 'b' bool (as int), 'n' int that is NULL when negative.
 */
int store_stmt_prepare(struct store *s, sqlite3_stmt **ret, char **ret_error, const char *sql,
		       const char *types, va_list ap);
/* Same with the arguments given directly. */
int store_stmt_new(struct store *s, sqlite3_stmt **ret, char **ret_error, const char *sql,
		   const char *types, ...);
/*
 * Runs one changing statement (types as store_stmt_new). Returns the number of rows changed,
 * or -errno with no sentence set for -EEXIST/-ENOENT/-EINVAL constraint failures (callers
 * name the value).
 */
int store_stmt_change(struct store *s, char **ret_error, const char *sql, const char *types,
		      ...);
/* Copies text column col into dst of size bytes (NULL as ""); -EIO if it does not fit. */
int store_copy_text(char *dst, size_t size, sqlite3_stmt *st, int col);
/* Steps st and appends each row through from_row into a growing array of elem bytes, at most
 * STORE_LIST_MAX rows; on failure clears what it collected. */
int store_collect_rows(struct store *s, sqlite3_stmt *st, size_t elem,
		       int (*from_row)(sqlite3_stmt *, void *), void (*clear)(void *), void **ret,
		       size_t *ret_n, char **ret_error);
/* -ENOENT with the sentence that no domain has uuid. */
int store_domain_missing(const char *uuid, char **ret_error);
