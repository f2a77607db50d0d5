/*
 * events [DOM]: follows the daemon's signals until SIGINT or SIGTERM, one line
 * (or one JSON object) per event, flushed as it comes.
 */
#include "config.h"

#include <errno.h>
#include <json-c/json.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>

#include "bus.h"
#include "commands.h"
#include "i18n.h"
#include "json-stream.h"
#include "util.h"

/* Names of domains seen, so a line names its domain without a call per event. */
#define NAME_CACHE_MAX 64

struct name_cache {
	char path[NAME_CACHE_MAX][CTL_FIELD_MAX];
	char name[NAME_CACHE_MAX][CTL_FIELD_MAX];
	unsigned n, next;
};

static const char *cache_name(struct name_cache *nc, DBusConnection *c, const char *path)
{
	struct ctl_domain_info info = {};
	struct ctl_bus_error err = {};
	unsigned i;

	for (i = 0; i < nc->n; i++)
		if (streq(nc->path[i], path))
			return nc->name[i];
	/* Undefined domains have no object any more: their events show "-" for the name. */
	if (ctl_bus_domain_info(c, path, &info, &err) < 0 || !info.name[0])
		return NULL;
	i = nc->next;
	nc->next = (nc->next + 1) % NAME_CACHE_MAX;
	if (nc->n < NAME_CACHE_MAX)
		nc->n++;
	snprintf(nc->path[i], CTL_FIELD_MAX, "%s", path);
	memcpy(nc->name[i], info.name, CTL_FIELD_MAX);
	return nc->name[i];
}

static struct json_object *variant_to_json(DBusMessageIter *v)
{
	union {
		const char *s;
		dbus_bool_t b;
		dbus_uint32_t u;
		dbus_int32_t i;
		dbus_uint64_t t;
	} x;

	switch (dbus_message_iter_get_arg_type(v)) {
	case DBUS_TYPE_STRING:
	case DBUS_TYPE_OBJECT_PATH:
		dbus_message_iter_get_basic(v, &x.s);
		return json_object_new_string(x.s);
	case DBUS_TYPE_BOOLEAN:
		dbus_message_iter_get_basic(v, &x.b);
		return json_object_new_boolean(x.b);
	case DBUS_TYPE_UINT32:
		dbus_message_iter_get_basic(v, &x.u);
		return json_object_new_int64(x.u);
	case DBUS_TYPE_INT32:
		dbus_message_iter_get_basic(v, &x.i);
		return json_object_new_int64(x.i);
	case DBUS_TYPE_UINT64:
		dbus_message_iter_get_basic(v, &x.t);
		return json_object_new_uint64(x.t);
	}
	return NULL;
}

/* PropertiesChanged(s iface, a{sv} changed, as invalidated): the changed ones as JSON text. */
static char *properties_json(DBusMessage *m)
{
	_cleanup_json_ struct json_object *o = json_object_new_object();
	DBusMessageIter it, entry, kv, v;
	const char *key;

	if (!o || !dbus_message_iter_init(m, &it) || !dbus_message_iter_next(&it) ||
	    dbus_message_iter_get_arg_type(&it) != DBUS_TYPE_ARRAY)
		return NULL;
	dbus_message_iter_recurse(&it, &entry);
	for (; dbus_message_iter_get_arg_type(&entry) == DBUS_TYPE_DICT_ENTRY;
	     dbus_message_iter_next(&entry)) {
		dbus_message_iter_recurse(&entry, &kv);
		dbus_message_iter_get_basic(&kv, &key);
		dbus_message_iter_next(&kv);
		dbus_message_iter_recurse(&kv, &v);
		json_object_object_add(o, key, variant_to_json(&v));
	}
	return strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
}

static void handle_signal(DBusConnection *c, DBusMessage *m, const char *only_path,
			  struct name_cache *nc, bool json)
{
	const char *path = dbus_message_get_path(m);
	_cleanup_free_ char *props = NULL;
	char uuid[CTL_FIELD_MAX];
	struct ctl_event e = {};

	if (dbus_message_get_type(m) != DBUS_MESSAGE_TYPE_SIGNAL || !path ||
	    !startswith(path, MVIRT_DOMAIN_PATH_PREFIX) || (only_path && !streq(path, only_path)))
		return;
	if (output_uuid_from_path(path, uuid, sizeof(uuid)) == 0)
		e.uuid = uuid;
	e.signal = dbus_message_get_member(m);
	if (dbus_message_has_interface(m, MVIRT_DOMAIN_IFACE)) {
		if (!dbus_message_get_args(m, NULL, DBUS_TYPE_STRING, &e.arg, DBUS_TYPE_INVALID))
			e.arg = NULL;
	} else if (dbus_message_is_signal(m, DBUS_PROPERTIES_IFACE, "PropertiesChanged")) {
		props = properties_json(m);
		e.property_json = props;
	} else
		return;
	e.name = cache_name(nc, c, path);
	output_event(stdout, &e, json);
}

static int add_matches(DBusConnection *c, const char *path)
{
	char rule[512];
	DBusError e = DBUS_ERROR_INIT;

	snprintf(rule, sizeof(rule), "type='signal',interface='%s',path_namespace='%s'",
		 MVIRT_DOMAIN_IFACE, MVIRT_MANAGER_PATH);
	dbus_bus_add_match(c, rule, &e);
	if (!dbus_error_is_set(&e)) {
		snprintf(rule, sizeof(rule),
			 "type='signal',interface='%s',member='PropertiesChanged',path_namespace='%s'",
			 DBUS_PROPERTIES_IFACE, MVIRT_MANAGER_PATH);
		dbus_bus_add_match(c, rule, &e);
	}
	if (dbus_error_is_set(&e)) {
		int r = ctl_fail(path ? path : "events", e.message);
		dbus_error_free(&e);
		return r;
	}
	return CTL_EXIT_OK;
}

static int events_loop(DBusConnection *c, int sigfd, const char *only_path, bool json)
{
	static struct name_cache nc; /* 32 KiB: off the stack */
	DBusMessage *m;
	int busfd = -1;

	if (!dbus_connection_get_unix_fd(c, &busfd))
		return ctl_fail("events", _("The D-Bus connection has no file descriptor to wait on."));
	for (;;) {
		while ((m = dbus_connection_pop_message(c))) {
			handle_signal(c, m, only_path, &nc, json);
			dbus_message_unref(m);
		}
		struct pollfd p[2] = { { .fd = busfd, .events = POLLIN }, { .fd = sigfd, .events = POLLIN } };
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			return ctl_fail("events", strerror(errno));
		if (p[1].revents)
			return CTL_EXIT_OK;
		dbus_connection_read_write(c, 0);
		if (!dbus_connection_get_is_connected(c))
			return ctl_fail("events", _("The D-Bus connection was closed; the bus went away."));
	}
}

int cmd_events(const struct ctl_args *a)
{
	_cleanup_connection_ DBusConnection *c = NULL;
	_cleanup_free_ char *path = NULL;
	_cleanup_close_ int sigfd = -1;
	sigset_t mask;
	int r;

	/* Block the signals before anything else so an early Ctrl-C still ends cleanly. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sigfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (sigfd < 0)
		return ctl_fail("events", strerror(errno));
	r = ctl_connect(a, a->n_args ? a->argv[0] : NULL, &c, a->n_args ? &path : NULL);
	if (r == CTL_EXIT_OK)
		r = add_matches(c, path);
	if (r != CTL_EXIT_OK)
		return r;
	/* Printed once the match rules are in place: from here on no event is missed. */
	fprintf(stderr, _("Following events; press Ctrl-C to stop.\n"));
	return events_loop(c, sigfd, path, a->options & CTL_OPT_JSON);
}
