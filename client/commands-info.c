/* Verbs that only read: list, dominfo, version. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"
#include "commands.h"
#include "i18n.h"
#include "util.h"

static int list_paths(DBusConnection *c, char ***ret, unsigned *ret_n)
{
	_cleanup_message_ DBusMessage *reply = NULL;
	struct ctl_bus_error err = {};
	char **paths = NULL;
	int n = 0;

	if (ctl_bus_call(c, MVIRT_MANAGER_PATH, MVIRT_MANAGER_IFACE, "ListDomains", &reply, &err,
			 DBUS_TYPE_INVALID) < 0)
		return ctl_bus_error_print(NULL, &err);
	if (!dbus_message_get_args(reply, NULL, DBUS_TYPE_ARRAY, DBUS_TYPE_OBJECT_PATH, &paths, &n,
				   DBUS_TYPE_INVALID))
		return ctl_fail("ListDomains", _("The daemon answered with an unexpected signature."));
	if (n > CTL_LIST_MAX) {
		dbus_free_string_array(paths);
		return ctl_fail("ListDomains", _("The daemon listed more domains than mvirtctl can "
						 "show (4096)."));
	}
	*ret = paths;
	*ret_n = n;
	return CTL_EXIT_OK;
}

static int compare_names(const void *x, const void *y)
{
	const struct ctl_domain_info *a = x, *b = y;

	return strcmp(a->name, b->name);
}

int cmd_list(const struct ctl_args *a)
{
	_cleanup_connection_ DBusConnection *c = NULL;
	_cleanup_free_ struct ctl_domain_info *infos = NULL;
	char **paths = NULL;
	unsigned n = 0, shown = 0;
	int r;

	r = ctl_connect(a, NULL, &c, NULL);
	if (r == CTL_EXIT_OK)
		r = list_paths(c, &paths, &n);
	if (r != CTL_EXIT_OK)
		return r;
	infos = calloc(n ? n : 1, sizeof(*infos));
	if (!infos) {
		dbus_free_string_array(paths);
		return ctl_fail("list", NULL);
	}
	for (unsigned i = 0; i < n; i++) {
		struct ctl_bus_error err = {};
		/* A domain undefined between the two calls is simply not listed. */
		if (ctl_bus_domain_info(c, paths[i], &infos[shown], &err) < 0)
			continue;
		/* As virsh: without --all, only the domains that run (or are paused). */
		if (!(a->options & CTL_OPT_ALL) && streq(infos[shown].state, "shutoff"))
			continue;
		shown++;
	}
	dbus_free_string_array(paths);
	qsort(infos, shown, sizeof(*infos), compare_names);
	if (output_list(stdout, infos, shown, a->options & CTL_OPT_JSON) < 0)
		return ctl_fail("list", _("Cannot write to standard output."));
	return CTL_EXIT_OK;
}

int cmd_dominfo(const struct ctl_args *a)
{
	struct ctl_domain_info info = {};
	int r;

	r = ctl_fetch_domain_info(a, &info);
	if (r != CTL_EXIT_OK)
		return r;
	if (output_dominfo(stdout, &info, a->options & CTL_OPT_JSON) < 0)
		return ctl_fail("dominfo", _("Cannot write to standard output."));
	return CTL_EXIT_OK;
}

int cmd_version(const struct ctl_args *a)
{
	printf("mvirtctl %s\n", PACKAGE_VERSION);
	return CTL_EXIT_OK;
}
