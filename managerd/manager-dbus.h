/* The D-Bus face of mvirtd: org.mvirt.Manager1 on /org/mvirt/Manager1 and the domains. */
#pragma once

#include <dbus/dbus.h>

struct manager;

/* Registers the objects on conn and hooks the manager's notifications to signals. */
int manager_dbus_register(DBusConnection *conn, struct manager *m);
