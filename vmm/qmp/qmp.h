/*
 * The VMM's QMP server: QEMU's QMP wire protocol on a unix socket, served on
 * the VMM's event loop (one thread), so a command changes device state from
 * the same place the devices run. Commands parse and validate their arguments
 * from tables, then call the hot-plug manager (hotplug.h) or the VM through
 * struct vm_control. See vmm/qmp/README.md for the commands and limits.
 */
#pragma once

#include <json-c/json.h>

#include "cleanup.h"
#include "eventloop.h"
#include "hotplug.h"

/* Clients connected at once; one more is told so and closed. */
#define QMP_CLIENTS_MAX 8

/*
 * What the QMP commands ask of the VM. Every callback is optional (NULL: the
 * command answers that it is not available) and runs on the event-loop thread.
 * - stop / cont: pause or resume every vCPU. Return 0 when the state changed
 *   (the server then emits STOP or RESUME), 1 when it already was so, or -errno.
 * - powerdown: press the ACPI power button (system_powerdown); the VMM emits
 *   SHUTDOWN with qmp_server_emit() when the guest has powered off.
 * - quit: end the VMM (quit); called after the reply and the SHUTDOWN event are
 *   queued; it should event_loop_quit() and let main() free the server, which
 *   flushes what is queued.
 * - status: QEMU's RunState name: "running", "paused", "shutdown", "prelaunch",
 *   "internal-error", ...
 */
struct vm_control {
	void *opaque;
	int (*stop)(void *opaque);
	int (*cont)(void *opaque);
	int (*powerdown)(void *opaque);
	void (*quit)(void *opaque);
	const char *(*status)(void *opaque);
};

struct qmp_server;

/*
 * Listens on socket_path (an existing socket file is replaced) and serves QMP on
 * loop. hp and vm (copied) must outlive the server. On failure returns NULL with
 * *ret_error set to a sentence for the user (the caller frees it).
 */
struct qmp_server *qmp_server_new(struct event_loop *loop, const char *socket_path,
	struct hotplug *hp, const struct vm_control *vm, char **ret_error);

/* Serves one already-connected stream socket (the server takes fd): for tests
 * over a socketpair, and for a listening socket handed over by a parent. */
int qmp_server_add_client(struct qmp_server *s, int fd);

/* Sends {"event": event, "data": data, "timestamp": ...} to every client. Takes
 * data (NULL for none). Events: SHUTDOWN {"guest": bool, "reason": "guest-shutdown"
 * | "host-qmp-quit" | "host-signal"}, STOP, RESUME, DEVICE_DELETED, POWERDOWN. */
void qmp_server_emit(struct qmp_server *s, const char *event, struct json_object *data);

/* Flushes what can be written without blocking, closes every client, removes the
 * socket file. Accepts NULL. */
struct qmp_server *qmp_server_free(struct qmp_server *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct qmp_server *, qmp_server_free);
