/*
 * The two hot-plug models and their slot counts (hotplug.h tells them apart), for the
 * command line and the machine as well as the slot manager.
 */
#pragma once

#include "vmm-contract.h"

enum slot_kind {
	SLOT_BLK,
	SLOT_NET,
	_SLOT_KIND_MAX,
	_SLOT_KIND_INVALID = -1,
};

/* "blk", "net" (the kind names query-slots reports). */
const char *slot_kind_to_string(enum slot_kind kind);

enum hotplug_model {
	HOTPLUG_SLOTS, /* "slots": StratoVirt's fixed slots */
	HOTPLUG_ACPI,  /* "acpi": ACPI hot-add and guest-acknowledged unplug */
	_HOTPLUG_MODEL_MAX,
	_HOTPLUG_MODEL_INVALID = -1,
};

const char *hotplug_model_to_string(enum hotplug_model m);
enum hotplug_model hotplug_model_from_string(const char *s);

/* Slots of a kind in a model: 6 and 2, or 32 and 8. */
int hotplug_model_slot_count(enum hotplug_model model, enum slot_kind kind);
