/* org.mvirt.Domain1: one domain's D-Bus object, dispatched to by manager-dbus.c. */
#pragma once

#include <dbus/dbus.h>
#include <stdbool.h>

#include "manager.h"

DBusHandlerResult domain_dbus_message(DBusConnection *conn, DBusMessage *msg, struct domain *d);
/* A domain's interfaces with their properties (a{sa{sv}}), as ObjectManager reports them. */
bool domain_dbus_append_interfaces(DBusMessageIter *it, struct domain *d);
/* Their names (as), for InterfacesRemoved. */
bool domain_dbus_append_interface_names(DBusMessageIter *it);
void domain_dbus_emit_state(DBusConnection *conn, struct domain *d);
void domain_dbus_emit_autostart(DBusConnection *conn, struct domain *d);
void domain_dbus_emit_device(DBusConnection *conn, struct domain *d, enum device_event ev,
			     const char *alias);
