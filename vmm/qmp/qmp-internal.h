/* What the QMP server (server.c) shares with its command handlers (commands*.c). */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "hotplug.h"
#include "qmp-error.h"
#include "qmp.h"

/* fds named with getfd, per client: a client's names are its own (as QEMU's per-monitor
 * fds) and close when it leaves, so idle clients cannot take the daemon's room. */
#define QMP_FDS_MAX 8
#define QMP_CLIENT_FDS_MAX 4    /* SCM_RIGHTS fds received but not yet named, per client */
#define QMP_OUT_MAX (256 * 1024) /* queued output per client before it is disconnected */
#define QMP_RATE_MAX 1000       /* messages per client per second before it is throttled */
#define QMP_READ_CHUNK 4096     /* bytes read per wake-up, so no client hogs the loop */

struct qmp_named_fd {
	char name[MVIRT_FDNAME_MAX + 1];
	int fd; /* -1 when the entry is free */
};

struct qmp_client {
	struct qmp_server *server;
	struct qmp_named_fd fds[QMP_FDS_MAX];
	int fd;
	struct json_stream *in;
	char *out;
	size_t out_len;
	/* SCM_RIGHTS fds belong to the message holding the last byte that came with them: the
	 * one whose end reaches fds_owner_end. Only that command may take them (fds_offered);
	 * whatever it leaves, failed or not, is closed after it. */
	int pending_fds[QMP_CLIENT_FDS_MAX];
	unsigned n_pending_fds;
	uint64_t fds_owner_end; /* stream offset just past the owner's last non-blank byte */
	bool fds_offered;
	uint64_t fed; /* bytes fed into in since the client came */
	uint64_t window_start_ms;
	unsigned window_count;
	bool throttled;
	bool dead;
	bool negotiated; /* qmp_capabilities succeeded once on this connection */
};

struct qmp_server {
	struct event_loop *loop;
	int listen_fd;
	char *path;
	int timer_fd;
	bool timer_armed;
	struct hotplug *hp;
	struct vm_control vm;
	struct qmp_client *clients[QMP_CLIENTS_MAX];
	uid_t owner_uid; /* may take the last client slot, as root may */
};

/* One command being run: where the reply goes, and the error it ends with. */
struct qmp_request {
	struct qmp_server *server;
	struct qmp_client *client;
	enum qmp_error_class error_class; /* zero: QMP_ERROR_GENERIC */
	char *error;
	/* Runs after the reply is queued (quit). */
	void (*after)(struct qmp_request *r);
};

/* Sets the request's error and returns err (negative). */
int qmp_fail(struct qmp_request *r, enum qmp_error_class error_class, int err, const char *fmt,
	     ...)
	_printf_(4, 5);
/* Takes over a hot-plug error sentence. */
int qmp_fail_take(struct qmp_request *r, enum qmp_error_class error_class, int err,
		  char *msg);

/* Argument tables: data, checked before a handler runs; unknown names are refused. */
enum qmp_type {
	QMP_TYPE_STR,
	QMP_TYPE_INT,
	QMP_TYPE_BOOL,
	QMP_TYPE_OBJECT,
	QMP_TYPE_ARRAY,
	QMP_TYPE_STR_OR_INT, /* addr and lun: "0x1" or 1 */
	_QMP_TYPE_MAX,
};

struct qmp_arg {
	const char *name;
	enum qmp_type type;
	bool required;
	const struct qmp_arg *members; /* an object's own table, or NULL for any members */
};

int qmp_args_check(struct qmp_request *r, const char *command, const struct qmp_arg *table,
	struct json_object *args);
const char *qmp_arg_str(struct json_object *args, const char *name);
bool qmp_arg_bool(struct json_object *args, const char *name, bool def);

typedef int (*qmp_command_fn)(struct qmp_request *r, struct json_object *args,
	struct json_object **ret);

struct qmp_command {
	const char *name;
	qmp_command_fn fn;
	const struct qmp_arg *args; /* NULL: no arguments */
};

/* The commands of commands.c and commands-hotplug.c. */
const struct qmp_command *qmp_command_find(const char *name);
size_t qmp_command_count(void);
const struct qmp_command *qmp_command_at(size_t i);

extern const struct qmp_command qmp_hotplug_commands[];
extern const size_t qmp_hotplug_command_count;

/* Named fds (getfd) of client c: returns the fd, or -ENOENT; the entry stays until closefd,
 * qmp_fd_release() or the client's departure, which close it. */
int qmp_fd_lookup(struct qmp_client *c, const char *name);
void qmp_fd_release(struct qmp_client *c, const char *name);
