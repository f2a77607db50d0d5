/*
 * Logging with levels. log_*_errno() log with strerror(-err) appended through
 * %m and return the negative errno, so error paths read:
 *     return log_error_errno(r, "Failed to open %s: %m", path);
 */
#pragma once

#include "cleanup.h"

enum log_level {
	LOG_LEVEL_ERROR,
	LOG_LEVEL_WARNING,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
	_LOG_LEVEL_MAX,
	_LOG_LEVEL_INVALID = -1,
};

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Sends log lines to fd (default: stderr). */
void log_set_fd(int fd);
/* A short program name printed before each line ("mvirtd", "mvirt-vmm"). */
void log_set_ident(const char *ident);

const char *log_level_to_string(enum log_level level);
enum log_level log_level_from_string(const char *s);

/* Returns -abs(err) so callers can "return log_..._errno(r, ...)". */
int log_internal(enum log_level level, int err, const char *fmt, ...) _printf_(3, 4);

#define log_error(...) log_internal(LOG_LEVEL_ERROR, 0, __VA_ARGS__)
#define log_warning(...) log_internal(LOG_LEVEL_WARNING, 0, __VA_ARGS__)
#define log_info(...) log_internal(LOG_LEVEL_INFO, 0, __VA_ARGS__)
#define log_debug(...) log_internal(LOG_LEVEL_DEBUG, 0, __VA_ARGS__)
#define log_error_errno(e, ...) log_internal(LOG_LEVEL_ERROR, (e), __VA_ARGS__)
#define log_warning_errno(e, ...) log_internal(LOG_LEVEL_WARNING, (e), __VA_ARGS__)
#define log_info_errno(e, ...) log_internal(LOG_LEVEL_INFO, (e), __VA_ARGS__)
#define log_debug_errno(e, ...) log_internal(LOG_LEVEL_DEBUG, (e), __VA_ARGS__)
