/* AttachDevice / DetachDevice with libvirt's flags (DOMAIN_AFFECT_*): which definition each
 * call changes, the live one through domain-hotplug.c. Errors as manager.h says. */
#pragma once

struct domain;

int domain_attach_device(struct domain *d, const char *xml, unsigned flags, char **ret_error);
int domain_detach_device(struct domain *d, const char *xml, unsigned flags, char **ret_error);
int domain_detach_alias(struct domain *d, const char *alias, unsigned flags, char **ret_error);
