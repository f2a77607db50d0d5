/* Hot-plug verbs: attach-device, detach-device, detach-device-alias. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "bus.h"
#include "commands.h"
#include "i18n.h"
#include "util.h"

/* Works out the flags; --persistent needs the domain's state, read from the daemon. */
static int resolve_flags(const struct ctl_args *a, DBusConnection *c, const char *path,
			 uint32_t *ret)
{
	_cleanup_free_ char *error = NULL;
	struct ctl_domain_info info = {};
	struct ctl_bus_error err = {};
	bool running = false;

	if (ctl_flags_need_state(a->options)) {
		if (ctl_bus_domain_info(c, path, &info, &err) < 0)
			return ctl_bus_error_print(a->argv[0], &err);
		running = streq(info.state, "running") || streq(info.state, "paused");
	}
	if (ctl_device_flags(a->options, running, ret, &error) < 0) {
		fprintf(stderr, "mvirtctl: %s\n", error ? error : _("Out of memory."));
		return CTL_EXIT_USAGE;
	}
	return CTL_EXIT_OK;
}

/* attach-device and detach-device: DOM FILE, the file checked locally first. */
static int device_by_file(const struct ctl_args *a, const char *method, const char *done)
{
	_cleanup_connection_ DBusConnection *c = NULL;
	_cleanup_free_ char *path = NULL, *xml = NULL, *error = NULL;
	struct ctl_bus_error err = {};
	const char *file = a->argv[1];
	uint32_t flags;
	int r;

	/* Usage errors first, before any file is read or bus is opened. */
	if (ctl_device_flags(a->options, false, &flags, &error) < 0) {
		fprintf(stderr, "mvirtctl: %s\n", error ? error : _("Out of memory."));
		return CTL_EXIT_USAGE;
	}
	r = ctl_load_xml(a, file, CONF_DOC_DEVICE, &xml);
	if (r == CTL_EXIT_OK)
		r = ctl_connect(a, a->argv[0], &c, &path);
	if (r == CTL_EXIT_OK)
		r = resolve_flags(a, c, path, &flags);
	if (r != CTL_EXIT_OK)
		return r;
	if (ctl_bus_call(c, path, MVIRT_DOMAIN_IFACE, method, NULL, &err, DBUS_TYPE_STRING, &xml,
			 DBUS_TYPE_UINT32, &flags, DBUS_TYPE_INVALID) < 0)
		return ctl_bus_error_print(file, &err);
	puts(done);
	return CTL_EXIT_OK;
}

int cmd_attach_device(const struct ctl_args *a)
{
	return device_by_file(a, "AttachDevice", _("Device attached successfully."));
}

int cmd_detach_device(const struct ctl_args *a)
{
	return device_by_file(a, "DetachDevice", _("Device detached successfully."));
}

int cmd_detach_device_alias(const struct ctl_args *a)
{
	_cleanup_connection_ DBusConnection *c = NULL;
	_cleanup_free_ char *path = NULL, *error = NULL;
	struct ctl_bus_error err = {};
	const char *alias = a->argv[1];
	uint32_t flags;
	int r;

	if (ctl_device_flags(a->options, false, &flags, &error) < 0) {
		fprintf(stderr, "mvirtctl: %s\n", error ? error : _("Out of memory."));
		return CTL_EXIT_USAGE;
	}
	r = ctl_connect(a, a->argv[0], &c, &path);
	if (r == CTL_EXIT_OK)
		r = resolve_flags(a, c, path, &flags);
	if (r != CTL_EXIT_OK)
		return r;
	if (ctl_bus_call(c, path, MVIRT_DOMAIN_IFACE, "DetachDeviceAlias", NULL, &err,
			 DBUS_TYPE_STRING, &alias, DBUS_TYPE_UINT32, &flags, DBUS_TYPE_INVALID) < 0)
		return ctl_bus_error_print(alias, &err);
	puts(_("Device detached successfully."));
	return CTL_EXIT_OK;
}
