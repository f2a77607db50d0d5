#include "config.h"

#include "qmp-error.h"
#include "string-table.h"

static const char *const qmp_error_class_table[_QMP_ERROR_CLASS_MAX] = {
	[QMP_ERROR_GENERIC] = "GenericError",
	[QMP_ERROR_COMMAND_NOT_FOUND] = "CommandNotFound",
	[QMP_ERROR_DEVICE_NOT_FOUND] = "DeviceNotFound",
};

DEFINE_STRING_TABLE(qmp_error_class, enum qmp_error_class, _QMP_ERROR_CLASS_MAX);
