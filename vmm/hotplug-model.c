#include "config.h"

#include <stdbool.h>

#include "hotplug-model.h"
#include "string-table.h"

static const char *const slot_kind_table[_SLOT_KIND_MAX] = {
	[SLOT_BLK] = "blk",
	[SLOT_NET] = "net",
};

DEFINE_STRING_TABLE_TO_STRING(slot_kind, enum slot_kind, _SLOT_KIND_MAX);

static const char *const hotplug_model_table[_HOTPLUG_MODEL_MAX] = {
	[HOTPLUG_SLOTS] = MVIRT_HOTPLUG_SLOTS,
	[HOTPLUG_ACPI] = MVIRT_HOTPLUG_ACPI,
};

DEFINE_STRING_TABLE(hotplug_model, enum hotplug_model, _HOTPLUG_MODEL_MAX);

int hotplug_model_slot_count(enum hotplug_model model, enum slot_kind kind)
{
	bool acpi = model == HOTPLUG_ACPI;

	if (kind == SLOT_BLK)
		return acpi ? MVIRT_ACPI_BLK_SLOTS : MVIRT_BLK_SLOTS;
	if (kind == SLOT_NET)
		return acpi ? MVIRT_ACPI_NET_SLOTS : MVIRT_NET_SLOTS;
	return 0;
}

