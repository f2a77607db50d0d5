/* Argument tables (qmp-internal.h): every command's arguments are data, checked here. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "i18n.h"
#include "qmp-internal.h"
#include "util.h"

static const char *const type_names[_QMP_TYPE_MAX] = {
	[QMP_TYPE_STR] = "string",
	[QMP_TYPE_INT] = "integer",
	[QMP_TYPE_BOOL] = "boolean",
	[QMP_TYPE_OBJECT] = "object",
	[QMP_TYPE_ARRAY] = "array",
	[QMP_TYPE_STR_OR_INT] = "string or integer",
};

static bool type_matches(enum qmp_type type, struct json_object *v)
{
	switch (type) {
	case QMP_TYPE_STR:
		return json_object_is_type(v, json_type_string);
	case QMP_TYPE_INT:
		return json_object_is_type(v, json_type_int);
	case QMP_TYPE_BOOL:
		return json_object_is_type(v, json_type_boolean);
	case QMP_TYPE_OBJECT:
		return json_object_is_type(v, json_type_object);
	case QMP_TYPE_ARRAY:
		return json_object_is_type(v, json_type_array);
	case QMP_TYPE_STR_OR_INT:
		return json_object_is_type(v, json_type_string) ||
			json_object_is_type(v, json_type_int);
	default:
		return false;
	}
}

static const struct qmp_arg *arg_find(const struct qmp_arg *table, const char *name)
{
	for (; table && table->name; table++)
		if (streq(table->name, name))
			return table;
	return NULL;
}

/* where is "" at the top level, or "file." for members of "file". */
static int check_level(struct qmp_request *r, const char *command, const char *where,
	const struct qmp_arg *table, struct json_object *args)
{
	if (args) {
		json_object_object_foreach(args, key, val) {
			const struct qmp_arg *a = arg_find(table, key);
			char sub[64];
			int err;

			if (!a)
				return qmp_fail(r, QMP_ERROR_GENERIC, -EINVAL,
					_("The command %s has no argument \"%s%s\"; remove it "
					  "(query-commands and qmp-commands.json list the arguments)."),
					command, where, key);
			if (!type_matches(a->type, val))
				return qmp_fail(r, QMP_ERROR_GENERIC, -EINVAL,
					_("The argument \"%s%s\" of %s must be a %s, not %s."), where,
					key, command, type_names[a->type],
					json_type_to_name(json_object_get_type(val)));
			if (a->type != QMP_TYPE_OBJECT || !a->members)
				continue;
			snprintf(sub, sizeof(sub), "%s%s.", where, key);
			err = check_level(r, command, sub, a->members, val);
			if (err < 0)
				return err;
		}
	}
	for (; table && table->name; table++)
		if (table->required && !(args && json_object_object_get_ex(args, table->name, NULL)))
			return qmp_fail(r, QMP_ERROR_GENERIC, -EINVAL,
				_("The command %s needs the argument \"%s%s\"."), command, where,
				table->name);
	return 0;
}

int qmp_args_check(struct qmp_request *r, const char *command, const struct qmp_arg *table,
	struct json_object *args)
{
	return check_level(r, command, "", table, args);
}

const char *qmp_arg_str(struct json_object *args, const char *name)
{
	struct json_object *v;

	if (!args || !json_object_object_get_ex(args, name, &v) ||
		!json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

bool qmp_arg_bool(struct json_object *args, const char *name, bool def)
{
	struct json_object *v;

	if (!args || !json_object_object_get_ex(args, name, &v) ||
		!json_object_is_type(v, json_type_boolean))
		return def;
	return json_object_get_boolean(v);
}
