/*
 * The daemon's side of QMP (the QEMU Machine Protocol) to one mvirt-vmm.
 *
 * Commands are synchronous with a deadline: mvirt-vmm answers in
 * microseconds unless it is stuck, and a stuck VMM costs at most the timeout.
 * Events that arrive while a reply is awaited are queued (at most
 * QMP_CLIENT_MAX_EVENTS, oldest dropped with a warning) and handed out by
 * qmp_client_next_event(); the daemon's loop calls qmp_client_process() when
 * the socket is readable.
 */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>

#include "cleanup.h"
#include "qmp-error.h"

#define QMP_CLIENT_MAX_EVENTS 64
#define QMP_CLIENT_TIMEOUT_MS 5000

struct qmp_client;

/* Connects to the unix socket path, reads the greeting and negotiates capabilities. */
int qmp_client_connect(const char *path, int timeout_ms, struct qmp_client **ret);
struct qmp_client *qmp_client_free(struct qmp_client *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct qmp_client *, qmp_client_free);

int qmp_client_fd(const struct qmp_client *c);

/* What the VMM said when it refused a command: its class, read from the wire, and its sentence. */
struct qmp_error {
	enum qmp_error_class error_class; /* QMP_ERROR_GENERIC for a class we do not know */
	char *desc;                       /* the VMM's own sentence; NULL if it gave none */
};

/* Frees e->desc and leaves e empty; for _cleanup_(qmp_error_done). */
void qmp_error_done(struct qmp_error *e);

/*
 * The errno a refusal means to the daemon: -ENODEV for DeviceNotFound (nothing has that
 * id), -EOPNOTSUPP for CommandNotFound (this VMM lacks the command), -EIO for the rest.
 */
int qmp_error_to_errno(enum qmp_error_class error_class);

/*
 * Runs command with args (borrowed; NULL for none). If pass_fd >= 0 it travels with the
 * command through SCM_RIGHTS (for getfd). Returns 0 and the "return" value in *ret_return
 * (may be NULL to ignore); -EREMOTEIO when the VMM answers with an error, whose class and
 * sentence go to *ret_error (may be NULL; free with qmp_error_done); -ETIMEDOUT;
 * -ECONNRESET when the VMM went away.
 */
int qmp_client_execute(struct qmp_client *c, const char *command, struct json_object *args,
		       int pass_fd, int timeout_ms, struct json_object **ret_return,
		       struct qmp_error *ret_error);

/* Reads what the socket has without blocking and queues events. -ECONNRESET at EOF. */
int qmp_client_process(struct qmp_client *c);

/* 1 and the oldest queued event (caller owns it), or 0 if none. */
int qmp_client_next_event(struct qmp_client *c, struct json_object **ret);

/*
 * Waits up to timeout_ms for an event called name whose data.device equals device (any, if
 * NULL); takes it out of the queue. Other events stay queued in order. 1 found, 0 timeout.
 */
int qmp_client_wait_event(struct qmp_client *c, const char *name, const char *device,
			  int timeout_ms, struct json_object **ret);

/*
 * begin() is called before and end() after every wait for the VMM (NULL for none): mvirtd
 * gives up its big lock there so a slow VMM stalls only the thread that waits for it.
 */
void qmp_client_set_wait_hooks(void (*begin)(void), void (*end)(void));

/* The name and data.device of a QMP event, for the daemon's dispatcher. */
const char *qmp_event_name(struct json_object *event);
const char *qmp_event_device(struct json_object *event);
