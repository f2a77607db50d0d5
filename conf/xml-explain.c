/*
 * Which attribute made RelaxNG refuse a document, read from the schema itself: for an
 * attribute of the document, every <attribute name=> of the schema that belongs to an
 * <element> of the same name (directly, or through a <define> that element refers to) lists
 * the values it allows; an attribute no such <element> has is named as unsupported. The
 * schema stays the one place that says what mvirt supports.
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>

#include "cleanup.h"
#include "i18n.h"
#include "util.h"
#include "xml-explain.h"
#include "xml-util.h"

#define EXPLAIN_FILES_MAX 4    /* domain.rng and what it includes */
#define EXPLAIN_REF_DEPTH 4    /* <define>s followed through <ref>s */
#define EXPLAIN_VALUES_MAX 256 /* characters of the "what mvirt supports" list */

struct rng_set {
	xmlDocPtr doc[EXPLAIN_FILES_MAX];
	unsigned n;
};

static bool is_rng(xmlNodePtr n, const char *name)
{
	return n && n->type == XML_ELEMENT_NODE && n->ns &&
	       streq((const char *)n->ns->href, "http://relaxng.org/ns/structure/1.0") &&
	       streq((const char *)n->name, name);
}

static bool prop_is(xmlNodePtr n, const char *prop, const char *want)
{
	xmlChar *v = xmlGetProp(n, BAD_CAST prop);
	bool eq = v && streq((const char *)v, want);

	xmlFree(v);
	return eq;
}

/* Document order, elements only. */
static xmlNodePtr next_element(xmlNodePtr n)
{
	if (n->children)
		for (xmlNodePtr c = n->children; c; c = c->next)
			if (c->type == XML_ELEMENT_NODE)
				return c;
	for (; n; n = n->parent) {
		for (xmlNodePtr s = n->next; s; s = s->next)
			if (s->type == XML_ELEMENT_NODE)
				return s;
		if (!n->parent || n->parent->type != XML_ELEMENT_NODE)
			return NULL;
	}
	return NULL;
}

static void rng_set_load(struct rng_set *set, const char *dir, const char *file, unsigned depth)
{
	_cleanup_free_ char *path = NULL;
	xmlDocPtr doc;

	if (set->n == EXPLAIN_FILES_MAX || depth > EXPLAIN_REF_DEPTH || strchr(file, '/') ||
	    asprintf(&path, "%s/%s", dir, file) < 0)
		return;
	doc = xmlReadFile(path, NULL, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (!doc)
		return;
	set->doc[set->n++] = doc;
	for (xmlNodePtr n = xmlDocGetRootElement(doc); n; n = next_element(n))
		if (is_rng(n, "include")) {
			xmlChar *href = xmlGetProp(n, BAD_CAST "href");

			if (href)
				rng_set_load(set, dir, (const char *)href, depth + 1);
			xmlFree(href);
		}
}

static void rng_set_free(struct rng_set *set)
{
	for (unsigned i = 0; i < set->n; i++)
		xmlFreeDoc(set->doc[i]);
	set->n = 0;
}

/* True when the schema node def sits in an <element name=elem>, directly or through refs. */
static bool owned_by(const struct rng_set *set, xmlNodePtr def, const char *elem, unsigned depth)
{
	for (xmlNodePtr p = def->parent; p && p->type == XML_ELEMENT_NODE; p = p->parent) {
		_cleanup_free_ char *name = NULL;
		xmlChar *v;

		if (is_rng(p, "element"))
			return prop_is(p, "name", elem);
		if (!is_rng(p, "define"))
			continue;
		if (depth >= EXPLAIN_REF_DEPTH || !(v = xmlGetProp(p, BAD_CAST "name")))
			return false;
		name = strdup((const char *)v);
		xmlFree(v);
		for (unsigned i = 0; name && i < set->n; i++)
			for (xmlNodePtr n = xmlDocGetRootElement(set->doc[i]); n;
			     n = next_element(n))
				if (is_rng(n, "ref") && prop_is(n, "name", name) &&
				    owned_by(set, n, elem, depth + 1))
					return true;
		return false;
	}
	return false;
}

struct allowed {
	char list[EXPLAIN_VALUES_MAX];
	bool any;   /* some definition takes more than a list of values */
	bool found; /* some definition matched at all */
	bool holds; /* value is one of the listed */
};

/* Whether the ", "-separated list already names value. */
static bool list_has(const char *list, const char *value)
{
	size_t n = strlen(value);

	for (const char *p = list; (p = strstr(p, value)); p += n)
		if ((p == list || p[-1] == ' ') && (p[n] == '\0' || p[n] == ','))
			return true;
	return false;
}

/* Adds the <value>s under an <attribute> (through <choice>) to a; anything else is open. */
static void allowed_add(struct allowed *a, xmlNodePtr n, const char *value)
{
	for (xmlNodePtr c = n->children; c; c = c->next) {
		xmlChar *text;

		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (is_rng(c, "choice")) {
			allowed_add(a, c, value);
			continue;
		}
		if (!is_rng(c, "value")) {
			a->any = true;
			continue;
		}
		text = xmlNodeGetContent(c);
		if (text && streq((const char *)text, value))
			a->holds = true;
		if (text && !list_has(a->list, (const char *)text)) {
			size_t len = strlen(a->list);

			snprintf(a->list + len, sizeof(a->list) - len, "%s%s", len ? ", " : "",
				 (const char *)text);
		}
		xmlFree(text);
	}
}

static void allowed_collect(const struct rng_set *set, const char *elem, const char *attr,
			    const char *value, struct allowed *a)
{
	for (unsigned i = 0; i < set->n; i++)
		for (xmlNodePtr n = xmlDocGetRootElement(set->doc[i]); n;
		     n = next_element(n))
			if (is_rng(n, "attribute") && prop_is(n, "name", attr) &&
			    owned_by(set, n, elem, 0)) {
				a->found = true;
				allowed_add(a, n, value);
			}
}

static bool element_known(const struct rng_set *set, const char *elem)
{
	for (unsigned i = 0; i < set->n; i++)
		for (xmlNodePtr n = xmlDocGetRootElement(set->doc[i]); n; n = next_element(n))
			if (is_rng(n, "element") && prop_is(n, "name", elem))
				return true;
	return false;
}

int xml_explain_values(xmlDocPtr doc, const char *schema_dir, const char *schema,
		       long *ret_error_line, char **ret_error)
{
	struct rng_set set = {};
	int r = 0;

	rng_set_load(&set, schema_dir, schema, 0);
	for (xmlNodePtr n = set.n ? xmlDocGetRootElement(doc) : NULL; n && r == 0;
	     n = next_element(n))
		for (xmlAttrPtr at = n->properties; at && r == 0; at = at->next) {
			struct allowed a = {};
			xmlChar *value;

			if (at->ns)
				continue;
			value = xmlNodeGetContent((xmlNodePtr)at);
			allowed_collect(&set, (const char *)n->name, (const char *)at->name,
					value ? (const char *)value : "", &a);
			if (!a.found && element_known(&set, (const char *)n->name))
				r = error_set(ret_error, -EINVAL,
					_("The attribute %s of <%s> at line %ld is not supported by "
					  "mvirt; remove it."),
					(const char *)at->name, (const char *)n->name,
					xmlGetLineNo(n));
			else if (a.found && !a.any && !a.holds)
				r = error_set(ret_error, -EINVAL,
					_("The value %s of <%s %s> at line %ld is not supported; "
					  "mvirt supports %s."),
					value ? (const char *)value : "", (const char *)n->name,
					(const char *)at->name, xmlGetLineNo(n), a.list);
			xml_error_line(ret_error_line, r < 0 ? xmlGetLineNo(n) : 0, r);
			xmlFree(value);
		}
	rng_set_free(&set);
	return r;
}
