/*
 * QMP error classes: the "class" of an {"error": {"class": ..., "desc": ...}} reply, as
 * QEMU names them on the wire. mvirt-vmm picks one when it refuses a command, mvirtd reads
 * it back into the same enum; nobody spells the strings but the table in qmp-error.c.
 */
#pragma once

enum qmp_error_class {
	QMP_ERROR_GENERIC,           /* "GenericError": anything without a class of its own */
	QMP_ERROR_COMMAND_NOT_FOUND, /* "CommandNotFound": no such command */
	QMP_ERROR_DEVICE_NOT_FOUND,  /* "DeviceNotFound": no device (or backend) with that id */
	/* QEMU also has DeviceNotActive and KVMMissingCap; mvirt-vmm never sends them, and a
	 * class we do not know reads as _INVALID, which callers treat as GenericError. */
	_QMP_ERROR_CLASS_MAX,
	_QMP_ERROR_CLASS_INVALID = -1,
};

const char *qmp_error_class_to_string(enum qmp_error_class c);
enum qmp_error_class qmp_error_class_from_string(const char *s);
