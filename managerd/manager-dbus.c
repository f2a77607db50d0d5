/* org.mvirt.Manager1: define, lookup and list; dispatch of domain objects by path. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dbus-util.h"
#include "domain-conf.h"
#include "domain-dbus.h"
#include "domain.h"
#include "i18n.h"
#include "manager-dbus.h"
#include "manager.h"
#include "util.h"

static DBusHandlerResult reply_path(DBusConnection *conn, DBusMessage *msg, struct domain *d)
{
	_cleanup_dbus_message_ DBusMessage *reply = dbus_message_new_method_return(msg);
	char path[256];
	const char *p = path;

	dbus_domain_path(d->uuid, path, sizeof(path));
	if (!reply || !dbus_message_append_args(reply, DBUS_TYPE_OBJECT_PATH, &p, DBUS_TYPE_INVALID) ||
	    !dbus_connection_send(conn, reply, NULL))
		return DBUS_HANDLER_RESULT_NEED_MEMORY;
	return DBUS_HANDLER_RESULT_HANDLED;
}

static DBusHandlerResult method_define(DBusConnection *conn, DBusMessage *msg, struct manager *m)
{
	_cleanup_free_ char *err = NULL;
	const char *xml;
	struct domain *d;
	int r;

	if (!dbus_message_get_args(msg, NULL, DBUS_TYPE_STRING, &xml, DBUS_TYPE_INVALID))
		return dbus_reply_invalid_args(conn, msg);
	r = manager_define(m, xml, &d, &err);
	if (r < 0)
		return dbus_reply_errno(conn, msg, r, err);
	return reply_path(conn, msg, d);
}

static DBusHandlerResult method_lookup(DBusConnection *conn, DBusMessage *msg, struct manager *m,
				       bool by_uuid)
{
	const char *key;
	struct domain *d;
	char text[256];

	if (!dbus_message_get_args(msg, NULL, DBUS_TYPE_STRING, &key, DBUS_TYPE_INVALID))
		return dbus_reply_invalid_args(conn, msg);
	d = by_uuid ? manager_lookup_uuid(m, key) : manager_lookup_name(m, key);
	if (d)
		return reply_path(conn, msg, d);
	if (by_uuid && !uuid_is_valid(key)) {
		snprintf(text, sizeof(text), _("%.64s is not a UUID (8-4-4-4-12 hex digits)."), key);
		return dbus_reply_errno(conn, msg, -EINVAL, text);
	}
	snprintf(text, sizeof(text),
		 by_uuid ? _("No domain has UUID %.64s.") : _("No domain is called %.64s."), key);
	return dbus_reply_errno(conn, msg, -ENOENT, text);
}

static DBusHandlerResult method_list(DBusConnection *conn, DBusMessage *msg, struct manager *m)
{
	_cleanup_dbus_message_ DBusMessage *reply = dbus_message_new_method_return(msg);
	DBusMessageIter it, arr;

	if (!reply)
		return DBUS_HANDLER_RESULT_NEED_MEMORY;
	dbus_message_iter_init_append(reply, &it);
	if (!dbus_message_iter_open_container(&it, DBUS_TYPE_ARRAY, "o", &arr))
		return DBUS_HANDLER_RESULT_NEED_MEMORY;
	for (struct domain *d = manager_first(m); d; d = d->next) {
		char path[256];
		const char *p = path;

		dbus_domain_path(d->uuid, path, sizeof(path));
		if (!dbus_message_iter_append_basic(&arr, DBUS_TYPE_OBJECT_PATH, &p)) {
			dbus_message_iter_abandon_container(&it, &arr);
			return DBUS_HANDLER_RESULT_NEED_MEMORY;
		}
	}
	if (!dbus_message_iter_close_container(&it, &arr) || !dbus_connection_send(conn, reply, NULL))
		return DBUS_HANDLER_RESULT_NEED_MEMORY;
	return DBUS_HANDLER_RESULT_HANDLED;
}

/* The last segment of a domain's path: its child <node name=> under .../domain. */
static const char *domain_node_name(const char *path)
{
	return path + strlen(MVIRT_DOMAIN_PATH_PREFIX "/");
}

/* .../domain itself: an object with no interface of its own, whose children are the domains. */
static const char domains_node_head[] =
	"<!DOCTYPE node PUBLIC \"-//freedesktop//DTD D-BUS Object Introspection 1.0//EN\"\n"
	" \"http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd\">\n"
	"<!-- The domains: each child node is one, with org.mvirt.Domain1. -->\n"
	"<node>\n"
	"  <interface name=\"org.freedesktop.DBus.Introspectable\">\n"
	"    <method name=\"Introspect\">\n"
	"      <arg name=\"xml_data\" type=\"s\" direction=\"out\"/>\n"
	"    </method>\n"
	"  </interface>\n"
	"  <interface name=\"org.freedesktop.DBus.Peer\">\n"
	"    <method name=\"Ping\"/>\n"
	"    <method name=\"GetMachineId\">\n"
	"      <arg name=\"machine_uuid\" type=\"s\" direction=\"out\"/>\n"
	"    </method>\n"
	"  </interface>\n";

/*
 * Introspection with the child nodes that make the tree walkable (busctl tree, d-feet): the
 * manager's file plus <node name="domain"/>, or for .../domain one <node> per domain.
 */
static DBusHandlerResult reply_introspect_tree(DBusConnection *conn, DBusMessage *msg,
					       struct manager *m, bool domains)
{
	_cleanup_dbus_message_ DBusMessage *reply = NULL;
	_cleanup_free_ char *text = NULL;
	const char *xml = domains ? domains_node_head
				  : dbus_introspection_xml("org.mvirt.Manager1.xml");
	const char *end = NULL, *p;
	size_t size = 0;
	FILE *f;

	for (p = xml; p && (p = strstr(p, "</node>")); p++)
		end = p;
	if (!xml || (!domains && !end))
		return dbus_reply_errno(conn, msg, -ENOENT, _("The interface description is missing."));
	f = open_memstream(&text, &size);
	if (!f)
		return DBUS_HANDLER_RESULT_NEED_MEMORY;
	fwrite(xml, 1, domains ? strlen(xml) : (size_t)(end - xml), f);
	if (!domains)
		fputs("  <node name=\"domain\"/>\n", f);
	for (struct domain *d = domains ? manager_first(m) : NULL; d; d = d->next) {
		char path[256];

		dbus_domain_path(d->uuid, path, sizeof(path));
		fprintf(f, "  <node name=\"%s\"/>\n", domain_node_name(path));
	}
	fputs("</node>\n", f);
	if (fclose(f) != 0 || !text)
		return DBUS_HANDLER_RESULT_NEED_MEMORY;
	reply = dbus_message_new_method_return(msg);
	if (!reply || !dbus_message_append_args(reply, DBUS_TYPE_STRING, &text, DBUS_TYPE_INVALID) ||
	    !dbus_connection_send(conn, reply, NULL))
		return DBUS_HANDLER_RESULT_NEED_MEMORY;
	return DBUS_HANDLER_RESULT_HANDLED;
}

/* org.freedesktop.DBus.ObjectManager.GetManagedObjects: every domain with its properties. */
static DBusHandlerResult method_managed_objects(DBusConnection *conn, DBusMessage *msg,
						struct manager *m)
{
	_cleanup_dbus_message_ DBusMessage *reply = dbus_message_new_method_return(msg);
	DBusMessageIter it, arr, e;

	if (!reply)
		return DBUS_HANDLER_RESULT_NEED_MEMORY;
	dbus_message_iter_init_append(reply, &it);
	if (!dbus_message_iter_open_container(&it, DBUS_TYPE_ARRAY, "{oa{sa{sv}}}", &arr))
		return DBUS_HANDLER_RESULT_NEED_MEMORY;
	for (struct domain *d = manager_first(m); d; d = d->next) {
		char path[256];
		const char *p = path;

		dbus_domain_path(d->uuid, path, sizeof(path));
		if (!dbus_message_iter_open_container(&arr, DBUS_TYPE_DICT_ENTRY, NULL, &e) ||
		    !dbus_message_iter_append_basic(&e, DBUS_TYPE_OBJECT_PATH, &p) ||
		    !domain_dbus_append_interfaces(&e, d) ||
		    !dbus_message_iter_close_container(&arr, &e)) {
			dbus_message_iter_abandon_container(&it, &arr);
			return DBUS_HANDLER_RESULT_NEED_MEMORY;
		}
	}
	if (!dbus_message_iter_close_container(&it, &arr) || !dbus_connection_send(conn, reply, NULL))
		return DBUS_HANDLER_RESULT_NEED_MEMORY;
	return DBUS_HANDLER_RESULT_HANDLED;
}

static DBusHandlerResult method_lookup_name(DBusConnection *conn, DBusMessage *msg,
					    struct manager *m)
{
	return method_lookup(conn, msg, m, false);
}

static DBusHandlerResult method_lookup_uuid(DBusConnection *conn, DBusMessage *msg,
					    struct manager *m)
{
	return method_lookup(conn, msg, m, true);
}

/* The methods of the manager object (schemas/org.mvirt.Manager1.xml and ObjectManager). */
static const struct manager_method {
	const char *iface;
	const char *name;
	DBusHandlerResult (*call)(DBusConnection *conn, DBusMessage *msg, struct manager *m);
} manager_methods[] = {
	{ DBUS_INTERFACE_OBJECT_MANAGER, "GetManagedObjects", method_managed_objects },
	{ MVIRT_MANAGER_IFACE, "DefineXML", method_define },
	{ MVIRT_MANAGER_IFACE, "LookupByName", method_lookup_name },
	{ MVIRT_MANAGER_IFACE, "LookupByUUID", method_lookup_uuid },
	{ MVIRT_MANAGER_IFACE, "ListDomains", method_list },
};

static DBusHandlerResult manager_message(DBusConnection *conn, DBusMessage *msg, void *data)
{
	struct manager *m = data;

	if (dbus_message_is_method_call(msg, DBUS_INTERFACE_INTROSPECTABLE, "Introspect"))
		return reply_introspect_tree(conn, msg, m, false);
	for (size_t i = 0; i < ELEMENTSOF(manager_methods); i++)
		if (dbus_message_is_method_call(msg, manager_methods[i].iface, manager_methods[i].name))
			return manager_methods[i].call(conn, msg, m);
	return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
}

static DBusHandlerResult domains_message(DBusConnection *conn, DBusMessage *msg, void *data)
{
	struct manager *m = data;
	char uuid[64], text[320];
	struct domain *d;

	if (streq_ptr(dbus_message_get_path(msg), MVIRT_DOMAIN_PATH_PREFIX) &&
	    dbus_message_is_method_call(msg, DBUS_INTERFACE_INTROSPECTABLE, "Introspect"))
		return reply_introspect_tree(conn, msg, m, true);
	if (dbus_domain_uuid_from_path(dbus_message_get_path(msg), uuid, sizeof(uuid)) < 0 ||
	    !(d = manager_lookup_uuid(m, uuid))) {
		if (dbus_message_get_type(msg) != DBUS_MESSAGE_TYPE_METHOD_CALL)
			return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
		/* The standard name, whatever the interface: D-Bus tools expect it. */
		snprintf(text, sizeof(text), _("No domain lives at object path %.200s."),
			 dbus_message_get_path(msg));
		return dbus_reply_error(conn, msg, DBUS_ERROR_UNKNOWN_OBJECT, text);
	}
	return domain_dbus_message(conn, msg, d);
}


/* ObjectManager's signals, sent from the manager object, so clients need not poll. */
static void interfaces_signal(struct domain *d, DBusConnection *conn, const char *member,
			      bool added)
{
	_cleanup_dbus_message_ DBusMessage *sig = NULL;
	DBusMessageIter it;
	char path[256];
	const char *p = path;

	dbus_domain_path(d->uuid, path, sizeof(path));
	sig = dbus_message_new_signal(MVIRT_MANAGER_PATH, DBUS_INTERFACE_OBJECT_MANAGER, member);
	if (!sig)
		return;
	dbus_message_iter_init_append(sig, &it);
	if (dbus_message_iter_append_basic(&it, DBUS_TYPE_OBJECT_PATH, &p) &&
	    (added ? domain_dbus_append_interfaces(&it, d) : domain_dbus_append_interface_names(&it)))
		dbus_connection_send(conn, sig, NULL);
}

static void on_domain_added(struct domain *d, void *userdata)
{
	interfaces_signal(d, userdata, "InterfacesAdded", true);
}

static void on_domain_removed(struct domain *d, void *userdata)
{
	interfaces_signal(d, userdata, "InterfacesRemoved", false);
}

static void on_state(struct domain *d, void *userdata)
{
	domain_dbus_emit_state(userdata, d);
}

static void on_autostart(struct domain *d, void *userdata)
{
	domain_dbus_emit_autostart(userdata, d);
}

static void on_device(struct domain *d, enum device_event ev, const char *alias, void *userdata)
{
	domain_dbus_emit_device(userdata, d, ev, alias);
}

int manager_dbus_register(DBusConnection *conn, struct manager *m)
{
	static const DBusObjectPathVTable manager_vt = { .message_function = manager_message };
	static const DBusObjectPathVTable domains_vt = { .message_function = domains_message };
	static const struct manager_notify notify = {
		.domain_added = on_domain_added,
		.domain_removed = on_domain_removed,
		.state_changed = on_state,
		.autostart_changed = on_autostart,
		.device = on_device,
	};

	if (!dbus_connection_register_object_path(conn, MVIRT_MANAGER_PATH, &manager_vt, m) ||
	    !dbus_connection_register_fallback(conn, MVIRT_DOMAIN_PATH_PREFIX, &domains_vt, m))
		return -ENOMEM;
	manager_set_notify(m, &notify, conn);
	return 0;
}
