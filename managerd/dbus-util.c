/* libdbus glue for mvirtd's own loop, and the pieces both adapters use. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dbus-util.h"
#include "domain-conf.h"
#include "i18n.h"
#include "log.h"
#include "util.h"

static struct loop *glue_loop;

static void on_watch(int fd, short revents, void *userdata)
{
	unsigned flags = 0;

	if (revents & POLLIN)
		flags |= DBUS_WATCH_READABLE;
	if (revents & POLLOUT)
		flags |= DBUS_WATCH_WRITABLE;
	if (revents & POLLERR)
		flags |= DBUS_WATCH_ERROR;
	if (revents & POLLHUP)
		flags |= DBUS_WATCH_HANGUP;
	dbus_watch_handle(userdata, flags);
}

static short watch_events(DBusWatch *w)
{
	unsigned f = dbus_watch_get_flags(w);
	short ev = 0;

	if (!dbus_watch_get_enabled(w))
		return 0;
	if (f & DBUS_WATCH_READABLE)
		ev |= POLLIN;
	if (f & DBUS_WATCH_WRITABLE)
		ev |= POLLOUT;
	return ev;
}

static dbus_bool_t watch_add(DBusWatch *w, void *data)
{
	return loop_add_io(glue_loop, w, dbus_watch_get_unix_fd(w), watch_events(w), on_watch, w) >= 0;
}

static void watch_remove(DBusWatch *w, void *data)
{
	loop_remove(glue_loop, w);
}

static void watch_toggle(DBusWatch *w, void *data)
{
	loop_set_io_events(glue_loop, w, watch_events(w));
}

static void on_timeout(void *userdata)
{
	dbus_timeout_handle(userdata);
}

static dbus_bool_t timeout_add(DBusTimeout *t, void *data)
{
	if (!dbus_timeout_get_enabled(t))
		return TRUE;
	return loop_add_timer(glue_loop, t, dbus_timeout_get_interval(t), true, on_timeout, t) >= 0;
}

static void timeout_remove(DBusTimeout *t, void *data)
{
	loop_remove(glue_loop, t);
}

static void timeout_toggle(DBusTimeout *t, void *data)
{
	timeout_remove(t, data);
	(void)timeout_add(t, data);
}

static void on_idle(void *userdata)
{
	DBusConnection *conn = userdata;

	while (dbus_connection_dispatch(conn) == DBUS_DISPATCH_DATA_REMAINS)
		;
	dbus_connection_flush(conn);
}

int dbus_loop_attach(DBusConnection *conn, struct loop *loop)
{
	glue_loop = loop;
	if (!dbus_connection_set_watch_functions(conn, watch_add, watch_remove, watch_toggle, NULL,
						 NULL) ||
	    !dbus_connection_set_timeout_functions(conn, timeout_add, timeout_remove, timeout_toggle,
						   NULL, NULL))
		return -ENOMEM;
	loop_set_idle(loop, on_idle, conn);
	return 0;
}

static const struct {
	int err;
	const char *name;
} error_names[] = {
	{ ENOENT, "org.mvirt.Error.NotFound" },
	{ EINVAL, "org.mvirt.Error.InvalidArgument" },
	{ EPERM, "org.mvirt.Error.InvalidArgument" },
	{ EBADMSG, "org.mvirt.Error.InvalidXML" },
	{ EEXIST, "org.mvirt.Error.AlreadyExists" },
	{ EALREADY, "org.mvirt.Error.InvalidState" },
	{ ENOSPC, "org.mvirt.Error.NoFreeSlot" },
	{ EBUSY, "org.mvirt.Error.Busy" },
};

const char *dbus_error_name_from_errno(int err)
{
	for (size_t i = 0; i < ELEMENTSOF(error_names); i++)
		if (error_names[i].err == abs(err))
			return error_names[i].name;
	return "org.mvirt.Error.Failed";
}

DBusHandlerResult dbus_reply_errno(DBusConnection *conn, DBusMessage *msg, int err,
				   const char *text)
{
	_cleanup_dbus_message_ DBusMessage *reply = NULL;
	char generic[256];

	if (!text) {
		snprintf(generic, sizeof(generic), _("The operation failed: %s."), strerror(abs(err)));
		text = generic;
	}
	reply = dbus_message_new_error(msg, dbus_error_name_from_errno(err), text);
	if (!reply || !dbus_connection_send(conn, reply, NULL))
		return DBUS_HANDLER_RESULT_NEED_MEMORY;
	return DBUS_HANDLER_RESULT_HANDLED;
}

DBusHandlerResult dbus_reply_error(DBusConnection *conn, DBusMessage *msg, const char *name,
				   const char *text)
{
	_cleanup_dbus_message_ DBusMessage *reply = dbus_message_new_error(msg, name, text);

	if (!reply || !dbus_connection_send(conn, reply, NULL))
		return DBUS_HANDLER_RESULT_NEED_MEMORY;
	return DBUS_HANDLER_RESULT_HANDLED;
}

DBusHandlerResult dbus_reply_empty(DBusConnection *conn, DBusMessage *msg)
{
	_cleanup_dbus_message_ DBusMessage *reply = dbus_message_new_method_return(msg);

	if (!reply || !dbus_connection_send(conn, reply, NULL))
		return DBUS_HANDLER_RESULT_NEED_MEMORY;
	return DBUS_HANDLER_RESULT_HANDLED;
}

DBusHandlerResult dbus_reply_invalid_args(DBusConnection *conn, DBusMessage *msg)
{
	_cleanup_dbus_message_ DBusMessage *reply = NULL;
	char text[256];

	snprintf(text, sizeof(text), _("Method %s takes arguments of signature '%s'."),
		 dbus_message_get_member(msg), dbus_message_get_signature(msg));
	reply = dbus_message_new_error(msg, DBUS_ERROR_INVALID_ARGS, text);
	if (!reply || !dbus_connection_send(conn, reply, NULL))
		return DBUS_HANDLER_RESULT_NEED_MEMORY;
	return DBUS_HANDLER_RESULT_HANDLED;
}

const char *dbus_introspection_xml(const char *file)
{
	static struct {
		char name[64];
		char *text;
	} cache[4];
	char path[512];
	size_t i;

	for (i = 0; i < ELEMENTSOF(cache) && cache[i].text; i++)
		if (streq(cache[i].name, file))
			return cache[i].text;
	if (i == ELEMENTSOF(cache))
		return NULL;
	snprintf(path, sizeof(path), "%s/%s", conf_schema_dir(), file);
	if (read_file(path, DBUS_INTROSPECT_MAX, &cache[i].text, NULL) < 0) {
		log_warning("Cannot read introspection data %s: %m.", path);
		return NULL;
	}
	str_copy(cache[i].name, sizeof(cache[i].name), file);
	return cache[i].text;
}

DBusHandlerResult dbus_reply_introspect(DBusConnection *conn, DBusMessage *msg, const char *file)
{
	_cleanup_dbus_message_ DBusMessage *reply = NULL;
	const char *xml = dbus_introspection_xml(file);

	if (!xml)
		return dbus_reply_errno(conn, msg, -ENOENT, _("The interface description is missing."));
	reply = dbus_message_new_method_return(msg);
	if (!reply || !dbus_message_append_args(reply, DBUS_TYPE_STRING, &xml, DBUS_TYPE_INVALID) ||
	    !dbus_connection_send(conn, reply, NULL))
		return DBUS_HANDLER_RESULT_NEED_MEMORY;
	return DBUS_HANDLER_RESULT_HANDLED;
}

void dbus_domain_path(const char *uuid, char *buf, size_t size)
{
	size_t n = (size_t)snprintf(buf, size, "%s/_%s", MVIRT_DOMAIN_PATH_PREFIX, uuid);

	for (size_t i = strlen(MVIRT_DOMAIN_PATH_PREFIX); i < n && i < size; i++)
		if (buf[i] == '-')
			buf[i] = '_';
}

int dbus_domain_uuid_from_path(const char *path, char *buf, size_t size)
{
	const char *p;

	if (!startswith(path, MVIRT_DOMAIN_PATH_PREFIX "/_"))
		return -ENOENT;
	p = path + strlen(MVIRT_DOMAIN_PATH_PREFIX "/_");
	if (str_copy(buf, size, p) < 0)
		return -ENOENT;
	for (char *c = buf; *c; c++)
		if (*c == '_')
			*c = '-';
	return 0;
}
