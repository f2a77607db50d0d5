/* The verbs: each returns an exit status (enum ctl_exit) and prints its own messages. */
#pragma once

#include <dbus/dbus.h>

#include "args.h"
#include "domain-conf.h"

int cmd_define(const struct ctl_args *a);
int cmd_undefine(const struct ctl_args *a);
int cmd_start(const struct ctl_args *a);
int cmd_shutdown(const struct ctl_args *a);
int cmd_destroy(const struct ctl_args *a);
int cmd_dumpxml(const struct ctl_args *a);
int cmd_list(const struct ctl_args *a);
int cmd_dominfo(const struct ctl_args *a);
int cmd_version(const struct ctl_args *a);
int cmd_attach_device(const struct ctl_args *a);
int cmd_detach_device(const struct ctl_args *a);
int cmd_detach_device_alias(const struct ctl_args *a);
int cmd_console(const struct ctl_args *a);
int cmd_events(const struct ctl_args *a);

/* The name, UUID and state of the domain named by argv[0]: CTL_EXIT_OK, or the exit code
 * after printing why not. */
struct ctl_domain_info;
int ctl_fetch_domain_info(const struct ctl_args *a, struct ctl_domain_info *ret);

/* Connects and, when dom is given, finds its object path; prints the failure itself. */
int ctl_connect(const struct ctl_args *a, const char *dom, DBusConnection **ret_conn,
		char **ret_path);

/* Prints a local failure as "mvirtctl: SUBJECT: SENTENCE" and returns CTL_EXIT_FAILED. */
int ctl_fail(const char *subject, const char *sentence);
/* Reads FILE and, unless --no-validate, checks it as mvirtd would (validate.h). */
int ctl_load_xml(const struct ctl_args *a, const char *file, enum conf_doc doc, char **ret);
