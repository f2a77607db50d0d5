/*
 * The one safe way conf/ reads XML: a size limit, no network, no DTD or entity expansion,
 * every libxml2 complaint captured into one sentence with its line, unknown elements named,
 * then RelaxNG. Also the XPath readers and the output buffer the formatters share.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/relaxng.h>
#include <libxml/xmlerror.h>

#include "device-conf.h"
#include "domain-conf.h"
#include "i18n.h"
#include "log.h"
#include "util.h"
#include "xml-explain.h"
#include "xml-util.h"

#define SCHEMA_NAMES_MAX 64     /* element names one schema (with its includes) may declare */
#define SCHEMA_INCLUDE_DEPTH 4  /* nesting of <include href=> followed */
#define XML_MESSAGE_MAX 256     /* characters kept of a libxml2 message */
#define XML_WALK_DEPTH 16       /* element nesting looked at by the unknown-element scan */

static inline void xml_freep(xmlChar **p)
{
	if (*p)
		xmlFree(*p);
}

DEFINE_TRIVIAL_CLEANUP_FUNC(xmlParserCtxtPtr, xmlFreeParserCtxt);
DEFINE_TRIVIAL_CLEANUP_FUNC(xmlRelaxNGParserCtxtPtr, xmlRelaxNGFreeParserCtxt);
DEFINE_TRIVIAL_CLEANUP_FUNC(xmlRelaxNGValidCtxtPtr, xmlRelaxNGFreeValidCtxt);

const char *conf_schema_dir(void)
{
	const char *env = getenv("MVIRT_SCHEMAS");

	return isempty(env) ? SCHEMADIR : env;
}

/* The first complaint libxml2 makes; later ones are mostly consequences of it. */
struct xml_errors {
	bool set;
	long line;
	char element[64];
	char message[XML_MESSAGE_MAX];
};

static void xml_errors_capture(void *userdata, xmlErrorPtr err)
{
	struct xml_errors *e = userdata;
	xmlNodePtr node;
	size_t n;

	if (!err)
		return;
	node = err->node;
	/* Later complaints only fill in the line and element the first one lacked. */
	if (e->set) {
		if (e->line <= 0 && node && node->type == XML_ELEMENT_NODE) {
			snprintf(e->element, sizeof(e->element), "%s", (const char *)node->name);
			e->line = err->line > 0 ? err->line : xmlGetLineNo(node);
		}
		return;
	}
	e->set = true;
	e->line = err->line;
	snprintf(e->message, sizeof(e->message), "%s", err->message ? err->message : "?");
	n = strlen(e->message);
	while (n > 0 && (e->message[n - 1] == '\n' || e->message[n - 1] == ' ' ||
			 e->message[n - 1] == '.'))
		e->message[--n] = '\0';
	if (node && node->type == XML_ELEMENT_NODE) {
		snprintf(e->element, sizeof(e->element), "%s", (const char *)node->name);
		if (e->line <= 0)
			e->line = xmlGetLineNo(node);
	}
}

/* Where the text after p ends with end (a C string), or the end of the text. */
static const char *skip_past(const char *p, const char *limit, const char *end)
{
	size_t n = strlen(end);

	for (; p + n <= limit; p++)
		if (!memcmp(p, end, n))
			return p + n;
	return limit;
}

/*
 * The document's shape, counted on its bytes in one pass before the parser runs: elements,
 * attributes per element and nesting depth. Comments, CDATA, processing instructions and
 * declarations are skipped; what is not well-formed is left to the parser to name.
 */
static int xml_bounds_check(const char *xml, size_t len, long *ret_error_line,
			    char **ret_error)
{
	const char *p = xml, *limit = xml + len;
	unsigned elements = 0, depth = 0;
	long line = 1;

	while (p < limit) {
		const char *start = p;

		if (*p != '<') {
			line += *p++ == '\n';
			continue;
		}
		if (!strncmp(p, "<!--", 4))
			p = skip_past(p + 4, limit, "-->");
		else if (!strncmp(p, "<![CDATA[", 9))
			p = skip_past(p + 9, limit, "]]>");
		else if (!strncmp(p, "<?", 2))
			p = skip_past(p + 2, limit, "?>");
		else if (!strncmp(p, "<!", 2))
			p = skip_past(p + 2, limit, ">");
		else if (!strncmp(p, "</", 2)) {
			p = skip_past(p + 2, limit, ">");
			depth = depth ? depth - 1 : 0;
		} else {
			unsigned attrs = 0;
			char quote = 0;

			if (++elements > CONF_XML_ELEMENTS_MAX)
				return error_set(ret_error, -EINVAL,
					_("The XML document has more than %d elements; a definition "
					  "needs far fewer."), CONF_XML_ELEMENTS_MAX);
			if (++depth > CONF_XML_DEPTH_MAX)
				return xml_error_line(ret_error_line, line, error_set(ret_error,
					-EINVAL, _("The XML document nests elements more than %d "
						   "levels deep at line %ld."),
					CONF_XML_DEPTH_MAX, line));
			for (p++; p < limit && (quote || *p != '>'); p++) {
				if (quote && *p == quote)
					quote = 0;
				else if (!quote && (*p == '"' || *p == '\''))
					quote = *p;
				else if (!quote && *p == '=' && ++attrs > CONF_XML_ATTRS_MAX)
					return xml_error_line(ret_error_line, line, error_set(
						ret_error, -EINVAL,
						_("An element at line %ld of the XML document has "
						  "more than %d attributes."),
						line, CONF_XML_ATTRS_MAX));
			}
			if (p < limit && p[-1] == '/')
				depth--;
			p = p < limit ? p + 1 : p;
		}
		for (; start < p; start++)
			line += *start == '\n';
	}
	return 0;
}

static int xml_read(const char *xml, xmlDocPtr *ret_doc, long *ret_error_line, char **ret_error)
{
	_cleanup_(xmlFreeParserCtxtp) xmlParserCtxtPtr pctxt = NULL;
	struct xml_errors errs = {};
	void *old_ctx = xmlStructuredErrorContext;
	xmlStructuredErrorFunc old_fn = xmlStructuredError;
	xmlDocPtr doc;
	size_t len = strnlen(xml, CONF_XML_MAX + 1);

	if (len > CONF_XML_MAX)
		return error_set(ret_error, -EINVAL,
			_("The XML document is larger than %d bytes; shorten it."), CONF_XML_MAX);
	if (xml_bounds_check(xml, len, ret_error_line, ret_error) < 0)
		return -EINVAL;
	pctxt = xmlNewParserCtxt();
	if (!pctxt)
		return -ENOMEM;
	/* No XML_PARSE_NOENT, _DTDLOAD or _HUGE: entities stay unexpanded, nothing is fetched. */
	xmlSetStructuredErrorFunc(&errs, xml_errors_capture);
	doc = xmlCtxtReadMemory(pctxt, xml, (int)len, "input.xml", NULL,
				XML_PARSE_NONET | XML_PARSE_NOWARNING);
	xmlSetStructuredErrorFunc(old_ctx, old_fn);
	if (!doc || !pctxt->wellFormed) {
		xmlFreeDoc(doc);
		if (!errs.set)
			return error_set(ret_error, -EINVAL,
				_("The XML has no document element; give one root element."));
		return xml_error_line(ret_error_line, errs.line, error_set(ret_error, -EINVAL,
			_("The XML is not well-formed at line %ld: %s."), errs.line, errs.message));
	}
	if (doc->intSubset || doc->extSubset) {
		long line = doc->intSubset ? xmlGetLineNo((xmlNodePtr)doc->intSubset) : 1;

		xmlFreeDoc(doc);
		line = line > 0 ? line : 1;
		return xml_error_line(ret_error_line, line, error_set(ret_error, -EINVAL,
			_("The XML has a DOCTYPE at line %ld; remove it, DTDs and entities "
			  "are not accepted."),
			line));
	}
	*ret_doc = doc;
	return 0;
}

static bool is_rng(xmlNodePtr n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && n->ns &&
	       streq((const char *)n->ns->href, "http://relaxng.org/ns/structure/1.0") &&
	       streq((const char *)n->name, name);
}

struct schema_names {
	char names[SCHEMA_NAMES_MAX][32];
	size_t n;
};

static int schema_names_load(const char *file, struct schema_names *sn, unsigned depth);

static void schema_names_walk(xmlNodePtr n, struct schema_names *sn, unsigned depth)
{
	for (; n; n = n->next) {
		if (is_rng(n, "element")) {
			_cleanup_(xml_freep) xmlChar *name = xmlGetProp(n, BAD_CAST "name");

			if (name && sn->n < SCHEMA_NAMES_MAX)
				snprintf(sn->names[sn->n++], sizeof(sn->names[0]), "%s",
					 (const char *)name);
		} else if (is_rng(n, "include")) {
			_cleanup_(xml_freep) xmlChar *href = xmlGetProp(n, BAD_CAST "href");

			if (href && !strchr((const char *)href, '/'))
				schema_names_load((const char *)href, sn, depth + 1);
		}
		if (n->type == XML_ELEMENT_NODE)
			schema_names_walk(n->children, sn, depth);
	}
}

/* Collects every element name a schema file (and the files it includes) declares. */
static int schema_names_load(const char *file, struct schema_names *sn, unsigned depth)
{
	_cleanup_free_ char *path = NULL;
	_cleanup_(xmlFreeDocp) xmlDocPtr doc = NULL;

	if (depth > SCHEMA_INCLUDE_DEPTH)
		return -ELOOP;
	if (asprintf(&path, "%s/%s", conf_schema_dir(), file) < 0)
		return -ENOMEM;
	doc = xmlReadFile(path, NULL, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (!doc)
		return -ENOENT;
	schema_names_walk(xmlDocGetRootElement(doc), sn, depth);
	return 0;
}

static bool schema_names_has(const struct schema_names *sn, const char *name)
{
	for (size_t i = 0; i < sn->n; i++)
		if (streq(sn->names[i], name))
			return true;
	return false;
}

/* The first element in document order the schema does not declare at all. */
static xmlNodePtr find_unknown_element(xmlNodePtr n, const struct schema_names *sn,
				       unsigned depth)
{
	for (; n && depth < XML_WALK_DEPTH; n = n->next) {
		xmlNodePtr bad;

		if (n->type != XML_ELEMENT_NODE)
			continue;
		if (!schema_names_has(sn, (const char *)n->name))
			return n;
		bad = find_unknown_element(n->children, sn, depth + 1);
		if (bad)
			return bad;
	}
	return NULL;
}

/*
 * A schema parsed once per process: every Define and attach parses a definition, and reading
 * domain.rng with its includes twice for each was most of the cost. Keyed by the full path,
 * so a changed $MVIRT_SCHEMAS loads afresh; a schema that fails to load is not kept.
 */
#define SCHEMA_CACHE_MAX 4 /* domain.rng and device.rng, with room for a second folder */
struct schema_entry {
	char *path;
	xmlRelaxNGPtr rng;
	struct schema_names names;
};
static struct schema_entry schema_cache[SCHEMA_CACHE_MAX];
static unsigned schema_cache_next;
/*
 * Held over a whole xml_parse_validated(): mvirtd parses on several threads, and libxml2 does
 * not promise that one xmlRelaxNG validates in two at once. The caller uses one entry at a
 * time, so evicting another while loading is safe.
 */
static pthread_mutex_t schema_lock = PTHREAD_MUTEX_INITIALIZER;

static int schema_entry_load(struct schema_entry *e, const char *schema, char **ret_error)
{
	_cleanup_(xmlRelaxNGFreeParserCtxtp) xmlRelaxNGParserCtxtPtr pc = NULL;
	struct xml_errors errs = {};

	e->names.n = 0;
	if (schema_names_load(schema, &e->names, 0) < 0)
		return error_set(ret_error, -EIO,
			_("The schema %s/%s cannot be read; check MVIRT_SCHEMAS or the "
			  "installation."),
			conf_schema_dir(), schema);
	pc = xmlRelaxNGNewParserCtxt(e->path);
	if (!pc)
		return -ENOMEM;
	xmlRelaxNGSetParserStructuredErrors(pc, xml_errors_capture, &errs);
	e->rng = xmlRelaxNGParse(pc);
	if (!e->rng)
		return error_set(ret_error, -EIO, _("The schema %s cannot be loaded: %s."), e->path,
			errs.set ? errs.message : "?");
	return 0;
}

static void schema_entry_clear(struct schema_entry *e)
{
	free(e->path);
	if (e->rng)
		xmlRelaxNGFree(e->rng);
	*e = (struct schema_entry){};
}

/* Under schema_lock: the cached entry for <conf_schema_dir()>/<schema>, loading it if new. */
static int schema_get(const char *schema, const struct schema_entry **ret, char **ret_error)
{
	_cleanup_free_ char *path = NULL;
	struct schema_entry *e;
	int r;

	if (asprintf(&path, "%s/%s", conf_schema_dir(), schema) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < SCHEMA_CACHE_MAX; i++)
		if (schema_cache[i].path && streq(schema_cache[i].path, path)) {
			*ret = &schema_cache[i];
			return 0;
		}
	e = &schema_cache[schema_cache_next];
	schema_entry_clear(e);
	e->path = TAKE_PTR(path);
	r = schema_entry_load(e, schema, ret_error);
	if (r < 0) {
		schema_entry_clear(e);
		return r;
	}
	schema_cache_next = (schema_cache_next + 1) % SCHEMA_CACHE_MAX;
	*ret = e;
	return 0;
}

static int xml_check_unknown(xmlDocPtr doc, const struct schema_entry *sc, long *ret_error_line,
			     char **ret_error)
{
	xmlNodePtr bad = find_unknown_element(xmlDocGetRootElement(doc), &sc->names, 0);

	if (bad)
		return xml_error_line(ret_error_line, xmlGetLineNo(bad), error_set(ret_error, -EINVAL,
			_("The element <%s> at line %ld is not supported by mvirt; remove "
			  "it."),
			(const char *)bad->name, xmlGetLineNo(bad)));
	return 0;
}

static int xml_relaxng_validate(xmlDocPtr doc, const char *schema, long *ret_error_line,
				char **ret_error)
{
	_cleanup_(xmlRelaxNGFreeValidCtxtp) xmlRelaxNGValidCtxtPtr vc = NULL;
	const struct schema_entry *sc;
	struct xml_errors errs = {};
	int r;

	r = schema_get(schema, &sc, ret_error);
	if (r < 0)
		return r;
	vc = xmlRelaxNGNewValidCtxt(sc->rng);
	if (!vc)
		return -ENOMEM;
	xmlRelaxNGSetValidStructuredErrors(vc, xml_errors_capture, &errs);
	if (xmlRelaxNGValidateDoc(vc, doc) == 0)
		return 0;
	xml_error_line(ret_error_line, errs.line, 0);
	if (errs.element[0])
		return error_set(ret_error, -EINVAL,
			_("The XML does not match %s at line %ld, element <%s>: %s."), schema,
			errs.line, errs.element, errs.message);
	return error_set(ret_error, -EINVAL, _("The XML does not match %s at line %ld: %s."),
		schema, errs.line, errs.set ? errs.message : "?");
}

/*
 * libxml2 reports a bad device inside <devices> as an "interleave" failure of <domain>, which
 * names neither the device nor its line. Validating each <disk> and <interface> on its own
 * against device.rng finds the precise complaint; r and the first sentence stay otherwise.
 */
static int xml_explain_devices(xmlDocPtr doc, int r, long *ret_error_line, char **ret_error)
{
	xmlNodePtr root = xmlDocGetRootElement(doc), devices, n;

	for (devices = root ? root->children : NULL; devices; devices = devices->next)
		if (devices->type == XML_ELEMENT_NODE && streq((const char *)devices->name, "devices"))
			break;
	for (n = devices ? devices->children : NULL; n; n = n->next) {
		_cleanup_(xmlFreeDocp) xmlDocPtr one = NULL;
		xmlNodePtr copy;

		if (n->type != XML_ELEMENT_NODE || (!streq((const char *)n->name, "disk") &&
						    !streq((const char *)n->name, "interface")))
			continue;
		one = xmlNewDoc(BAD_CAST "1.0");
		copy = one ? xmlDocCopyNode(n, one, 1) : NULL;
		if (!copy)
			return -ENOMEM;
		xmlDocSetRootElement(one, copy);
		if (xml_relaxng_validate(one, "device.rng", ret_error_line, ret_error) < 0)
			return r;
	}
	return r;
}

/* Under schema_lock: unknown elements first (a clearer sentence), then RelaxNG. */
static int xml_validate_locked(xmlDocPtr doc, const char *schema, long *ret_error_line,
			       char **ret_error)
{
	const struct schema_entry *sc;
	int r;

	r = schema_get(schema, &sc, ret_error);
	if (r < 0)
		return r;
	r = xml_check_unknown(doc, sc, ret_error_line, ret_error);
	if (r < 0)
		return r;
	r = xml_relaxng_validate(doc, schema, ret_error_line, ret_error);
	if (r == -EINVAL && ret_error) {
		/* A value the schema lists the choices for: name it, its line and the choices. */
		char *why = NULL;

		if (xml_explain_values(doc, conf_schema_dir(), schema, ret_error_line, &why) < 0) {
			free(*ret_error);
			*ret_error = why;
			return r;
		}
	}
	if (r == -EINVAL && streq(schema, "domain.rng"))
		r = xml_explain_devices(doc, r, ret_error_line, ret_error);
	return r;
}

int xml_parse_validated(const char *xml, const char *schema, xmlDocPtr *ret_doc,
			long *ret_error_line, char **ret_error)
{
	_cleanup_(xmlFreeDocp) xmlDocPtr doc = NULL;
	int r;

	if (!xml)
		return error_set(ret_error, -EINVAL, _("The XML document is empty."));
	r = xml_read(xml, &doc, ret_error_line, ret_error);
	if (r < 0)
		return r;
	pthread_mutex_lock(&schema_lock);
	r = xml_validate_locked(doc, schema, ret_error_line, ret_error);
	pthread_mutex_unlock(&schema_lock);
	if (r < 0)
		return r;
	if (ret_doc)
		*ret_doc = TAKE_PTR(doc);
	return 0;
}

char *xml_string(xmlXPathContextPtr ctxt, xmlNodePtr node, const char *expr)
{
	_cleanup_(xmlXPathFreeObjectp) xmlXPathObjectPtr obj = NULL;
	xmlChar *s;
	char *ret;

	ctxt->node = node;
	obj = xmlXPathEval(BAD_CAST expr, ctxt);
	if (!obj)
		return NULL;
	s = xmlXPathCastToString(obj);
	if (!s)
		return NULL;
	ret = *s ? strdup((const char *)s) : NULL;
	xmlFree(s);
	return ret;
}

bool xml_exists(xmlXPathContextPtr ctxt, xmlNodePtr node, const char *expr)
{
	_cleanup_(xmlXPathFreeObjectp) xmlXPathObjectPtr obj = NULL;

	ctxt->node = node;
	obj = xmlXPathEval(BAD_CAST expr, ctxt);
	return obj && obj->type == XPATH_NODESET && obj->nodesetval &&
	       obj->nodesetval->nodeNr > 0;
}

int xml_copy(xmlXPathContextPtr ctxt, xmlNodePtr node, const char *expr, char *buf, size_t size,
	     const char *what, char **ret_error)
{
	_cleanup_free_ char *s = xml_string(ctxt, node, expr);

	buf[0] = '\0';
	if (!s)
		return 0;
	if (str_copy(buf, size, s) < 0)
		return error_set(ret_error, -EINVAL,
			_("The value of %s is longer than %zu characters: %.40s…"), what, size - 1,
			s);
	return 0;
}

int xml_u64(xmlXPathContextPtr ctxt, xmlNodePtr node, const char *expr, uint64_t *ret,
	    const char *what, char **ret_error)
{
	_cleanup_free_ char *s = xml_string(ctxt, node, expr);

	*ret = 0;
	if (!s)
		return 0;
	if (parse_u64(s, ret) < 0)
		return error_set(ret_error, -EINVAL,
			_("The value of %s is not a number mvirt can use: %s."), what, s);
	return 0;
}

void xbuf_printf(struct xbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->error)
		return;
	for (;;) {
		size_t room = b->cap - b->len;

		va_start(ap, fmt);
		n = vsnprintf(b->data ? b->data + b->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->error = -EINVAL;
			return;
		}
		if ((size_t)n < room) {
			b->len += n;
			return;
		}
		if (b->len + n + 1 > CONF_XML_MAX) {
			b->error = -E2BIG;
			return;
		}
		size_t cap = b->cap ? b->cap * 2 : 1024;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *p = realloc(b->data, cap);
		if (!p) {
			b->error = -ENOMEM;
			return;
		}
		b->data = p;
		b->cap = cap;
	}
}

void xbuf_escape(struct xbuf *b, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&': xbuf_printf(b, "&amp;"); break;
		case '<': xbuf_printf(b, "&lt;"); break;
		case '>': xbuf_printf(b, "&gt;"); break;
		case '\'': xbuf_printf(b, "&apos;"); break;
		case '"': xbuf_printf(b, "&quot;"); break;
		default: xbuf_printf(b, "%c", *s); break;
		}
	}
}

void xbuf_attr(struct xbuf *b, const char *name, const char *value)
{
	if (isempty(value))
		return;
	xbuf_printf(b, " %s='", name);
	xbuf_escape(b, value);
	xbuf_printf(b, "'");
}

int xbuf_steal(struct xbuf *b, char **ret)
{
	int r = b->error;

	if (r < 0) {
		xbuf_done(b);
		return r;
	}
	if (!b->data) {
		b->data = strdup("");
		if (!b->data)
			return -ENOMEM;
	}
	*ret = TAKE_PTR(b->data);
	b->len = b->cap = 0;
	return 0;
}

void xbuf_done(struct xbuf *b)
{
	free(b->data);
	*b = (struct xbuf){};
}
