/* Verbs that change a domain's life: define, undefine, start, shutdown, destroy; and dumpxml. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"
#include "commands.h"
#include "i18n.h"
#include "validate.h"

int ctl_fail(const char *subject, const char *sentence)
{
	fprintf(stderr, "mvirtctl: %s: %s\n", subject, sentence ? sentence : _("Out of memory."));
	return CTL_EXIT_FAILED;
}

int ctl_connect(const struct ctl_args *a, const char *dom, DBusConnection **ret_conn,
		char **ret_path)
{
	_cleanup_connection_ DBusConnection *c = NULL;
	struct ctl_bus_error err = {};

	if (ctl_bus_open(a, &c, &err) < 0)
		return ctl_bus_error_print(NULL, &err);
	if (dom && ctl_bus_lookup(c, dom, ret_path, &err) < 0)
		return ctl_bus_error_print(dom, &err);
	*ret_conn = TAKE_PTR(c);
	return CTL_EXIT_OK;
}

int ctl_fetch_domain_info(const struct ctl_args *a, struct ctl_domain_info *ret)
{
	_cleanup_connection_ DBusConnection *c = NULL;
	_cleanup_free_ char *path = NULL;
	struct ctl_bus_error err = {};
	int r;

	r = ctl_connect(a, a->argv[0], &c, &path);
	if (r != CTL_EXIT_OK)
		return r;
	if (ctl_bus_domain_info(c, path, ret, &err) < 0)
		return ctl_bus_error_print(a->argv[0], &err);
	return CTL_EXIT_OK;
}

/* Loads FILE, checked as the daemon would unless --no-validate; prints the fault as
 * "FILE:LINE: ..." (or "FILE: ...") after "mvirtctl: ". */
int ctl_load_xml(const struct ctl_args *a, const char *file, enum conf_doc doc, char **ret)
{
	_cleanup_free_ char *error = NULL;
	int r;

	if (a->options & CTL_OPT_NO_VALIDATE)
		r = ctl_xml_load(file, ret, &error);
	else
		r = ctl_xml_load_checked(file, doc, ret, &error);
	if (r < 0) {
		fprintf(stderr, "mvirtctl: %s\n", error ? error : _("Out of memory."));
		return CTL_EXIT_FAILED;
	}
	return CTL_EXIT_OK;
}

/* The domain's name for messages; fallback when it cannot be read. */
static void domain_name_or(DBusConnection *c, const char *path, const char *fallback, char *ret)
{
	struct ctl_domain_info info = {};
	struct ctl_bus_error err = {};

	if (ctl_bus_domain_info(c, path, &info, &err) >= 0 && info.name[0])
		fallback = info.name;
	snprintf(ret, CTL_FIELD_MAX, "%s", fallback);
}

int cmd_define(const struct ctl_args *a)
{
	_cleanup_connection_ DBusConnection *c = NULL;
	_cleanup_message_ DBusMessage *reply = NULL;
	_cleanup_free_ char *xml = NULL;
	struct ctl_bus_error err = {};
	const char *file = a->argv[0], *path;
	char name[CTL_FIELD_MAX];
	int r;

	r = ctl_load_xml(a, file, CONF_DOC_DOMAIN, &xml);
	if (r != CTL_EXIT_OK)
		return r;
	r = ctl_connect(a, NULL, &c, NULL);
	if (r != CTL_EXIT_OK)
		return r;
	if (ctl_bus_call(c, MVIRT_MANAGER_PATH, MVIRT_MANAGER_IFACE, "DefineXML", &reply, &err,
			 DBUS_TYPE_STRING, &xml, DBUS_TYPE_INVALID) < 0)
		return ctl_bus_error_print(file, &err);
	if (!dbus_message_get_args(reply, NULL, DBUS_TYPE_OBJECT_PATH, &path, DBUS_TYPE_INVALID))
		return ctl_fail(file, _("The daemon answered DefineXML without an object path."));
	domain_name_or(c, path, path, name);
	printf(_("Domain '%s' defined.\n"), name);
	return CTL_EXIT_OK;
}

/* The verbs that call one method without arguments; ret_name is for their one line. */
static int domain_simple(const struct ctl_args *a, const char *method, char *ret_name)
{
	_cleanup_connection_ DBusConnection *c = NULL;
	_cleanup_free_ char *path = NULL;
	struct ctl_bus_error err = {};
	const char *dom = a->argv[0];
	int r;

	r = ctl_connect(a, dom, &c, &path);
	if (r != CTL_EXIT_OK)
		return r;
	/* Read the name first: after Undefine the object is gone. */
	domain_name_or(c, path, dom, ret_name);
	if (ctl_bus_call(c, path, MVIRT_DOMAIN_IFACE, method, NULL, &err, DBUS_TYPE_INVALID) < 0)
		return ctl_bus_error_print(dom, &err);
	return CTL_EXIT_OK;
}

int cmd_undefine(const struct ctl_args *a)
{
	char name[CTL_FIELD_MAX];
	int r = domain_simple(a, "Undefine", name);

	if (r == CTL_EXIT_OK)
		printf(_("Domain '%s' has been undefined.\n"), name);
	return r;
}

int cmd_start(const struct ctl_args *a)
{
	char name[CTL_FIELD_MAX];
	int r = domain_simple(a, "Start", name);

	if (r == CTL_EXIT_OK)
		printf(_("Domain '%s' started.\n"), name);
	return r;
}

int cmd_shutdown(const struct ctl_args *a)
{
	char name[CTL_FIELD_MAX];
	int r = domain_simple(a, "Shutdown", name);

	if (r == CTL_EXIT_OK)
		printf(_("Domain '%s' is being shut down.\n"), name);
	return r;
}

int cmd_destroy(const struct ctl_args *a)
{
	char name[CTL_FIELD_MAX];
	int r = domain_simple(a, "Destroy", name);

	if (r == CTL_EXIT_OK)
		printf(_("Domain '%s' destroyed.\n"), name);
	return r;
}

int cmd_dumpxml(const struct ctl_args *a)
{
	_cleanup_connection_ DBusConnection *c = NULL;
	_cleanup_message_ DBusMessage *reply = NULL;
	_cleanup_free_ char *path = NULL;
	struct ctl_bus_error err = {};
	uint32_t flags = a->options & CTL_OPT_INACTIVE ? CTL_FLAG_CONFIG : CTL_FLAG_CURRENT;
	const char *dom = a->argv[0], *xml;
	int r;

	r = ctl_connect(a, dom, &c, &path);
	if (r != CTL_EXIT_OK)
		return r;
	if (ctl_bus_call(c, path, MVIRT_DOMAIN_IFACE, "GetXML", &reply, &err, DBUS_TYPE_UINT32,
			 &flags, DBUS_TYPE_INVALID) < 0)
		return ctl_bus_error_print(dom, &err);
	if (!dbus_message_get_args(reply, NULL, DBUS_TYPE_STRING, &xml, DBUS_TYPE_INVALID))
		return ctl_fail(dom, _("The daemon answered GetXML without a string."));
	fputs(xml, stdout);
	if (xml[0] && xml[strlen(xml) - 1] != '\n')
		putchar('\n');
	return CTL_EXIT_OK;
}
