/* libFuzzer target: D-Bus method calls as a client (any local user may reach the bus) hands
 * them to mvirtd. The first byte picks the form: 'l' or 'B' starts a raw wire message, which
 * libdbus demarshals as the daemon's connection would; any other byte builds a call from the
 * rest (a method of org.mvirt.Manager1/Domain1, its arguments in fuzzed types), which is
 * marshalled and demarshalled again. Then each method's argument extraction runs as the
 * daemon's handlers run it (dbus_message_get_args with the method's signature), and what they
 * hand on: the object path to a UUID, XML to the conf parsers and validators, flags, errno
 * names. Checks: a path that maps to a UUID maps back to the same path; nothing crashes. */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <dbus/dbus.h>
#include <libxml/parser.h>

#include "dbus-util.h"
#include "device-conf.h"
#include "domain-conf.h"

#define FUZZ_ARGS_MAX 4

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	setenv("MVIRT_SCHEMAS", FUZZ_SCHEMAS, 0);
	xmlInitParser();
	return 0;
}

static const char *const members[] = {
	"DefineXML", "LookupByName", "LookupByUUID", "ListDomains", "AttachDevice",
	"DetachDevice", "DetachDeviceAlias", "GetXML", "Start", "Set",
};

/* One argument of type t from the input: a string up to the next NUL (valid UTF-8 only: the
 * bus daemon refuses the rest before mvirtd sees it), or 4 bytes. */
static int append_arg(DBusMessage *m, int t, const uint8_t **p, const uint8_t *end)
{
	if (t == DBUS_TYPE_UINT32 || t == DBUS_TYPE_INT32 || t == DBUS_TYPE_BOOLEAN) {
		uint32_t v = 0;

		memcpy(&v, *p, end - *p < 4 ? (size_t)(end - *p) : 4);
		*p += end - *p < 4 ? end - *p : 4;
		if (t == DBUS_TYPE_BOOLEAN)
			v &= 1;
		return dbus_message_append_args(m, t, &v, DBUS_TYPE_INVALID) ? 0 : -ENOMEM;
	}
	{
		const uint8_t *nul = memchr(*p, 0, (size_t)(end - *p));
		size_t n = nul ? (size_t)(nul - *p) : (size_t)(end - *p);
		char *s = strndup((const char *)*p, n);
		int r = 0;

		if (!s)
			return -ENOMEM;
		*p += n + (nul ? 1 : 0);
		if (!dbus_validate_utf8(s, NULL) ||
		    (t == DBUS_TYPE_OBJECT_PATH && !dbus_validate_path(s, NULL)))
			r = -EINVAL;
		else if (!dbus_message_append_args(m, t, &s, DBUS_TYPE_INVALID))
			r = -ENOMEM;
		free(s);
		return r;
	}
}

static DBusMessage *build_call(const uint8_t *data, size_t size)
{
	static const int types[] = { DBUS_TYPE_STRING, DBUS_TYPE_UINT32, DBUS_TYPE_OBJECT_PATH,
				     DBUS_TYPE_BOOLEAN, DBUS_TYPE_INT32 };
	const uint8_t *p = data + 2, *end = data + size;
	DBusMessage *m;
	char *wire = NULL;
	int len = 0, n_args;

	if (size < 2)
		return NULL;
	m = dbus_message_new_method_call("org.mvirt.Manager1", "/org/mvirt/Manager1/domain/_x",
					 "org.mvirt.Domain1",
					 members[data[0] % (sizeof(members) / sizeof(*members))]);
	n_args = data[1] % (FUZZ_ARGS_MAX + 1);
	for (int i = 0; m && i < n_args && p < end; i++) {
		int t = types[*p++ % (sizeof(types) / sizeof(*types))];

		if (append_arg(m, t, &p, end) < 0)
			break;
	}
	/* Through the wire format and back, as the bus delivers it. */
	if (m && dbus_message_marshal(m, &wire, &len)) {
		dbus_message_unref(m);
		m = dbus_message_demarshal(wire, len, NULL);
		dbus_free(wire);
	}
	return m;
}

static void xml_args(const char *xml, bool domain)
{
	struct domain_def *def = NULL;
	struct device_def *dev = NULL;
	char *err = NULL;

	if (domain && domain_def_parse(xml, &def, &err) >= 0)
		(void)domain_def_validate(def, NULL);
	if (!domain && device_def_parse(xml, &dev, &err) >= 0)
		(void)device_def_validate(dev, NULL);
	domain_def_free(def);
	device_def_free(dev);
	free(err);
}

/* The handlers' argument extraction, each with the signature its method has. */
static void handle(DBusMessage *m)
{
	const char *s = NULL, *path = dbus_message_get_path(m);
	dbus_uint32_t u = 0;
	dbus_bool_t b = 0;
	char uuid[64], back[256];

	if (path && dbus_domain_uuid_from_path(path, uuid, sizeof(uuid)) == 0) {
		dbus_domain_path(uuid, back, sizeof(back));
		if (strchr(uuid, '_') == NULL && strcmp(back, path) != 0 && strlen(path) < 200)
			abort();
	}
	if (dbus_message_get_args(m, NULL, DBUS_TYPE_STRING, &s, DBUS_TYPE_INVALID)) {
		xml_args(s, true);
		(void)uuid_is_valid(s);
	}
	if (dbus_message_get_args(m, NULL, DBUS_TYPE_STRING, &s, DBUS_TYPE_UINT32, &u,
				  DBUS_TYPE_INVALID))
		xml_args(s, false);
	if (dbus_message_get_args(m, NULL, DBUS_TYPE_UINT32, &u, DBUS_TYPE_INVALID))
		(void)dbus_error_name_from_errno(-(int)(u % 200));
	(void)dbus_message_get_args(m, NULL, DBUS_TYPE_STRING, &s, DBUS_TYPE_STRING, &s,
				    DBUS_TYPE_BOOLEAN, &b, DBUS_TYPE_INVALID);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	DBusMessage *m;

	if (size == 0)
		return 0;
	if (data[0] == 'l' || data[0] == 'B') {
		DBusError e;
		int need;

		dbus_error_init(&e);
		need = dbus_message_demarshal_bytes_needed((const char *)data, (int)size);
		m = need > 0 && (size_t)need <= size ?
			    dbus_message_demarshal((const char *)data, need, &e) : NULL;
		dbus_error_free(&e);
	} else {
		m = build_call(data + 1, size - 1);
	}
	if (m) {
		handle(m);
		dbus_message_unref(m);
	}
	return 0;
}
