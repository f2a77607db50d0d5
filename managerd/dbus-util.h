/* What the D-Bus adapters share: the loop glue, error mapping, introspection data. */
#pragma once

#include <dbus/dbus.h>

#include "loop.h"

#define MVIRT_BUS_NAME "org.mvirt.Manager1"
#define MVIRT_MANAGER_PATH "/org/mvirt/Manager1"
#define MVIRT_DOMAIN_PATH_PREFIX "/org/mvirt/Manager1/domain"
#define MVIRT_MANAGER_IFACE "org.mvirt.Manager1"
#define MVIRT_DOMAIN_IFACE "org.mvirt.Domain1"
#ifndef DBUS_INTERFACE_OBJECT_MANAGER /* libdbus names it only since 1.13 */
#define DBUS_INTERFACE_OBJECT_MANAGER "org.freedesktop.DBus.ObjectManager"
#endif
/* The bus refuses bigger messages anyway; introspection files are far smaller. */
#define DBUS_INTROSPECT_MAX (256 * 1024)

static inline void dbus_message_unrefp(DBusMessage **m)
{
	if (*m)
		dbus_message_unref(*m);
}
#define _cleanup_dbus_message_ __attribute__((cleanup(dbus_message_unrefp)))

/* Drives conn from loop: watches, timeouts and dispatch after each round. */
int dbus_loop_attach(DBusConnection *conn, struct loop *loop);

/* org.mvirt.Error.* for a -errno from the logic (see manager.h). */
const char *dbus_error_name_from_errno(int err);
/* An error reply with that name and text (or a generic sentence when text is NULL). */
DBusHandlerResult dbus_reply_errno(DBusConnection *conn, DBusMessage *msg, int err,
				   const char *text);
/* An error reply with a standard name (org.freedesktop.DBus.Error.*) and a sentence. */
DBusHandlerResult dbus_reply_error(DBusConnection *conn, DBusMessage *msg, const char *name,
				   const char *text);
DBusHandlerResult dbus_reply_empty(DBusConnection *conn, DBusMessage *msg);
DBusHandlerResult dbus_reply_invalid_args(DBusConnection *conn, DBusMessage *msg);

/* The contents of schemas/<file> ($MVIRT_SCHEMAS or SCHEMADIR), cached; NULL if unreadable. */
const char *dbus_introspection_xml(const char *file);
DBusHandlerResult dbus_reply_introspect(DBusConnection *conn, DBusMessage *msg, const char *file);

/* "/org/mvirt/Manager1/domain/_<uuid, - as _>" into buf; and back to a uuid. */
void dbus_domain_path(const char *uuid, char *buf, size_t size);
int dbus_domain_uuid_from_path(const char *path, char *buf, size_t size);
