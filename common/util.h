/* Small string, number and fd helpers every program uses. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

static inline bool streq(const char *a, const char *b)
{
	return strcmp(a, b) == 0;
}

static inline bool streq_ptr(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return streq(a, b);
}

static inline bool isempty(const char *s)
{
	return !s || !*s;
}

static inline bool startswith(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Copies src into dst[size] whole, or returns -ENAMETOOLONG and leaves dst empty. */
int str_copy(char *dst, size_t size, const char *src);

/* Decimal or 0x-prefixed hex, the whole string, no sign: 0 or -EINVAL/-ERANGE. */
int parse_u64(const char *s, uint64_t *ret);
/* A byte count with an optional K, M, G or T suffix (powers of 1024), as "-m 256M". */
int parse_size(const char *s, uint64_t *ret);
/* "on"/"off", "yes"/"no", "true"/"false", "1"/"0". */
int parse_bool(const char *s, bool *ret);

int fd_set_nonblock(int fd, bool nonblock);
int fd_set_cloexec(int fd, bool cloexec);
/* Reads or writes exactly len bytes unless EOF comes first; retries EINTR. */
ssize_t read_full(int fd, void *buf, size_t len);
int write_full(int fd, const void *buf, size_t len);
/*
 * Replaces *ret_error with the formatted sentence (NULL if out of memory) and returns r; does
 * nothing but return r when ret_error is NULL. The one way libraries hand a user's error up.
 */
int error_set(char **ret_error, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/*
 * The same, but keeps a sentence already in *ret_error: the first failure is the cause, and
 * what a rollback or an outer step says after it would hide it. For code whose steps each
 * report, and whose callers report again only if nothing has yet.
 */
int error_set_first(char **ret_error, int r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/*
 * Opens name in the folder dirfd for writing a file the caller (root) owns, when the folder
 * may belong to a less trusted user: never through a symlink (O_NOFOLLOW: -ELOOP),
 * never a hard link, a file of another user or anything but a regular file (-EPERM). Nothing
 * is removed: the owner of the folder layout cleans it first (owned_file_clean). flags:
 * O_WRONLY or O_RDWR plus O_APPEND or O_TRUNC (the truncation happens after the checks);
 * O_CREAT and O_CLOEXEC are implied. Returns the fd.
 */
int openat_owned_file(int dirfd, const char *name, int flags, mode_t mode);
/* The same for path: the last component as above, in the folder the rest names. */
int open_owned_file(const char *path, int flags, mode_t mode);
/* Removes name from dirfd unless it is absent or a file openat_owned_file() would take. */
int owned_file_clean(int dirfd, const char *name);
/* Reads a whole small file (at most max bytes) into a NUL-terminated buffer. */
int read_file(const char *path, size_t max, char **ret, size_t *ret_len);
/* Field 22 (starttime, clock ticks since boot) of /proc/PID/stat: -ENOENT if pid is gone. */
int proc_pid_start_time(pid_t pid, uint64_t *ret);
