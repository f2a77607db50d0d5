/*
 * A 16550-style UART at 0x3f8, IRQ 4, with its console: output goes to
 * stdout, a file, or the client of a listening unix socket (one at a time),
 * and also to a log file when one is given; input comes from stdin or that
 * client.
 */
#pragma once

#include "cleanup.h"

enum console_kind {
	CONSOLE_STDIO,
	CONSOLE_FILE,
	CONSOLE_UNIX,
	CONSOLE_NONE,
	_CONSOLE_KIND_MAX,
	_CONSOLE_KIND_INVALID = -1,
};

struct console_config {
	enum console_kind kind;
	const char *path;    /* CONSOLE_FILE, CONSOLE_UNIX */
	const char *logfile; /* or NULL */
};

struct serial;
struct vm;
struct event_loop;

int serial_new(struct vm *vm, struct event_loop *loop, const struct console_config *cfg,
	struct serial **ret);
/* Also removes the socket it created. */
struct serial *serial_free(struct serial *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct serial *, serial_free);
