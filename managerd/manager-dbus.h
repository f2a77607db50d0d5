/* The D-Bus face of mvirtd: org.mvirt.Manager1 on /org/mvirt/Manager1 and the domains. */
#pragma once

#include <dbus/dbus.h>

#include "manager.h"

/* Registers the objects on conn and hooks the manager's notifications to signals. */
int manager_dbus_register(DBusConnection *conn, struct manager *m);

/* domain-dbus.c */
DBusHandlerResult domain_dbus_message(DBusConnection *conn, DBusMessage *msg, struct domain *d);
/* A domain's interfaces with their properties (a{sa{sv}}), as ObjectManager reports them. */
bool domain_dbus_append_interfaces(DBusMessageIter *it, struct domain *d);
/* Their names (as), for InterfacesRemoved. */
bool domain_dbus_append_interface_names(DBusMessageIter *it);
void domain_dbus_emit_state(DBusConnection *conn, struct domain *d);
void domain_dbus_emit_autostart(DBusConnection *conn, struct domain *d);
void domain_dbus_emit_device(DBusConnection *conn, struct domain *d, enum device_event ev,
			     const char *alias);
