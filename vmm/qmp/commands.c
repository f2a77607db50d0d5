/* The QMP commands that are not hot-plug: capabilities, queries, run state, fds. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "i18n.h"
#include "log.h"
#include "qmp-internal.h"
#include "util.h"

static int cmd_qmp_capabilities(struct qmp_request *r, struct json_object *args,
	struct json_object **ret)
{
	struct json_object *enable;

	/* Optional (the guide's clients never send it), but only once, as in QEMU: a client
	 * that negotiates twice is told so instead of seeing a silent success. */
	if (r->client && r->client->negotiated)
		return qmp_fail(r, QMP_ERROR_COMMAND_NOT_FOUND, -EALREADY,
			_("Capabilities negotiation is already complete; the command was "
			  "ignored."));
	if (args && json_object_object_get_ex(args, "enable", &enable) &&
		json_object_array_length(enable) > 0)
		return qmp_fail(r, QMP_ERROR_GENERIC, -EOPNOTSUPP,
			_("mvirt-vmm offers no QMP capabilities; call qmp_capabilities without "
			  "\"enable\"."));
	if (r->client)
		r->client->negotiated = true;
	return 0;
}

static int cmd_query_commands(struct qmp_request *r, struct json_object *args,
	struct json_object **ret)
{
	struct json_object *list = json_object_new_array();

	for (size_t i = 0; i < qmp_command_count(); i++) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "name", json_object_new_string(qmp_command_at(i)->name));
		json_object_array_add(list, o);
	}
	*ret = list;
	return 0;
}

static int cmd_query_version(struct qmp_request *r, struct json_object *args,
	struct json_object **ret)
{
	struct json_object *v = json_object_new_object(), *qemu = json_object_new_object();

	json_object_object_add(qemu, "major", json_object_new_int(7));
	json_object_object_add(qemu, "minor", json_object_new_int(2));
	json_object_object_add(qemu, "micro", json_object_new_int(0));
	json_object_object_add(v, "qemu", qemu);
	json_object_object_add(v, "package", json_object_new_string("mvirt-" PACKAGE_VERSION));
	*ret = v;
	return 0;
}

static const char *vm_status(struct qmp_server *s)
{
	const char *st = s->vm.status ? s->vm.status(s->vm.opaque) : NULL;

	return st ? st : "running";
}

static int cmd_query_status(struct qmp_request *r, struct json_object *args,
	struct json_object **ret)
{
	const char *st = vm_status(r->server);
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "status", json_object_new_string(st));
	json_object_object_add(o, "singlestep", json_object_new_boolean(false));
	json_object_object_add(o, "running", json_object_new_boolean(streq(st, "running")));
	*ret = o;
	return 0;
}

/* stop and cont: the VM tells whether the state changed; only a change is an event. */
static int run_state(struct qmp_request *r, bool stop)
{
	int (*fn)(void *) = stop ? r->server->vm.stop : r->server->vm.cont;
	int err;

	if (!fn)
		return qmp_fail(r, QMP_ERROR_GENERIC, -EOPNOTSUPP,
			stop ? _("This VM cannot be paused through QMP.")
			     : _("This VM cannot be resumed through QMP."));
	err = fn(r->server->vm.opaque);
	if (err < 0)
		return qmp_fail(r, QMP_ERROR_GENERIC, err,
			stop ? _("The VM could not be paused: %s.")
			     : _("The VM could not be resumed: %s."), strerror(-err));
	if (err == 0)
		qmp_server_emit(r->server, stop ? "STOP" : "RESUME", NULL);
	return 0;
}

static int cmd_stop(struct qmp_request *r, struct json_object *args, struct json_object **ret)
{
	return run_state(r, true);
}

static int cmd_cont(struct qmp_request *r, struct json_object *args, struct json_object **ret)
{
	return run_state(r, false);
}

static int cmd_system_powerdown(struct qmp_request *r, struct json_object *args,
	struct json_object **ret)
{
	int err;

	if (!r->server->vm.powerdown)
		return qmp_fail(r, QMP_ERROR_GENERIC, -EOPNOTSUPP,
			_("This VM has no power button; use quit to end it."));
	err = r->server->vm.powerdown(r->server->vm.opaque);
	if (err < 0)
		return qmp_fail(r, QMP_ERROR_GENERIC, err,
			_("The power button could not be pressed: "
			  "%s."), strerror(-err));
	qmp_server_emit(r->server, "POWERDOWN", NULL);
	return 0;
}

static void quit_after_reply(struct qmp_request *r)
{
	struct json_object *data = json_object_new_object();

	json_object_object_add(data, "guest", json_object_new_boolean(false));
	json_object_object_add(data, "reason", json_object_new_string("host-qmp-quit"));
	qmp_server_emit(r->server, "SHUTDOWN", data);
	if (r->server->vm.quit)
		r->server->vm.quit(r->server->vm.opaque);
}

static int cmd_quit(struct qmp_request *r, struct json_object *args, struct json_object **ret)
{
	if (!r->server->vm.quit)
		return qmp_fail(r, QMP_ERROR_GENERIC, -EOPNOTSUPP,
			_("This VM cannot be ended by QMP."));
	r->after = quit_after_reply;
	return 0;
}

static int cmd_getfd(struct qmp_request *r, struct json_object *args, struct json_object **ret)
{
	const char *name = qmp_arg_str(args, "fdname");
	struct qmp_client *c = r->client;
	struct qmp_named_fd *slot = NULL;

	if (isempty(name) || strlen(name) > MVIRT_FDNAME_MAX)
		return qmp_fail(r, QMP_ERROR_GENERIC, -EINVAL,
			_("The fdname \"%s\" must be 1 to %d "
			  "characters long."), name,
			MVIRT_FDNAME_MAX);
	if (!c->fds_offered || c->n_pending_fds == 0)
		return qmp_fail(r, QMP_ERROR_GENERIC, -EBADF,
			_("No file descriptor came with getfd \"%s\"; send one with SCM_RIGHTS "
			  "along with the command."), name);
	for (int i = 0; i < QMP_FDS_MAX && !slot; i++)
		if (c->fds[i].fd >= 0 && streq(c->fds[i].name, name))
			slot = &c->fds[i];
	for (int i = 0; i < QMP_FDS_MAX && !slot; i++)
		if (c->fds[i].fd < 0)
			slot = &c->fds[i];
	if (!slot)
		return qmp_fail(r, QMP_ERROR_GENERIC, -ENOSPC,
			_("This client has named %d file descriptors already; release one with "
			  "closefd."),
			QMP_FDS_MAX);
	/* A name given again replaces its descriptor, as QEMU does. */
	safe_close(slot->fd);
	str_copy(slot->name, sizeof(slot->name), name);
	slot->fd = c->pending_fds[0];
	memmove(c->pending_fds, c->pending_fds + 1, --c->n_pending_fds * sizeof(int));
	return 0;
}

int qmp_fd_lookup(struct qmp_client *c, const char *name)
{
	for (int i = 0; c && i < QMP_FDS_MAX; i++)
		if (c->fds[i].fd >= 0 && streq(c->fds[i].name, name))
			return c->fds[i].fd;
	return -ENOENT;
}

void qmp_fd_release(struct qmp_client *c, const char *name)
{
	for (int i = 0; c && i < QMP_FDS_MAX; i++)
		if (c->fds[i].fd >= 0 && streq(c->fds[i].name, name))
			c->fds[i].fd = safe_close(c->fds[i].fd);
}

static int cmd_closefd(struct qmp_request *r, struct json_object *args, struct json_object **ret)
{
	const char *name = qmp_arg_str(args, "fdname");

	if (qmp_fd_lookup(r->client, name) < 0)
		return qmp_fail(r, QMP_ERROR_GENERIC, -ENOENT,
			_("No file descriptor is named \"%s\"; getfd names one."), name);
	qmp_fd_release(r->client, name);
	return 0;
}

static const struct qmp_arg caps_args[] = { { "enable", QMP_TYPE_ARRAY, false, NULL }, { 0 } };
static const struct qmp_arg fd_args[] = { { "fdname", QMP_TYPE_STR, true, NULL }, { 0 } };

static const struct qmp_command base_commands[] = {
	{ "qmp_capabilities", cmd_qmp_capabilities, caps_args },
	{ "query-commands", cmd_query_commands, NULL },
	{ "query-version", cmd_query_version, NULL },
	{ "query-status", cmd_query_status, NULL },
	{ "stop", cmd_stop, NULL },
	{ "cont", cmd_cont, NULL },
	{ "system_powerdown", cmd_system_powerdown, NULL },
	{ "quit", cmd_quit, NULL },
	{ "getfd", cmd_getfd, fd_args },
	{ "closefd", cmd_closefd, fd_args },
};

size_t qmp_command_count(void)
{
	return ELEMENTSOF(base_commands) + qmp_hotplug_command_count;
}

const struct qmp_command *qmp_command_at(size_t i)
{
	if (i < ELEMENTSOF(base_commands))
		return &base_commands[i];
	i -= ELEMENTSOF(base_commands);
	return i < qmp_hotplug_command_count ? &qmp_hotplug_commands[i] : NULL;
}

const struct qmp_command *qmp_command_find(const char *name)
{
	for (size_t i = 0; i < qmp_command_count(); i++)
		if (streq(qmp_command_at(i)->name, name))
			return qmp_command_at(i);
	return NULL;
}
