/* The table of verbs: what `mvirtctl --help` lists and the parser accepts. */
#include "config.h"

#include "args.h"
#include "cleanup.h"
#include "commands.h"
#include "i18n.h"

#define DOM "DOM"

const struct ctl_verb ctl_verbs[] = {
	{ "define", "FILE", N_("Define (or update) a domain from an XML file."), 1, 1,
	  CTL_OPT_NO_VALIDATE, cmd_define },
	{ "undefine", DOM, N_("Remove a domain's definition."), 1, 1, 0, cmd_undefine },
	{ "start", DOM, N_("Start a defined domain."), 1, 1, 0, cmd_start },
	{ "shutdown", DOM, N_("Ask a domain's guest to power off."), 1, 1, 0, cmd_shutdown },
	{ "destroy", DOM, N_("Stop a domain at once, as pulling its plug."), 1, 1, 0, cmd_destroy },
	{ "list", "[--all] [--json]", N_("List the running domains, or all with --all."), 0, 0,
	  CTL_OPT_ALL | CTL_OPT_JSON, cmd_list },
	{ "dominfo", DOM " [--json]", N_("Show a domain's name, UUID, state and autostart."), 1, 1,
	  CTL_OPT_JSON, cmd_dominfo },
	{ "dumpxml", DOM " [--inactive]", N_("Print a domain's XML definition."), 1, 1,
	  CTL_OPT_INACTIVE, cmd_dumpxml },
	{ "attach-device", DOM " FILE [--live|--config|--persistent|--current]",
	  N_("Hot-plug a disk or a NIC described in an XML file."), 2, 2,
	  CTL_OPTS_DEVICE | CTL_OPT_NO_VALIDATE, cmd_attach_device },
	{ "detach-device", DOM " FILE [--live|--config|--persistent|--current]",
	  N_("Unplug the device an XML file describes."), 2, 2,
	  CTL_OPTS_DEVICE | CTL_OPT_NO_VALIDATE, cmd_detach_device },
	{ "detach-device-alias", DOM " ALIAS [--live|--config|--persistent|--current]",
	  N_("Unplug a device given its alias."), 2, 2, CTL_OPTS_DEVICE,
	  cmd_detach_device_alias },
	{ "console", DOM, N_("Connect to a running domain's serial console (Ctrl-] leaves)."), 1,
	  1, 0, cmd_console },
	{ "events", "[" DOM "] [--json]", N_("Print the daemon's events until interrupted."), 0, 1,
	  CTL_OPT_JSON, cmd_events },
	{ "version", "", N_("Show mvirtctl's version."), 0, 0, 0, cmd_version },
};
const unsigned ctl_verbs_count = ELEMENTSOF(ctl_verbs);
