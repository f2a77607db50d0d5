/* org.mvirt.Domain1 and its properties: a thin layer over domain.c and domain-device.c. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dbus-util.h"
#include "domain-dbus.h"
#include "domain-device.h"
#include "domain.h"
#include "i18n.h"
#include "job.h"
#include "manager.h"
#include "util.h"

static DBusHandlerResult reply_result(DBusConnection *conn, DBusMessage *msg, int r, char *err)
{
	_cleanup_free_ char *e = err;

	if (r < 0)
		return dbus_reply_errno(conn, msg, r, e);
	return dbus_reply_empty(conn, msg);
}

typedef DBusHandlerResult (*call_reply_fn)(DBusConnection *conn, DBusMessage *msg,
					   struct domain *d);

/* A method call waiting for its domain's job: replied to from the job's done callback. */
struct pending_call {
	DBusConnection *conn;
	DBusMessage *msg;
	call_reply_fn reply; /* the reply once the job succeeded; NULL: an empty one */
};

static void call_done(struct domain *d, int r, const char *error, void *userdata)
{
	struct pending_call *c = userdata;

	if (r < 0)
		(void)dbus_reply_errno(c->conn, c->msg, r, error);
	else if (c->reply)
		(void)c->reply(c->conn, c->msg, d);
	else
		(void)dbus_reply_empty(c->conn, c->msg);
	dbus_message_unref(c->msg);
	dbus_connection_unref(c->conn);
	free(c);
}

static DBusHandlerResult call_submit_reply(DBusConnection *conn, DBusMessage *msg,
					   struct domain *d, job_run_fn run, const char *arg,
					   unsigned flags, call_reply_fn reply)
{
	struct pending_call *c = calloc(1, sizeof(*c));
	char *err = NULL;
	int r;

	if (!c)
		return DBUS_HANDLER_RESULT_NEED_MEMORY;
	c->conn = dbus_connection_ref(conn);
	c->msg = dbus_message_ref(msg);
	c->reply = reply;
	r = job_submit(&d->jobs, run, arg, flags, call_done, c, &err);
	if (r < 0) {
		dbus_message_unref(c->msg);
		dbus_connection_unref(c->conn);
		free(c);
		return reply_result(conn, msg, r, err);
	}
	return DBUS_HANDLER_RESULT_HANDLED;
}

static DBusHandlerResult call_submit(DBusConnection *conn, DBusMessage *msg, struct domain *d,
				     job_run_fn run, const char *arg, unsigned flags)
{
	return call_submit_reply(conn, msg, d, run, arg, flags, NULL);
}

static int job_nothing(struct domain *d, const char *arg, unsigned flags, char **ret_error)
{
	return 0;
}

static int job_start(struct domain *d, const char *arg, unsigned flags, char **ret_error)
{
	return domain_start(d, ret_error);
}

static int job_shutdown(struct domain *d, const char *arg, unsigned flags, char **ret_error)
{
	return domain_shutdown(d, ret_error);
}

static int job_destroy(struct domain *d, const char *arg, unsigned flags, char **ret_error)
{
	return domain_destroy(d, ret_error);
}

static int job_suspend(struct domain *d, const char *arg, unsigned flags, char **ret_error)
{
	return domain_suspend(d, ret_error);
}

static int job_resume(struct domain *d, const char *arg, unsigned flags, char **ret_error)
{
	return domain_resume(d, ret_error);
}

static DBusHandlerResult method_undefine(DBusConnection *conn, DBusMessage *msg, struct domain *d)
{
	char *err = NULL;
	int r = manager_undefine(d->manager, d, &err);

	return reply_result(conn, msg, r, err);
}

static DBusHandlerResult method_device(DBusConnection *conn, DBusMessage *msg, struct domain *d,
				       job_run_fn fn)
{
	const char *arg;
	dbus_uint32_t flags;

	if (!dbus_message_get_args(msg, NULL, DBUS_TYPE_STRING, &arg, DBUS_TYPE_UINT32, &flags,
				   DBUS_TYPE_INVALID))
		return dbus_reply_invalid_args(conn, msg);
	return call_submit(conn, msg, d, fn, arg, flags);
}

static DBusHandlerResult method_get_xml(DBusConnection *conn, DBusMessage *msg, struct domain *d)
{
	_cleanup_dbus_message_ DBusMessage *reply = NULL;
	_cleanup_free_ char *xml = NULL, *err = NULL;
	dbus_uint32_t flags;
	int r;

	if (!dbus_message_get_args(msg, NULL, DBUS_TYPE_UINT32, &flags, DBUS_TYPE_INVALID))
		return dbus_reply_invalid_args(conn, msg);
	/* While mvirtd reconnects after its restart, the live XML holds only what it confirmed
	 * so far: answer once the restore job ended (jobs of a domain run in order). */
	if (d->restoring)
		return call_submit_reply(conn, msg, d, job_nothing, NULL, 0, method_get_xml);
	r = domain_get_xml(d, flags, &xml, &err);
	if (r < 0)
		return dbus_reply_errno(conn, msg, r, err);
	reply = dbus_message_new_method_return(msg);
	if (!reply || !dbus_message_append_args(reply, DBUS_TYPE_STRING, &xml, DBUS_TYPE_INVALID) ||
	    !dbus_connection_send(conn, reply, NULL))
		return DBUS_HANDLER_RESULT_NEED_MEMORY;
	return DBUS_HANDLER_RESULT_HANDLED;
}

static bool append_variant(DBusMessageIter *it, const char *sig, int type, const void *val)
{
	DBusMessageIter v;

	return dbus_message_iter_open_container(it, DBUS_TYPE_VARIANT, sig, &v) &&
	       dbus_message_iter_append_basic(&v, type, val) &&
	       dbus_message_iter_close_container(it, &v);
}

/* Appends property name's value as a variant; false if there is no such property. */
static bool property_append(DBusMessageIter *it, struct domain *d, const char *name)
{
	const char *s;
	dbus_bool_t b;

	if (streq(name, "Name"))
		return s = d->name, append_variant(it, "s", DBUS_TYPE_STRING, &s);
	if (streq(name, "UUID"))
		return s = d->uuid, append_variant(it, "s", DBUS_TYPE_STRING, &s);
	if (streq(name, "State"))
		return s = domain_state_to_string(d->state),
		       append_variant(it, "s", DBUS_TYPE_STRING, &s);
	if (streq(name, "StateReason"))
		return s = d->state_reason, append_variant(it, "s", DBUS_TYPE_STRING, &s);
	if (streq(name, "Autostart"))
		return b = d->autostart, append_variant(it, "b", DBUS_TYPE_BOOLEAN, &b);
	return false;
}

static const char *const property_names[] = { "Name", "UUID", "State", "StateReason",
					       "Autostart" };

static bool property_is_known(const char *name)
{
	for (size_t i = 0; i < ELEMENTSOF(property_names); i++)
		if (streq(property_names[i], name))
			return true;
	return false;
}

static bool properties_append(DBusMessageIter *it, struct domain *d, const char *const *names,
			      size_t n)
{
	DBusMessageIter arr, e;

	if (!dbus_message_iter_open_container(it, DBUS_TYPE_ARRAY, "{sv}", &arr))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!dbus_message_iter_open_container(&arr, DBUS_TYPE_DICT_ENTRY, NULL, &e) ||
		    !dbus_message_iter_append_basic(&e, DBUS_TYPE_STRING, &names[i]) ||
		    !property_append(&e, d, names[i]) || !dbus_message_iter_close_container(&arr, &e))
			return false;
	return dbus_message_iter_close_container(it, &arr);
}

/* Interfaces a domain object has besides org.mvirt.Domain1; none has properties. */
static const char *const standard_interfaces[] = {
	DBUS_INTERFACE_INTROSPECTABLE,
	DBUS_INTERFACE_PROPERTIES,
	DBUS_INTERFACE_PEER,
};

static bool is_standard_interface(const char *iface)
{
	for (size_t i = 0; i < ELEMENTSOF(standard_interfaces); i++)
		if (streq(iface, standard_interfaces[i]))
			return true;
	return false;
}

static DBusHandlerResult reply_unknown_interface(DBusConnection *conn, DBusMessage *msg,
						 const char *iface)
{
	char text[200];

	snprintf(text, sizeof(text),
		 _("A domain object has no interface %.64s; its properties are on "
		   "org.mvirt.Domain1."),
		 iface);
	return dbus_reply_error(conn, msg, DBUS_ERROR_UNKNOWN_INTERFACE, text);
}

static DBusHandlerResult reply_unknown_property(DBusConnection *conn, DBusMessage *msg,
						const char *iface, const char *name)
{
	char text[200];

	snprintf(text, sizeof(text), _("Interface %.64s has no property %.64s."), iface, name);
	return dbus_reply_error(conn, msg, DBUS_ERROR_UNKNOWN_PROPERTY, text);
}

/* Get and GetAll. An empty interface name means every property, as the specification says. */
static DBusHandlerResult props_get(DBusConnection *conn, DBusMessage *msg, struct domain *d,
				   bool all)
{
	_cleanup_dbus_message_ DBusMessage *reply = NULL;
	const char *iface, *name = NULL;
	DBusMessageIter it;
	bool ours, ok;

	if (!(all ? dbus_message_get_args(msg, NULL, DBUS_TYPE_STRING, &iface, DBUS_TYPE_INVALID)
		  : dbus_message_get_args(msg, NULL, DBUS_TYPE_STRING, &iface, DBUS_TYPE_STRING,
					  &name, DBUS_TYPE_INVALID)))
		return dbus_reply_invalid_args(conn, msg);
	ours = isempty(iface) || streq(iface, MVIRT_DOMAIN_IFACE);
	if (!ours && !is_standard_interface(iface))
		return reply_unknown_interface(conn, msg, iface);
	reply = dbus_message_new_method_return(msg);
	if (!reply)
		return DBUS_HANDLER_RESULT_NEED_MEMORY;
	dbus_message_iter_init_append(reply, &it);
	if (all)
		ok = ours ? properties_append(&it, d, property_names, ELEMENTSOF(property_names))
			  : properties_append(&it, d, NULL, 0);
	else if (!ours || !property_append(&it, d, name))
		return reply_unknown_property(conn, msg, iface, name);
	else
		ok = true;
	if (!ok || !dbus_connection_send(conn, reply, NULL))
		return DBUS_HANDLER_RESULT_NEED_MEMORY;
	return DBUS_HANDLER_RESULT_HANDLED;
}

static DBusHandlerResult props_set(DBusConnection *conn, DBusMessage *msg, struct domain *d)
{
	DBusMessageIter it, v;
	const char *iface, *name;
	char text[200], *sig;
	dbus_bool_t b;
	char *err = NULL;
	int r;

	if (!dbus_message_iter_init(msg, &it) || !streq(dbus_message_get_signature(msg), "ssv"))
		return dbus_reply_invalid_args(conn, msg);
	dbus_message_iter_get_basic(&it, &iface);
	dbus_message_iter_next(&it);
	dbus_message_iter_get_basic(&it, &name);
	dbus_message_iter_next(&it);
	dbus_message_iter_recurse(&it, &v);
	if (!isempty(iface) && !streq(iface, MVIRT_DOMAIN_IFACE) && !is_standard_interface(iface))
		return reply_unknown_interface(conn, msg, iface);
	if (!streq(iface, MVIRT_DOMAIN_IFACE) && !isempty(iface))
		return reply_unknown_property(conn, msg, iface, name);
	if (!streq(name, "Autostart")) {
		if (!property_is_known(name))
			return reply_unknown_property(conn, msg, MVIRT_DOMAIN_IFACE, name);
		snprintf(text, sizeof(text),
			 _("The property %.64s of org.mvirt.Domain1 is read-only; only Autostart "
			   "can be set."),
			 name);
		return dbus_reply_error(conn, msg, DBUS_ERROR_PROPERTY_READ_ONLY, text);
	}
	if (dbus_message_iter_get_arg_type(&v) != DBUS_TYPE_BOOLEAN) {
		sig = dbus_message_iter_get_signature(&v);
		snprintf(text, sizeof(text), _("Autostart is a boolean (b), not a value of type %.16s."),
			 sig ? sig : "?");
		dbus_free(sig);
		return dbus_reply_error(conn, msg, DBUS_ERROR_INVALID_ARGS, text);
	}
	dbus_message_iter_get_basic(&v, &b);
	r = domain_set_autostart(d, b, &err);
	if (r >= 0)
		domain_dbus_emit_autostart(conn, d);
	return reply_result(conn, msg, r, err);
}

bool domain_dbus_append_interfaces(DBusMessageIter *it, struct domain *d)
{
	const char *iface = MVIRT_DOMAIN_IFACE;
	DBusMessageIter arr, e;

	if (!dbus_message_iter_open_container(it, DBUS_TYPE_ARRAY, "{sa{sv}}", &arr))
		return false;
	if (!dbus_message_iter_open_container(&arr, DBUS_TYPE_DICT_ENTRY, NULL, &e) ||
	    !dbus_message_iter_append_basic(&e, DBUS_TYPE_STRING, &iface) ||
	    !properties_append(&e, d, property_names, ELEMENTSOF(property_names)) ||
	    !dbus_message_iter_close_container(&arr, &e))
		return false;
	for (size_t i = 0; i < ELEMENTSOF(standard_interfaces); i++)
		if (!dbus_message_iter_open_container(&arr, DBUS_TYPE_DICT_ENTRY, NULL, &e) ||
		    !dbus_message_iter_append_basic(&e, DBUS_TYPE_STRING, &standard_interfaces[i]) ||
		    !properties_append(&e, d, NULL, 0) ||
		    !dbus_message_iter_close_container(&arr, &e))
			return false;
	return dbus_message_iter_close_container(it, &arr);
}

bool domain_dbus_append_interface_names(DBusMessageIter *it)
{
	const char *iface = MVIRT_DOMAIN_IFACE;
	DBusMessageIter arr;

	if (!dbus_message_iter_open_container(it, DBUS_TYPE_ARRAY, "s", &arr) ||
	    !dbus_message_iter_append_basic(&arr, DBUS_TYPE_STRING, &iface))
		return false;
	for (size_t i = 0; i < ELEMENTSOF(standard_interfaces); i++)
		if (!dbus_message_iter_append_basic(&arr, DBUS_TYPE_STRING, &standard_interfaces[i]))
			return false;
	return dbus_message_iter_close_container(it, &arr);
}

/*
 * The methods of org.mvirt.Domain1 (schemas/org.mvirt.Domain1.xml). What may talk to the VMM
 * runs as a job of the domain (see job.h): a lifecycle call takes no argument, a device call
 * a document or alias and flags; the rest answer at once.
 */
static const struct domain_method {
	const char *name;
	job_run_fn job;
	bool takes_device; /* (s document-or-alias, u flags) */
	DBusHandlerResult (*call)(DBusConnection *conn, DBusMessage *msg, struct domain *d);
} domain_methods[] = {
	{ "Start", job_start, false, NULL },
	{ "Shutdown", job_shutdown, false, NULL },
	{ "Destroy", job_destroy, false, NULL },
	{ "Suspend", job_suspend, false, NULL },
	{ "Resume", job_resume, false, NULL },
	{ "AttachDevice", domain_attach_device, true, NULL },
	{ "DetachDevice", domain_detach_device, true, NULL },
	{ "DetachDeviceAlias", domain_detach_alias, true, NULL },
	{ "Undefine", NULL, false, method_undefine },
	{ "GetXML", NULL, false, method_get_xml },
};

DBusHandlerResult domain_dbus_message(DBusConnection *conn, DBusMessage *msg, struct domain *d)
{
	const char *member = dbus_message_get_member(msg);

	if (dbus_message_is_method_call(msg, DBUS_INTERFACE_INTROSPECTABLE, "Introspect"))
		return dbus_reply_introspect(conn, msg, "org.mvirt.Domain1.xml");
	if (dbus_message_has_interface(msg, DBUS_INTERFACE_PROPERTIES)) {
		if (streq_ptr(member, "Get"))
			return props_get(conn, msg, d, false);
		if (streq_ptr(member, "GetAll"))
			return props_get(conn, msg, d, true);
		if (streq_ptr(member, "Set"))
			return props_set(conn, msg, d);
		return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
	}
	if (!dbus_message_is_method_call(msg, MVIRT_DOMAIN_IFACE, member ? member : ""))
		return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
	for (size_t i = 0; i < ELEMENTSOF(domain_methods); i++) {
		const struct domain_method *dm = &domain_methods[i];

		if (!streq(member, dm->name))
			continue;
		if (dm->call)
			return dm->call(conn, msg, d);
		if (dm->takes_device)
			return method_device(conn, msg, d, dm->job);
		return call_submit(conn, msg, d, dm->job, NULL, 0);
	}
	return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
}

static void emit_properties_changed(DBusConnection *conn, struct domain *d,
				    const char *const *names, size_t n)
{
	_cleanup_dbus_message_ DBusMessage *sig = NULL;
	const char *iface = MVIRT_DOMAIN_IFACE;
	DBusMessageIter it, inval;
	char path[256];

	dbus_domain_path(d->uuid, path, sizeof(path));
	sig = dbus_message_new_signal(path, DBUS_INTERFACE_PROPERTIES, "PropertiesChanged");
	if (!sig)
		return;
	dbus_message_iter_init_append(sig, &it);
	if (!dbus_message_iter_append_basic(&it, DBUS_TYPE_STRING, &iface) ||
	    !properties_append(&it, d, names, n) ||
	    !dbus_message_iter_open_container(&it, DBUS_TYPE_ARRAY, "s", &inval) ||
	    !dbus_message_iter_close_container(&it, &inval))
		return;
	dbus_connection_send(conn, sig, NULL);
}

static void emit_string_signal(DBusConnection *conn, struct domain *d, const char *member,
			       const char *value)
{
	_cleanup_dbus_message_ DBusMessage *sig = NULL;
	char path[256];

	dbus_domain_path(d->uuid, path, sizeof(path));
	sig = dbus_message_new_signal(path, MVIRT_DOMAIN_IFACE, member);
	if (sig && dbus_message_append_args(sig, DBUS_TYPE_STRING, &value, DBUS_TYPE_INVALID))
		dbus_connection_send(conn, sig, NULL);
}

void domain_dbus_emit_state(DBusConnection *conn, struct domain *d)
{
	static const char *const names[] = { "State", "StateReason" };

	emit_string_signal(conn, d, "StateChanged", domain_state_to_string(d->state));
	emit_properties_changed(conn, d, names, ELEMENTSOF(names));
}

void domain_dbus_emit_autostart(DBusConnection *conn, struct domain *d)
{
	static const char *const names[] = { "Autostart" };

	emit_properties_changed(conn, d, names, ELEMENTSOF(names));
}

void domain_dbus_emit_device(DBusConnection *conn, struct domain *d, enum device_event ev,
			     const char *alias)
{
	static const char *const names[] = {
		[DEVICE_EVENT_ADDED] = "DeviceAdded",
		[DEVICE_EVENT_REMOVED] = "DeviceRemoved",
		[DEVICE_EVENT_REMOVAL_FAILED] = "DeviceRemovalFailed",
	};

	emit_string_signal(conn, d, names[ev], alias);
}
