#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "bus.h"
#include "i18n.h"
#include "util.h"

static void bus_error_set(struct ctl_bus_error *err, const char *name, const char *message)
{
	snprintf(err->name, sizeof(err->name), "%s", name ? name : "");
	snprintf(err->message, sizeof(err->message), "%s", message ? message : "");
}

static int error_from_dbus(struct ctl_bus_error *err, DBusError *e)
{
	/* Speak for libdbus when the daemon is not there: its sentence names no cure. */
	if (dbus_error_has_name(e, DBUS_ERROR_SERVICE_UNKNOWN) ||
	    dbus_error_has_name(e, DBUS_ERROR_NAME_HAS_NO_OWNER))
		bus_error_set(err, e->name,
			_("mvirtd is not running on this bus (no owner of "
			  "org.mvirt.Manager1); start it, or choose the bus with "
			  "--system, --session or --bus-address."));
	else
		bus_error_set(err, e->name, e->message);
	dbus_error_free(e);
	return -EIO;
}

int ctl_bus_open(const struct ctl_args *a, DBusConnection **ret, struct ctl_bus_error *err)
{
	DBusError e = DBUS_ERROR_INIT;
	DBusConnection *c;

	if (a->bus == CTL_BUS_ADDRESS) {
		c = dbus_connection_open_private(a->bus_address, &e);
		if (c && !dbus_bus_register(c, &e)) {
			dbus_connection_close(c);
			dbus_connection_unref(c);
			c = NULL;
		}
	} else
		c = dbus_bus_get_private(a->bus == CTL_BUS_SESSION ? DBUS_BUS_SESSION :
								     DBUS_BUS_SYSTEM, &e);
	if (!c) {
		char msg[1024];
		snprintf(msg, sizeof(msg), _("Cannot connect to the D-Bus bus (%s); start the bus or choose "
						 "another with --system, --session or --bus-address."),
			 e.message ? e.message : "?");
		bus_error_set(err, e.name, msg);
		dbus_error_free(&e);
		return -ECONNREFUSED;
	}
	/* A client that loses its bus reports it; it must not be killed by libdbus. */
	dbus_connection_set_exit_on_disconnect(c, FALSE);
	*ret = c;
	return 0;
}

int ctl_bus_call(DBusConnection *c, const char *path, const char *iface, const char *method,
		 DBusMessage **ret_reply, struct ctl_bus_error *err, int first_type, ...)
{
	_cleanup_message_ DBusMessage *m = NULL, *reply = NULL;
	DBusError e = DBUS_ERROR_INIT;
	va_list ap;
	bool ok;

	m = dbus_message_new_method_call(MVIRT_BUS_NAME, path, iface, method);
	if (!m)
		return -ENOMEM;
	va_start(ap, first_type);
	ok = dbus_message_append_args_valist(m, first_type, ap);
	va_end(ap);
	if (!ok)
		return -ENOMEM;
	reply = dbus_connection_send_with_reply_and_block(c, m, CTL_CALL_TIMEOUT_MS, &e);
	if (!reply)
		return error_from_dbus(err, &e);
	if (ret_reply)
		*ret_reply = TAKE_PTR(reply);
	return 0;
}

static int reply_get_path(DBusMessage *reply, char **ret, struct ctl_bus_error *err)
{
	DBusError e = DBUS_ERROR_INIT;
	const char *path;

	if (!dbus_message_get_args(reply, &e, DBUS_TYPE_OBJECT_PATH, &path, DBUS_TYPE_INVALID))
		return error_from_dbus(err, &e);
	*ret = strdup(path);
	return *ret ? 0 : -ENOMEM;
}

static bool looks_like_uuid(const char *s)
{
	if (strlen(s) != 36)
		return false;
	for (int i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? s[i] != '-' : !strchr("0123456789abcdefABCDEF", s[i]))
			return false;
	}
	return true;
}

int ctl_bus_lookup(DBusConnection *c, const char *dom, char **ret, struct ctl_bus_error *err)
{
	_cleanup_message_ DBusMessage *reply = NULL;
	int r = -EIO;

	/* A name may look like a UUID; the UUID wins, as in virsh. */
	if (looks_like_uuid(dom))
		r = ctl_bus_call(c, MVIRT_MANAGER_PATH, MVIRT_MANAGER_IFACE, "LookupByUUID",
				 &reply, err, DBUS_TYPE_STRING, &dom, DBUS_TYPE_INVALID);
	if (r < 0)
		r = ctl_bus_call(c, MVIRT_MANAGER_PATH, MVIRT_MANAGER_IFACE, "LookupByName",
				 &reply, err, DBUS_TYPE_STRING, &dom, DBUS_TYPE_INVALID);
	if (r < 0)
		return r;
	return reply_get_path(reply, ret, err);
}

static void copy_string_n(DBusMessageIter *v, char *dst, size_t size)
{
	const char *s;

	if (dbus_message_iter_get_arg_type(v) != DBUS_TYPE_STRING)
		return;
	dbus_message_iter_get_basic(v, &s);
	snprintf(dst, size, "%s", s);
}

static void copy_string(DBusMessageIter *v, char *dst)
{
	copy_string_n(v, dst, CTL_FIELD_MAX);
}

int ctl_bus_read_properties(DBusMessageIter *array, struct ctl_domain_info *info)
{
	DBusMessageIter entry, v;

	if (dbus_message_iter_get_arg_type(array) != DBUS_TYPE_ARRAY)
		return -EBADMSG;
	dbus_message_iter_recurse(array, &entry);
	for (; dbus_message_iter_get_arg_type(&entry) == DBUS_TYPE_DICT_ENTRY;
	     dbus_message_iter_next(&entry)) {
		DBusMessageIter kv;
		const char *key;

		dbus_message_iter_recurse(&entry, &kv);
		if (dbus_message_iter_get_arg_type(&kv) != DBUS_TYPE_STRING)
			return -EBADMSG;
		dbus_message_iter_get_basic(&kv, &key);
		dbus_message_iter_next(&kv);
		dbus_message_iter_recurse(&kv, &v);
		if (streq(key, "Name"))
			copy_string(&v, info->name);
		else if (streq(key, "UUID"))
			copy_string(&v, info->uuid);
		else if (streq(key, "State"))
			copy_string(&v, info->state);
		else if (streq(key, "StateReason"))
			copy_string_n(&v, info->state_reason, sizeof(info->state_reason));
		else if (streq(key, "Autostart") &&
			 dbus_message_iter_get_arg_type(&v) == DBUS_TYPE_BOOLEAN) {
			dbus_bool_t b;
			dbus_message_iter_get_basic(&v, &b);
			info->autostart = b;
			info->has_autostart = true;
		}
	}
	return 0;
}

int ctl_bus_domain_info(DBusConnection *c, const char *path, struct ctl_domain_info *ret,
			struct ctl_bus_error *err)
{
	_cleanup_message_ DBusMessage *reply = NULL;
	const char *iface = MVIRT_DOMAIN_IFACE;
	struct ctl_domain_info info = {};
	DBusMessageIter it;
	int r;

	r = ctl_bus_call(c, path, DBUS_PROPERTIES_IFACE, "GetAll", &reply, err, DBUS_TYPE_STRING,
			 &iface, DBUS_TYPE_INVALID);
	if (r < 0)
		return r;
	if (!dbus_message_iter_init(reply, &it) || ctl_bus_read_properties(&it, &info) < 0) {
		bus_error_set(err, DBUS_ERROR_INVALID_SIGNATURE,
			_("The daemon answered GetAll with an unexpected signature."));
		return -EBADMSG;
	}
	*ret = info;
	return 0;
}

int ctl_bus_error_print(const char *subject, const struct ctl_bus_error *err)
{
	const char *msg = err->message[0] ? err->message : err->name;

	/* The daemon's sentence is already translated on its side; add only what it concerns. */
	if (subject)
		fprintf(stderr, "mvirtctl: %s: %s\n", subject, msg);
	else
		fprintf(stderr, "mvirtctl: %s\n", msg);
	return CTL_EXIT_FAILED;
}
