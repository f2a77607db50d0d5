/*
 * The QMP server: a listening unix socket, up to QMP_CLIENTS_MAX clients, each
 * with a JSON stream in and a bounded queue out, all on the VMM's event loop.
 * A client is only freed at the end of a loop callback of the server (sweep),
 * so a handler never touches a freed client.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "i18n.h"
#include "json-stream.h"
#include "log.h"
#include "qmp-internal.h"
#include "util.h"

/* How often a throttled client is looked at again. */
#define QMP_THROTTLE_TICK_MS 100

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int qmp_fail(struct qmp_request *r, enum qmp_error_class error_class, int err, const char *fmt,
	     ...)
{
	va_list ap;
	char *msg = NULL;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	return qmp_fail_take(r, error_class, err, msg);
}

int qmp_fail_take(struct qmp_request *r, enum qmp_error_class error_class, int err, char *msg)
{
	free(r->error);
	r->error = msg;
	r->error_class = error_class;
	return err < 0 ? err : -EINVAL;
}

static void client_update_events(struct qmp_client *c)
{
	uint32_t events = (c->throttled ? 0 : EPOLLIN) | (c->out_len ? EPOLLOUT : 0);

	if (!c->dead)
		event_loop_modify(c->server->loop, c->fd, events);
}

/* Marks a client for removal; the sweep at the end of the callback frees it. */
static void client_kill(struct qmp_client *c)
{
	if (c->dead)
		return;
	c->dead = true;
	event_loop_remove(c->server->loop, c->fd);
}

static void client_close_fds(struct qmp_client *c)
{
	for (unsigned i = 0; i < c->n_pending_fds; i++)
		safe_close(c->pending_fds[i]);
	c->n_pending_fds = 0;
	c->fds_offered = false;
}

static struct qmp_client *client_free(struct qmp_client *c)
{
	if (!c)
		return NULL;
	if (!c->dead)
		event_loop_remove(c->server->loop, c->fd);
	safe_close(c->fd);
	client_close_fds(c);
	/* Named fds go with the client that named them: nothing outlives it. */
	for (int i = 0; i < QMP_FDS_MAX; i++)
		safe_close(c->fds[i].fd);
	json_stream_free(c->in);
	free(c->out);
	free(c);
	return NULL;
}

static void server_sweep(struct qmp_server *s)
{
	for (int i = 0; i < QMP_CLIENTS_MAX; i++)
		if (s->clients[i] && s->clients[i]->dead) {
			log_debug("QMP client %d left.", i);
			s->clients[i] = client_free(s->clients[i]);
		}
}

static void client_flush(struct qmp_client *c)
{
	while (c->out_len > 0 && !c->dead) {
		ssize_t n = send(c->fd, c->out, c->out_len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) {
			client_kill(c);
			return;
		}
		memmove(c->out, c->out + n, c->out_len - n);
		c->out_len -= n;
	}
	client_update_events(c);
}

static void client_send(struct qmp_client *c, struct json_object *obj)
{
	_cleanup_free_ char *line = json_stream_format(obj);
	size_t len;
	char *out;

	if (c->dead)
		return;
	if (!line) {
		client_kill(c);
		return;
	}
	len = strlen(line);
	if (c->out_len + len > QMP_OUT_MAX) {
		log_warning("A QMP client does not read its replies and events (%zu bytes queued); "
			    "disconnecting it.", c->out_len);
		client_kill(c);
		return;
	}
	out = realloc(c->out, c->out_len + len);
	if (!out) {
		client_kill(c);
		return;
	}
	memcpy(out + c->out_len, line, len);
	c->out = out;
	c->out_len += len;
	client_flush(c);
}

static struct json_object *timestamp_new(void)
{
	struct json_object *ts = json_object_new_object();
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	json_object_object_add(ts, "seconds", json_object_new_int64(now.tv_sec));
	json_object_object_add(ts, "microseconds", json_object_new_int64(now.tv_nsec / 1000));
	return ts;
}

void qmp_server_emit(struct qmp_server *s, const char *event, struct json_object *data)
{
	_cleanup_json_ struct json_object *msg = json_object_new_object();

	json_object_object_add(msg, "event", json_object_new_string(event));
	if (data)
		json_object_object_add(msg, "data", data);
	json_object_object_add(msg, "timestamp", timestamp_new());
	log_debug("QMP event %s.", event);
	for (int i = 0; i < QMP_CLIENTS_MAX; i++)
		if (s->clients[i])
			client_send(s->clients[i], msg);
}

/*
 * A request's "id", echoed as given. json-c stores a JSON null as a NULL member, so whether
 * the request had one at all is kept apart: {"id": null} is echoed as null, as QEMU does.
 */
struct qmp_id {
	bool present;
	struct json_object *value;
};

static void add_id(struct json_object *msg, const struct qmp_id *id)
{
	if (id && id->present)
		json_object_object_add(msg, "id", json_object_get(id->value));
}

static void send_error(struct qmp_client *c, const struct qmp_id *id,
	enum qmp_error_class error_class, const char *desc)
{
	_cleanup_json_ struct json_object *msg = json_object_new_object();
	struct json_object *err = json_object_new_object();

	json_object_object_add(err, "class",
		json_object_new_string(qmp_error_class_to_string(error_class)));
	json_object_object_add(err, "desc", json_object_new_string(desc));
	json_object_object_add(msg, "error", err);
	add_id(msg, id);
	client_send(c, msg);
}

static void send_greeting(struct qmp_client *c)
{
	_cleanup_json_ struct json_object *msg = json_object_new_object();
	struct json_object *qmp = json_object_new_object(), *version = json_object_new_object();
	struct json_object *qemu = json_object_new_object();

	/* The QMP dialect we speak is QEMU 7.2's; the package names what answers. */
	json_object_object_add(qemu, "micro", json_object_new_int(0));
	json_object_object_add(qemu, "minor", json_object_new_int(2));
	json_object_object_add(qemu, "major", json_object_new_int(7));
	json_object_object_add(version, "qemu", qemu);
	json_object_object_add(version, "package", json_object_new_string("mvirt-" PACKAGE_VERSION));
	json_object_object_add(qmp, "version", version);
	json_object_object_add(qmp, "capabilities", json_object_new_array());
	json_object_object_add(msg, "QMP", qmp);
	client_send(c, msg);
}

/* Checks the envelope: execute (string), arguments (object), id; nothing else. */
static const char *check_envelope(struct json_object *msg, char **ret_desc)
{
	struct json_object *exec = NULL, *args = NULL;

	json_object_object_foreach(msg, key, val) {
		(void)val;
		if (streq(key, "exec-oob")) {
			*ret_desc = strdup(_("Out-of-band execution (exec-oob) is not supported; use "
					     "\"execute\"."));
			return NULL;
		}
		if (!streq(key, "execute") && !streq(key, "arguments") && !streq(key, "id")) {
			if (asprintf(ret_desc, _("A QMP message takes \"execute\", \"arguments\" and "
						 "\"id\", not \"%s\"; remove it."), key) < 0)
				*ret_desc = NULL;
			return NULL;
		}
	}
	if (!json_object_object_get_ex(msg, "execute", &exec) ||
		!json_object_is_type(exec, json_type_string)) {
		*ret_desc = strdup(_("A QMP message needs \"execute\" with a command name, such as "
				     "{\"execute\": \"query-status\"}."));
		return NULL;
	}
	if (json_object_object_get_ex(msg, "arguments", &args) &&
		!json_object_is_type(args, json_type_object)) {
		*ret_desc = strdup(_("\"arguments\" must be a JSON object, such as {\"id\": "
				     "\"drive-0\"}."));
		return NULL;
	}
	return json_object_get_string(exec);
}

static void run_command(struct qmp_client *c, const struct qmp_command *cmd,
	struct json_object *args, const struct qmp_id *id)
{
	struct qmp_request r = { .server = c->server, .client = c };
	_cleanup_json_ struct json_object *reply = json_object_new_object();
	struct json_object *ret = NULL;
	int err;

	err = qmp_args_check(&r, cmd->name, cmd->args, args);
	if (err >= 0)
		err = cmd->fn(&r, args, &ret);
	if (err < 0) {
		send_error(c, id, r.error_class, r.error ? r.error : strerror(-err));
		free(r.error);
		json_object_put(ret);
		return;
	}
	json_object_object_add(reply, "return", ret ? ret : json_object_new_object());
	add_id(reply, id);
	client_send(c, reply);
	if (r.after)
		r.after(&r);
}

static void handle_message(struct qmp_client *c, struct json_object *msg)
{
	_cleanup_free_ char *desc = NULL;
	const struct qmp_command *cmd;
	struct json_object *args = NULL;
	struct qmp_id id = {};
	const char *name;

	if (!json_object_is_type(msg, json_type_object)) {
		send_error(c, NULL, QMP_ERROR_GENERIC,
			_("A QMP message must be a JSON object, such as {\"execute\": "
			  "\"query-status\"}."));
		return;
	}
	id.present = json_object_object_get_ex(msg, "id", &id.value);
	name = check_envelope(msg, &desc);
	if (!name) {
		send_error(c, &id, QMP_ERROR_GENERIC, desc ? desc : "Invalid QMP message.");
		return;
	}
	cmd = qmp_command_find(name);
	if (!cmd) {
		free(desc);
		if (asprintf(&desc, _("The command \"%s\" was not found; query-commands lists the "
				      "commands mvirt-vmm has."), name) < 0)
			desc = NULL;
		send_error(c, &id, QMP_ERROR_COMMAND_NOT_FOUND, desc ? desc : name);
		return;
	}
	json_object_object_get_ex(msg, "arguments", &args);
	log_debug("QMP command %s.", name);
	run_command(c, cmd, args, &id);
}

static void timer_arm(struct qmp_server *s, bool on)
{
	struct itimerspec its = { 0 };

	if (on == s->timer_armed)
		return;
	if (on) {
		its.it_value.tv_nsec = QMP_THROTTLE_TICK_MS * 1000000L;
		its.it_interval = its.it_value;
	}
	timerfd_settime(s->timer_fd, 0, &its, NULL);
	s->timer_armed = on;
}

/* Takes the messages already received, as many as the client's rate allows. */
static void client_dispatch(struct qmp_client *c)
{
	while (!c->dead && !c->throttled) {
		_cleanup_json_ struct json_object *msg = NULL;
		uint64_t now = now_ms();
		int r;

		r = json_stream_next(c->in, &msg);
		if (r == 0)
			break;
		/* Messages before the fds' owner must not see them: a getfd sent ahead of the
		 * one that carries the fd would name the wrong file. */
		c->fds_offered = c->n_pending_fds > 0 &&
			c->fed - json_stream_pending(c->in) >= c->fds_owner_end;
		if (now - c->window_start_ms >= 1000) {
			c->window_start_ms = now;
			c->window_count = 0;
		}
		if (r == -EMSGSIZE)
			send_error(c, NULL, QMP_ERROR_GENERIC,
				_("The message is larger than 64 KiB and was dropped; send "
				  "shorter messages."));
		else if (r == -EILSEQ)
			send_error(c, NULL, QMP_ERROR_GENERIC,
				_("The message was dropped because it is not UTF-8 or a string "
				  "in it holds \\u0000; QMP strings must be UTF-8 without NUL."));
		else if (r < 0)
			send_error(c, NULL, QMP_ERROR_GENERIC,
				_("The message is not valid JSON and was dropped up to the next "
				  "line; send one JSON object per line."));
		else
			handle_message(c, msg);
		if (c->fds_offered)
			client_close_fds(c); /* not taken: a failed getfd or another command */
		if (++c->window_count >= QMP_RATE_MAX && !c->throttled) {
			c->throttled = true;
			log_debug("Throttling a QMP client that sent %u messages within a second.",
				c->window_count);
			client_update_events(c);
			timer_arm(c->server, true);
		}
	}
}

/* Keeps the fds that came with the n bytes in buf for the message those bytes end in. */
static void client_take_fds(struct qmp_client *c, struct msghdr *mh, const char *buf, size_t n)
{
	size_t end = n;

	while (end > 0 && strchr(" \t\r\n", buf[end - 1]))
		end--;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
		size_t nfds = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		int *fds = (int *)CMSG_DATA(cm);

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		if (c->n_pending_fds > 0) {
			/* Their owner never came whole; the new ones name another message. */
			log_debug("Closing %u file descriptors a QMP client sent without a command.",
				c->n_pending_fds);
			client_close_fds(c);
		}
		for (size_t i = 0; i < nfds; i++) {
			/* Blank bytes belong to no command: nothing could ever take these. */
			if (end > 0 && c->n_pending_fds < QMP_CLIENT_FDS_MAX)
				c->pending_fds[c->n_pending_fds++] = fds[i];
			else
				safe_close(fds[i]);
		}
		c->fds_owner_end = c->fed + end;
	}
}

static void client_receive(struct qmp_client *c)
{
	char buf[QMP_READ_CHUNK];
	char control[CMSG_SPACE(sizeof(int) * QMP_CLIENT_FDS_MAX)];
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
		.msg_controllen = sizeof(control) };
	ssize_t n;

	n = recvmsg(c->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		client_kill(c);
		return;
	}
	client_take_fds(c, &mh, buf, (size_t)n);
	/* -EMSGSIZE is reported by json_stream_next() as an error reply. */
	json_stream_feed(c->in, buf, n);
	c->fed += (uint64_t)n;
	client_dispatch(c);
}

static void on_client(struct event_loop *loop, int fd, uint32_t events, void *opaque)
{
	struct qmp_client *c = opaque;
	struct qmp_server *s = c->server;

	if (events & EPOLLOUT)
		client_flush(c);
	if (!c->dead && (events & EPOLLIN))
		client_receive(c);
	else if (!c->dead && (events & (EPOLLHUP | EPOLLERR)))
		client_kill(c);
	server_sweep(s);
}

static void on_timer(struct event_loop *loop, int fd, uint32_t events, void *opaque)
{
	struct qmp_server *s = opaque;
	uint64_t expirations, now = now_ms();
	bool any = false;

	if (read(fd, &expirations, sizeof(expirations)) < 0) {
		/* Nothing to read: the tick was already taken. */
	}
	for (int i = 0; i < QMP_CLIENTS_MAX; i++) {
		struct qmp_client *c = s->clients[i];

		if (!c || c->dead || !c->throttled)
			continue;
		if (now - c->window_start_ms < 1000) {
			any = true;
			continue;
		}
		c->throttled = false;
		c->window_start_ms = now;
		c->window_count = 0;
		client_update_events(c);
		client_dispatch(c);
		any = any || c->throttled;
	}
	timer_arm(s, any);
	server_sweep(s);
}

/* The last client slot is kept for the VMM's owner (mvirtd: root, or the user who started
 * the VMM), so that other users of the socket (the VMM's own user, once it drops
 * privileges) cannot lock the daemon out by holding every connection. */
static bool peer_may_take_last_slot(const struct qmp_server *s, int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return false;
	return cred.uid == 0 || cred.uid == s->owner_uid;
}

int qmp_server_add_client(struct qmp_server *s, int fd)
{
	struct qmp_client *c;
	int i, r, used = 0;

	for (int k = 0; k < QMP_CLIENTS_MAX; k++)
		used += s->clients[k] != NULL;
	for (i = 0; i < QMP_CLIENTS_MAX && s->clients[i]; i++)
		;
	if (i < QMP_CLIENTS_MAX && used == QMP_CLIENTS_MAX - 1 && !peer_may_take_last_slot(s, fd))
		i = QMP_CLIENTS_MAX;
	if (i == QMP_CLIENTS_MAX) {
		/* Sent before there is a client to build a reply for: QMP_ERROR_GENERIC, spelled. */
		static const char busy[] = "{\"error\": {\"class\": \"GenericError\", \"desc\": "
					   "\"Too many QMP clients are connected (8); close one "
					   "and connect again.\"}}\r\n";

		if (send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
			/* The client goes away either way. */
		}
		safe_close(fd);
		return -EUSERS;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		safe_close(fd);
		return -ENOMEM;
	}
	*c = (struct qmp_client){ .server = s, .fd = fd, .window_start_ms = now_ms() };
	for (int k = 0; k < QMP_FDS_MAX; k++)
		c->fds[k].fd = -1;
	c->in = json_stream_new(JSON_STREAM_MAX_DEFAULT);
	r = c->in ? fd_set_nonblock(fd, true) : -ENOMEM;
	if (r >= 0)
		r = event_loop_add(s->loop, fd, EPOLLIN, on_client, c);
	if (r < 0) {
		c->dead = true;
		client_free(c);
		return r;
	}
	s->clients[i] = c;
	send_greeting(c);
	return 0;
}

static void on_accept(struct event_loop *loop, int fd, uint32_t events, void *opaque)
{
	struct qmp_server *s = opaque;
	int cfd;

	cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (cfd < 0) {
		if (errno != EAGAIN && errno != EINTR)
			log_warning_errno(errno, "Failed to accept a QMP client: %m");
		return;
	}
	if (qmp_server_add_client(s, cfd) == -EUSERS)
		log_warning("Refused a QMP client: %d are connected already.", QMP_CLIENTS_MAX);
	server_sweep(s);
}

static int listen_unix(const char *path, char **ret_error)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_close_ int fd = -1;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		if (asprintf(ret_error, _("The QMP socket path %s is longer than %zu bytes; choose a "
					  "shorter path."), path, sizeof(sa.sun_path) - 1) < 0)
			*ret_error = NULL;
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	/* A socket file left by an earlier run would make bind() fail. */
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, QMP_CLIENTS_MAX) < 0) {
		int err = errno;

		if (asprintf(ret_error, _("Could not listen for QMP on %s: %s; check that its "
					  "folder exists and is writable."), path, strerror(err)) < 0)
			*ret_error = NULL;
		return -err;
	}
	return TAKE_FD(fd);
}

/* DEVICE_DELETED, for the hot-plug manager (hotplug_set_deleted_fn). */
static void qmp_on_device_deleted(void *opaque, const char *id)
{
	struct json_object *data = json_object_new_object();

	json_object_object_add(data, "device", json_object_new_string(id));
	json_object_object_add(data, "path", json_object_new_string(id));
	qmp_server_emit(opaque, "DEVICE_DELETED", data);
}

struct qmp_server *qmp_server_new(struct event_loop *loop, const char *socket_path,
	struct hotplug *hp, const struct vm_control *vm, char **ret_error)
{
	_cleanup_(qmp_server_freep) struct qmp_server *s = calloc(1, sizeof(*s));
	int r;

	*ret_error = NULL;
	if (!s)
		return NULL;
	s->loop = loop;
	s->hp = hp;
	hotplug_set_deleted_fn(hp, qmp_on_device_deleted, s);
	s->listen_fd = -1;
	/* Before any privilege drop: the user mvirtd (or whoever started the VMM) is. */
	s->owner_uid = getuid();
	if (vm)
		s->vm = *vm;
	s->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (s->timer_fd < 0 || event_loop_add(loop, s->timer_fd, EPOLLIN, on_timer, s) < 0) {
		*ret_error = strdup(_("Could not create the QMP server's timer."));
		return NULL;
	}
	if (socket_path) {
		s->listen_fd = listen_unix(socket_path, ret_error);
		if (s->listen_fd < 0)
			return NULL;
		s->path = strdup(socket_path);
		r = event_loop_add(loop, s->listen_fd, EPOLLIN, on_accept, s);
		if (r < 0 || !s->path) {
			*ret_error = strdup(_("Could not watch the QMP socket."));
			return NULL;
		}
	}
	return TAKE_PTR(s);
}

struct qmp_server *qmp_server_free(struct qmp_server *s)
{
	if (!s)
		return NULL;
	hotplug_set_deleted_fn(s->hp, NULL, NULL);
	for (int i = 0; i < QMP_CLIENTS_MAX; i++)
		if (s->clients[i]) {
			/* The last replies (quit's) go out before the socket closes. */
			client_flush(s->clients[i]);
			s->clients[i] = client_free(s->clients[i]);
		}
	if (s->listen_fd >= 0) {
		event_loop_remove(s->loop, s->listen_fd);
		safe_close(s->listen_fd);
		if (s->path)
			unlink(s->path);
	}
	if (s->timer_fd >= 0) {
		event_loop_remove(s->loop, s->timer_fd);
		safe_close(s->timer_fd);
	}
	free(s->path);
	free(s);
	return NULL;
}
