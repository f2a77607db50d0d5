/* A QMP client over a unix socket; see qmp-client.h for its blocking model. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

#include "json-stream.h"
#include "log.h"
#include "qmp-client.h"
#include "util.h"

#define QMP_READ_CHUNK 4096

struct qmp_client {
	int fd;
	struct json_stream *stream;
	struct json_object *events[QMP_CLIENT_MAX_EVENTS];
	unsigned n_events;
	unsigned long long next_id;
};

/* Around every wait for the VMM; mvirtd releases its big lock there (see job.h). */
static void (*hook_wait_begin)(void);
static void (*hook_wait_end)(void);

void qmp_client_set_wait_hooks(void (*begin)(void), void (*end)(void))
{
	hook_wait_begin = begin;
	hook_wait_end = end;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct qmp_client *qmp_client_free(struct qmp_client *c)
{
	if (!c)
		return NULL;
	safe_close(c->fd);
	json_stream_free(c->stream);
	for (unsigned i = 0; i < c->n_events; i++)
		json_object_put(c->events[i]);
	free(c);
	return NULL;
}

int qmp_client_fd(const struct qmp_client *c)
{
	return c->fd;
}

static void event_queue(struct qmp_client *c, struct json_object *ev)
{
	if (c->n_events == QMP_CLIENT_MAX_EVENTS) {
		log_warning("QMP event queue full, dropping the oldest event %s.",
			    qmp_event_name(c->events[0]));
		json_object_put(c->events[0]);
		memmove(c->events, c->events + 1, sizeof(c->events[0]) * (c->n_events - 1));
		c->n_events--;
	}
	c->events[c->n_events++] = ev;
}

static int read_some(struct qmp_client *c)
{
	char buf[QMP_READ_CHUNK];
	ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);

	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	if (n == 0)
		return -ECONNRESET;
	return json_stream_feed(c->stream, buf, (size_t)n);
}

/* Next complete message that is not an event (events get queued), or 0 if none yet. */
static int next_reply(struct qmp_client *c, struct json_object **ret)
{
	for (;;) {
		struct json_object *msg = NULL;
		int r = json_stream_next(c->stream, &msg);

		if (r == -EBADMSG || r == -EILSEQ) {
			log_warning("Ignoring a QMP message that is not JSON, not UTF-8 or has NUL.");
			continue;
		}
		if (r <= 0)
			return r;
		if (json_object_object_get_ex(msg, "event", NULL)) {
			event_queue(c, msg);
			continue;
		}
		*ret = msg;
		return 1;
	}
}

static int wait_readable(int fd, long long deadline)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	long long left = deadline - now_ms();
	int r;

	if (left <= 0)
		return -ETIMEDOUT;
	if (hook_wait_begin)
		hook_wait_begin();
	r = poll(&p, 1, (int)left);
	if (r < 0)
		r = -errno;
	if (hook_wait_end)
		hook_wait_end();
	if (r < 0)
		return r == -EINTR ? 0 : r;
	return r == 0 ? -ETIMEDOUT : 0;
}

static int wait_reply(struct qmp_client *c, long long deadline, struct json_object **ret)
{
	for (;;) {
		int r = next_reply(c, ret);

		if (r != 0)
			return r;
		r = wait_readable(c->fd, deadline);
		if (r < 0)
			return r;
		r = read_some(c);
		if (r < 0)
			return r;
	}
}

static int send_message(struct qmp_client *c, struct json_object *msg, int pass_fd)
{
	_cleanup_free_ char *text = json_stream_format(msg);
	char control[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	size_t len, off = 0;

	if (!text)
		return -ENOMEM;
	len = strlen(text);
	while (off < len) {
		ssize_t n;

		iov = (struct iovec){ .iov_base = text + off, .iov_len = len - off };
		if (pass_fd >= 0 && off == 0) {
			struct cmsghdr *cm;

			mh.msg_control = control;
			mh.msg_controllen = sizeof(control);
			cm = CMSG_FIRSTHDR(&mh);
			cm->cmsg_level = SOL_SOCKET;
			cm->cmsg_type = SCM_RIGHTS;
			cm->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(cm), &pass_fd, sizeof(int));
		} else {
			mh.msg_control = NULL;
			mh.msg_controllen = 0;
		}
		n = sendmsg(c->fd, &mh, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EPIPE ? -ECONNRESET : -errno;
		}
		off += (size_t)n;
	}
	return 0;
}

void qmp_error_done(struct qmp_error *e)
{
	free(e->desc);
	e->desc = NULL;
	e->error_class = QMP_ERROR_GENERIC;
}

int qmp_error_to_errno(enum qmp_error_class error_class)
{
	switch (error_class) {
	case QMP_ERROR_DEVICE_NOT_FOUND:
		return -ENODEV;
	case QMP_ERROR_COMMAND_NOT_FOUND:
		return -EOPNOTSUPP;
	default:
		return -EIO;
	}
}

static void error_read(struct json_object *err, struct qmp_error *ret)
{
	struct json_object *cls = NULL, *desc = NULL;
	enum qmp_error_class c = _QMP_ERROR_CLASS_INVALID;

	if (json_object_object_get_ex(err, "class", &cls))
		c = qmp_error_class_from_string(json_object_get_string(cls));
	json_object_object_get_ex(err, "desc", &desc);
	ret->error_class = c == _QMP_ERROR_CLASS_INVALID ? QMP_ERROR_GENERIC : c;
	ret->desc = desc ? strdup(json_object_get_string(desc)) : NULL;
}

static int reply_matches(struct json_object *reply, unsigned long long id)
{
	struct json_object *rid = NULL;

	if (!json_object_object_get_ex(reply, "id", &rid))
		return 0;
	return json_object_get_uint64(rid) == id;
}

int qmp_client_execute(struct qmp_client *c, const char *command, struct json_object *args,
		       int pass_fd, int timeout_ms, struct json_object **ret_return,
		       struct qmp_error *ret_error)
{
	_cleanup_json_ struct json_object *msg = json_object_new_object();
	unsigned long long id = ++c->next_id;
	long long deadline = now_ms() + timeout_ms;
	int r;

	if (!msg)
		return -ENOMEM;
	json_object_object_add(msg, "execute", json_object_new_string(command));
	if (args)
		json_object_object_add(msg, "arguments", json_object_get(args));
	json_object_object_add(msg, "id", json_object_new_uint64(id));
	r = send_message(c, msg, pass_fd);
	if (r < 0)
		return r;
	for (;;) {
		_cleanup_json_ struct json_object *reply = NULL;
		struct json_object *val = NULL;

		r = wait_reply(c, deadline, &reply);
		if (r < 0)
			return r;
		if (!reply_matches(reply, id)) {
			log_debug("Ignoring a QMP reply to another command.");
			continue;
		}
		if (json_object_object_get_ex(reply, "error", &val)) {
			if (ret_error)
				error_read(val, ret_error);
			return -EREMOTEIO;
		}
		if (!json_object_object_get_ex(reply, "return", &val))
			return -EBADMSG;
		if (ret_return)
			*ret_return = json_object_get(val);
		return 0;
	}
}

static int greeting_read(struct qmp_client *c, long long deadline)
{
	_cleanup_json_ struct json_object *greeting = NULL;
	int r = wait_reply(c, deadline, &greeting);

	if (r < 0)
		return r;
	if (!json_object_object_get_ex(greeting, "QMP", NULL))
		return -EPROTO;
	return 0;
}

static int socket_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_close_ int fd = -1;

	if (str_copy(sa.sun_path, sizeof(sa.sun_path), path) < 0)
		return -ENAMETOOLONG;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	return TAKE_FD(fd);
}

int qmp_client_connect(const char *path, int timeout_ms, struct qmp_client **ret)
{
	_cleanup_(qmp_client_freep) struct qmp_client *c = calloc(1, sizeof(*c));
	long long deadline = now_ms() + timeout_ms;
	int r;

	if (!c)
		return -ENOMEM;
	c->fd = -1;
	c->stream = json_stream_new(JSON_STREAM_MAX_DEFAULT);
	if (!c->stream)
		return -ENOMEM;
	c->fd = socket_connect(path);
	if (c->fd < 0)
		return c->fd;
	r = greeting_read(c, deadline);
	if (r < 0)
		return log_debug_errno(r, "No QMP greeting on %s: %m", path);
	r = qmp_client_execute(c, "qmp_capabilities", NULL, -1, (int)(deadline - now_ms()), NULL,
			       NULL);
	if (r < 0)
		return log_debug_errno(r, "QMP capabilities negotiation on %s failed: %m", path);
	*ret = TAKE_PTR(c);
	return 0;
}

int qmp_client_process(struct qmp_client *c)
{
	struct json_object *msg = NULL;
	int r = read_some(c);

	if (r < 0 && r != -EMSGSIZE)
		return r;
	while (next_reply(c, &msg) > 0) {
		log_debug("Ignoring a QMP reply nobody waits for.");
		json_object_put(msg);
	}
	return 0;
}

int qmp_client_next_event(struct qmp_client *c, struct json_object **ret)
{
	if (c->n_events == 0)
		return 0;
	*ret = c->events[0];
	memmove(c->events, c->events + 1, sizeof(c->events[0]) * (c->n_events - 1));
	c->n_events--;
	return 1;
}

static int event_take(struct qmp_client *c, const char *name, const char *device,
		      struct json_object **ret)
{
	for (unsigned i = 0; i < c->n_events; i++) {
		struct json_object *ev = c->events[i];

		if (!streq_ptr(qmp_event_name(ev), name))
			continue;
		if (device && !streq_ptr(qmp_event_device(ev), device))
			continue;
		*ret = ev;
		memmove(c->events + i, c->events + i + 1,
			sizeof(c->events[0]) * (c->n_events - i - 1));
		c->n_events--;
		return 1;
	}
	return 0;
}

int qmp_client_wait_event(struct qmp_client *c, const char *name, const char *device,
			  int timeout_ms, struct json_object **ret)
{
	long long deadline = now_ms() + timeout_ms;

	for (;;) {
		struct json_object *msg = NULL;
		int r = event_take(c, name, device, ret);

		if (r != 0)
			return r;
		r = wait_readable(c->fd, deadline);
		if (r == -ETIMEDOUT)
			return 0;
		if (r < 0)
			return r;
		r = read_some(c);
		if (r < 0)
			return r;
		while (next_reply(c, &msg) > 0)
			json_object_put(msg);
	}
}

const char *qmp_event_name(struct json_object *event)
{
	struct json_object *v = NULL;

	if (!json_object_object_get_ex(event, "event", &v))
		return NULL;
	return json_object_get_string(v);
}

const char *qmp_event_device(struct json_object *event)
{
	struct json_object *data = NULL, *v = NULL;

	if (!json_object_object_get_ex(event, "data", &data) ||
	    !json_object_object_get_ex(data, "device", &v))
		return NULL;
	return json_object_get_string(v);
}
