/*
 * What mvirtctl prints: plain text for people, JSON for scripts. The
 * functions write to a FILE so the unit tests can read the result back.
 */
#pragma once

#include <stdbool.h>
#include <stdio.h>

/* Longest name, UUID or state a domain line shows; longer values are refused by the bus code. */
#define CTL_FIELD_MAX 256

struct ctl_domain_info {
	char name[CTL_FIELD_MAX];
	char uuid[CTL_FIELD_MAX];
	char state[CTL_FIELD_MAX];
	char state_reason[CTL_FIELD_MAX * 2]; /* why it crashed; empty in other states */
	bool autostart;
	bool has_autostart;
};

/* One event the daemon signalled, as `events` prints it. */
struct ctl_event {
	const char *uuid;   /* from the object path; may be NULL */
	const char *name;   /* NULL when no longer known */
	const char *signal; /* DeviceAdded, DeviceRemoved, DeviceRemovalFailed, StateChanged,
			       PropertiesChanged */
	const char *arg;    /* device alias or state; NULL for PropertiesChanged */
	const char *property_json; /* PropertiesChanged: {"State":"running",...} as JSON text */
};

int output_dominfo(FILE *f, const struct ctl_domain_info *d, bool json);
int output_list(FILE *f, const struct ctl_domain_info *d, unsigned n, bool json);
int output_event(FILE *f, const struct ctl_event *e, bool json);

/* "_1234_abcd..." (the last element of a domain path) back to "1234-abcd...". */
int output_uuid_from_path(const char *path, char *ret, size_t size);
