/* Plugging devices into a running VMM and unplugging them, step by step in the store (see
 * domain-hotplug.c). Errors as manager.h says. */
#pragma once

#include <stdbool.h>

/* How long a detach waits for DEVICE_DELETED before returning with the device detaching. */
#define DOMAIN_DETACH_TIMEOUT_MS 5000

struct device_def;
struct domain;
struct manager;
struct store_device;

/* Plugs a device of the definition into the running VMM (Start, restore). */
int domain_hotplug_apply(struct domain *d, struct device_def *dev, bool persistent,
		  char **ret_error);
/* device_del, then up to DOMAIN_DETACH_TIMEOUT_MS for DEVICE_DELETED (else left detaching). */
int domain_hotplug_unplug(struct domain *d, const char *alias, char **ret_error);
/* A DEVICE_DELETED event for a device that was left detaching. */
void domain_hotplug_device_deleted(struct domain *d, const char *alias);
/* The VMM no longer has the device of row: drop backend, bridge, row; DeviceRemoved. */
void domain_hotplug_unplug_finish(struct domain *d, const struct store_device *row);
/* Forgets the rows and host-side resources of all live devices (the VMM is gone). */
void domain_hotplug_cleanup_all(struct domain *d);
/* Deletes every bridge mvirtd created that has no port left (at start: one left behind by a
 * crash or a race), and forgets those that are gone. */
void domain_hotplug_bridges_reap(struct manager *m);
