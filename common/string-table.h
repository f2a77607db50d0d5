/*
 * Enum <-> string tables, as systemd writes them: the table is data, indexed by the enum
 * (`static const char *const NAME_table[_X_MAX] = { [X_A] = "a", ... };`), and one macro
 * writes the functions around it, so every conversion checks its range the same way.
 *
 *   DEFINE_STRING_TABLE_TO_STRING(slot_kind, enum slot_kind, _SLOT_KIND_MAX);
 *     defines const char *slot_kind_to_string(enum slot_kind): NULL out of range or for a
 *     hole in the table;
 *   DEFINE_STRING_TABLE_FROM_STRING(store_device_state, enum store_device_state, _MAX);
 *     defines enum store_device_state store_device_state_from_string(const char *): the
 *     index of the exact (case-sensitive) string, or -1 (the enum's _INVALID) for NULL or
 *     an unknown string;
 *   DEFINE_STRING_TABLE(...) defines both.
 * The function names are public (declare them in the header); the tables stay static.
 */
#pragma once

#include <stddef.h>

const char *string_table_to_string(const char *const *table, size_t n, int i);
int string_table_from_string(const char *const *table, size_t n, const char *s);

/* Each ends in a declaration, so a use ends in ';' and reads as one to tools (ctags, editors). */
#define DEFINE_STRING_TABLE_TO_STRING(name, type, max)                                      \
	const char *name##_to_string(type i)                                                \
	{                                                                                   \
		return string_table_to_string(name##_table, (max), (int)i);                 \
	}                                                                                   \
	_Static_assert(sizeof(name##_table) / sizeof(name##_table[0]) == (max),             \
		       #name "_table has one entry per value")

#define DEFINE_STRING_TABLE_FROM_STRING(name, type, max)                                    \
	type name##_from_string(const char *s)                                              \
	{                                                                                   \
		return (type)string_table_from_string(name##_table, (max), s);              \
	}                                                                                   \
	_Static_assert((max) > 0, #name "_table is not empty")

#define DEFINE_STRING_TABLE(name, type, max)                                                \
	DEFINE_STRING_TABLE_TO_STRING(name, type, max);                                     \
	DEFINE_STRING_TABLE_FROM_STRING(name, type, max)
