/*
 * mvirtctl's side of mvirtd's D-Bus API (names in DESIGN.md): connecting,
 * calling a method, reading properties, and turning a D-Bus error into the
 * daemon's sentence.
 */
#pragma once

#include <dbus/dbus.h>
#include <stdbool.h>
#include <stdint.h>

#include "args.h"
#include "cleanup.h"
#include "output.h"

#define MVIRT_BUS_NAME "org.mvirt.Manager1"
#define MVIRT_MANAGER_PATH "/org/mvirt/Manager1"
#define MVIRT_MANAGER_IFACE "org.mvirt.Manager1"
#define MVIRT_DOMAIN_IFACE "org.mvirt.Domain1"
#define MVIRT_DOMAIN_PATH_PREFIX "/org/mvirt/Manager1/domain/"
#define DBUS_PROPERTIES_IFACE "org.freedesktop.DBus.Properties"

/* A call that takes longer than this has lost the daemon: start and attach are a few seconds. */
#define CTL_CALL_TIMEOUT_MS (120 * 1000)
/* At most this many domains are listed. */
#define CTL_LIST_MAX 4096

static inline void dbus_message_unrefp(DBusMessage **m)
{
	if (*m)
		dbus_message_unref(*m);
}
#define _cleanup_message_ _cleanup_(dbus_message_unrefp)

/* mvirtctl's connections are private: libdbus wants them closed before the last unref. */
static inline void dbus_connection_closep(DBusConnection **c)
{
	if (*c) {
		dbus_connection_close(*c);
		dbus_connection_unref(*c);
	}
}
#define _cleanup_connection_ _cleanup_(dbus_connection_closep)

/* Why a call failed: the D-Bus error name and the daemon's sentence. */
struct ctl_bus_error {
	char name[128];
	char message[1024];
};

int ctl_bus_open(const struct ctl_args *a, DBusConnection **ret, struct ctl_bus_error *err);

/* Calls path's iface.method with the arguments (dbus_message_append_args style, ends with
 * DBUS_TYPE_INVALID). Returns 0 with the reply (if ret_reply) or -EIO with *err filled. */
int ctl_bus_call(DBusConnection *c, const char *path, const char *iface, const char *method,
		 DBusMessage **ret_reply, struct ctl_bus_error *err, int first_type, ...);

/* The object path of DOM, a UUID or a name; *ret is the caller's to free. */
int ctl_bus_lookup(DBusConnection *c, const char *dom, char **ret, struct ctl_bus_error *err);

int ctl_bus_domain_info(DBusConnection *c, const char *path, struct ctl_domain_info *ret,
			struct ctl_bus_error *err);

/* Turns a reply's {sv} array at iter into info fields it knows; others are skipped. */
int ctl_bus_read_properties(DBusMessageIter *array, struct ctl_domain_info *info);

/* The exit status for a failed call: 1, the daemon refused or the operation failed. */
int ctl_bus_error_print(const char *subject, const struct ctl_bus_error *err);
