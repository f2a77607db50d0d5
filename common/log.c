#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "i18n.h"
#include "log.h"
#include "string-table.h"

static enum log_level max_level = LOG_LEVEL_INFO;
static int log_fd = STDERR_FILENO;
static const char *log_ident = "mvirt";

static const char *const log_level_table[_LOG_LEVEL_MAX] = {
	[LOG_LEVEL_ERROR] = N_("error"),
	[LOG_LEVEL_WARNING] = N_("warning"),
	[LOG_LEVEL_INFO] = N_("info"),
	[LOG_LEVEL_DEBUG] = N_("debug"),
};

void i18n_init(void)
{
	bindtextdomain(GETTEXT_PACKAGE, LOCALEDIR);
	bind_textdomain_codeset(GETTEXT_PACKAGE, "UTF-8");
	textdomain(GETTEXT_PACKAGE);
}

void log_set_level(enum log_level level)
{
	if (level >= 0 && level < _LOG_LEVEL_MAX)
		max_level = level;
}

enum log_level log_get_level(void)
{
	return max_level;
}

void log_set_fd(int fd)
{
	log_fd = fd;
}

void log_set_ident(const char *ident)
{
	log_ident = ident;
}

DEFINE_STRING_TABLE_TO_STRING(log_level, enum log_level, _LOG_LEVEL_MAX);

enum log_level log_level_from_string(const char *s)
{
	for (int i = 0; i < _LOG_LEVEL_MAX; i++)
		if (s && strcasecmp(s, log_level_table[i]) == 0)
			return i;
	return _LOG_LEVEL_INVALID;
}

int log_internal(enum log_level level, int err, const char *fmt, ...)
{
	int saved_errno = errno;
	char line[2048];
	va_list ap;
	int n;

	if (err < 0)
		err = -err;
	if (level > max_level)
		return -err;

	/* %m must print the error we were given, not whatever errno holds now. */
	errno = err;
	n = snprintf(line, sizeof(line), "%s: %s: ", log_ident, _(log_level_table[level]));
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	va_end(ap);
	n = strlen(line);
	if (n >= (int)sizeof(line) - 1)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	/* One write per line keeps lines whole when several threads log. */
	if (write(log_fd, line, n) < 0) {
		/* Nowhere left to report it. */
	}
	errno = saved_errno;
	return -err;
}
