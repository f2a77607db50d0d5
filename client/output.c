#include "config.h"

#include <errno.h>
#include <json-c/json.h>
#include <string.h>

#include "i18n.h"
#include "json-stream.h"
#include "output.h"
#include "util.h"

static int put_json(FILE *f, struct json_object *o)
{
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							   JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!s)
		return -ENOMEM;
	return fprintf(f, "%s\n", s) < 0 ? -EIO : 0;
}

static struct json_object *domain_to_json(const struct ctl_domain_info *d)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	json_object_object_add(o, "name", json_object_new_string(d->name));
	json_object_object_add(o, "uuid", json_object_new_string(d->uuid));
	json_object_object_add(o, "state", json_object_new_string(d->state));
	if (d->state_reason[0])
		json_object_object_add(o, "state_reason", json_object_new_string(d->state_reason));
	if (d->has_autostart)
		json_object_object_add(o, "autostart", json_object_new_boolean(d->autostart));
	return o;
}

int output_dominfo(FILE *f, const struct ctl_domain_info *d, bool json)
{
	if (json) {
		_cleanup_json_ struct json_object *o = domain_to_json(d);
		return o ? put_json(f, o) : -ENOMEM;
	}
	/* TRANSLATORS: the labels of 'mvirtctl dominfo', padded to one column. */
	fprintf(f, "%-12s %s\n", _("Name:"), d->name);
	fprintf(f, "%-12s %s\n", _("UUID:"), d->uuid);
	fprintf(f, "%-12s %s\n", _("State:"), d->state);
	if (d->state_reason[0])
		fprintf(f, "%-12s %s\n", _("Reason:"), d->state_reason);
	if (d->has_autostart)
		fprintf(f, "%-12s %s\n", _("Autostart:"),
			d->autostart ? _("enable") : _("disable"));
	return ferror(f) ? -EIO : 0;
}

int output_list(FILE *f, const struct ctl_domain_info *d, unsigned n, bool json)
{
	if (json) {
		_cleanup_json_ struct json_object *a = json_object_new_array();
		if (!a)
			return -ENOMEM;
		for (unsigned i = 0; i < n; i++)
			json_object_array_add(a, domain_to_json(&d[i]));
		return put_json(f, a);
	}
	/* The column heads stay English, like virsh's, so scripts can skip them. */
	fprintf(f, " %-36s  %-20s %s\n", "UUID", "Name", "State");
	fprintf(f, "-------------------------------------------------------------------------\n");
	for (unsigned i = 0; i < n; i++)
		fprintf(f, " %-36s  %-20s %s\n", d[i].uuid, d[i].name, d[i].state);
	return ferror(f) ? -EIO : 0;
}

static int event_to_json(FILE *f, const struct ctl_event *e)
{
	_cleanup_json_ struct json_object *o = json_object_new_object();

	if (!o)
		return -ENOMEM;
	json_object_object_add(o, "event", json_object_new_string(e->signal));
	if (e->uuid)
		json_object_object_add(o, "uuid", json_object_new_string(e->uuid));
	if (e->name)
		json_object_object_add(o, "name", json_object_new_string(e->name));
	if (e->arg)
		json_object_object_add(o, streq(e->signal, "StateChanged") ? "state" : "device",
				       json_object_new_string(e->arg));
	if (e->property_json) {
		struct json_object *p = json_tokener_parse(e->property_json);
		if (p)
			json_object_object_add(o, "properties", p);
	}
	return put_json(f, o);
}

int output_event(FILE *f, const struct ctl_event *e, bool json)
{
	int r;

	if (json)
		r = event_to_json(f, e);
	else {
		/* One line an event, fields separated by single spaces: easy to grep and cut. */
		fprintf(f, "%s %s %s", e->name ? e->name : "-", e->uuid ? e->uuid : "-",
			e->signal);
		if (e->arg)
			fprintf(f, " %s", e->arg);
		if (e->property_json)
			fprintf(f, " %s", e->property_json);
		r = fputc('\n', f) == EOF ? -EIO : 0;
	}
	/* A reader at the other end of a pipe wants each event as it happens. */
	fflush(f);
	return r;
}

int output_uuid_from_path(const char *path, char *ret, size_t size)
{
	const char *last = strrchr(path, '/');
	size_t len;

	if (!last || last[1] != '_')
		return -EINVAL;
	last += 2;
	len = strlen(last);
	if (len == 0 || len >= size)
		return -EINVAL;
	for (size_t i = 0; i <= len; i++)
		ret[i] = last[i] == '_' ? '-' : last[i];
	return 0;
}
