#include "config.h"

#include <errno.h>
#include <libxml/parser.h>
#include <libxml/relaxng.h>
#include <libxml/xmlerror.h>
#include <libxml/xpath.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "i18n.h"
#include "util.h"
#include "validate.h"
#include "xml-explain.h"

#ifndef SCHEMADIR
#define SCHEMADIR "/usr/share/mvirt/schemas"
#endif

DEFINE_TRIVIAL_CLEANUP_FUNC(xmlDocPtr, xmlFreeDoc);
DEFINE_TRIVIAL_CLEANUP_FUNC(xmlRelaxNGParserCtxtPtr, xmlRelaxNGFreeParserCtxt);
DEFINE_TRIVIAL_CLEANUP_FUNC(xmlRelaxNGPtr, xmlRelaxNGFree);
DEFINE_TRIVIAL_CLEANUP_FUNC(xmlRelaxNGValidCtxtPtr, xmlRelaxNGFreeValidCtxt);
DEFINE_TRIVIAL_CLEANUP_FUNC(xmlParserCtxtPtr, xmlFreeParserCtxt);
DEFINE_TRIVIAL_CLEANUP_FUNC(xmlXPathContextPtr, xmlXPathFreeContext);
DEFINE_TRIVIAL_CLEANUP_FUNC(xmlXPathObjectPtr, xmlXPathFreeObject);

static void xmlFreep(xmlChar **p)
{
	xmlFree(*p);
}

/* The first fault libxml2 reports: later ones are usually its consequences. */
struct first_error {
	int line;
	char message[512];
};

static void collect_error(void *data, const xmlError *err)
{
	struct first_error *fe = data;
	size_t n;

	if (fe->message[0] || !err || !err->message)
		return;
	fe->line = err->line;
	/* RelaxNG errors inside <interleave> carry no line, but often their node. */
	if (fe->line <= 0 && err->node)
		fe->line = xmlGetLineNo((xmlNodePtr)err->node);
	snprintf(fe->message, sizeof(fe->message), "%s", err->message);
	n = strlen(fe->message);
	while (n > 0 && (fe->message[n - 1] == '\n' || fe->message[n - 1] == ' '))
		fe->message[--n] = '\0';
}

/* libxml2 2.9 declares the handler with a non-const error. */
static void collect_error_cb(void *data, xmlErrorPtr err)
{
	collect_error(data, err);
}

static int fail(char **ret_error, int r, const char *fmt, ...) _printf_(3, 4);
static int fail(char **ret_error, int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(ret_error, fmt, ap) < 0)
		*ret_error = NULL;
	va_end(ap);
	return r;
}

const char *ctl_schema_dir(void)
{
	const char *env = getenv("MVIRT_SCHEMAS");

	return isempty(env) ? SCHEMADIR : env;
}

int ctl_xml_load(const char *path, char **ret_xml, char **ret_error)
{
	_cleanup_free_ char *text = NULL;
	int r;

	*ret_error = NULL;
	r = read_file(path, CTL_XML_MAX, &text, NULL);
	if (r == -EFBIG || r == -E2BIG)
		return fail(ret_error, r, _("The file is larger than %d bytes; a definition "
					    "must be smaller."), CTL_XML_MAX);
	if (r < 0)
		return fail(ret_error, r, _("Cannot read the file: %s."), strerror(-r));
	*ret_xml = TAKE_PTR(text);
	return 0;
}

static int load_schema(const char *schema_path, xmlRelaxNGPtr *ret, char **ret_error)
{
	_cleanup_(xmlRelaxNGFreeParserCtxtp) xmlRelaxNGParserCtxtPtr pctxt = NULL;
	struct first_error fe = {};

	pctxt = xmlRelaxNGNewParserCtxt(schema_path);
	if (!pctxt)
		return fail(ret_error, -ENOMEM, _("Out of memory while loading a schema."));
	xmlRelaxNGSetParserStructuredErrors(pctxt, collect_error_cb, &fe);
	*ret = xmlRelaxNGParse(pctxt);
	if (!*ret)
		return fail(ret_error, -ENOENT,
			    _("Cannot load the schema %s (%s); set MVIRT_SCHEMAS to the folder "
			      "holding mvirt's schemas, or use --no-validate."),
			    schema_path, fe.message[0] ? fe.message : "?");
	return 0;
}

static int parse_text(const char *text, xmlDocPtr *ret, char **ret_error)
{
	_cleanup_(xmlFreeParserCtxtp) xmlParserCtxtPtr ctxt = xmlNewParserCtxt();
	struct first_error fe = {};

	if (!ctxt)
		return fail(ret_error, -ENOMEM, _("Out of memory while parsing XML."));
	xmlSetStructuredErrorFunc(&fe, collect_error_cb);
	/* No network, no entity expansion: a definition is plain XML. */
	*ret = xmlCtxtReadMemory(ctxt, text, strlen(text), NULL, NULL,
				 XML_PARSE_NONET);
	xmlSetStructuredErrorFunc(NULL, NULL);
	if (!*ret || !ctxt->wellFormed) {
		if (!fe.message[0] && ctxt->lastError.message)
			collect_error(&fe, &ctxt->lastError);
		return fail(ret_error, -EBADMSG, _("%d: The file is not well-formed XML: %s."),
			    fe.line, fe.message[0] ? fe.message : "?");
	}
	return 0;
}

/* A schema and the ones it includes; more than this many files is not mvirt's. */
#define SCHEMA_FILES_MAX 8

struct schema_set {
	xmlDocPtr doc[SCHEMA_FILES_MAX];
	unsigned n;
};

static void schema_set_free(struct schema_set *set)
{
	for (unsigned i = 0; i < set->n; i++)
		xmlFreeDoc(set->doc[i]);
	set->n = 0;
}

static xmlXPathObjectPtr xpath(xmlDocPtr doc, const char *expr)
{
	_cleanup_(xmlXPathFreeContextp) xmlXPathContextPtr ctx = xmlXPathNewContext(doc);

	return ctx ? xmlXPathEvalExpression((const xmlChar *)expr, ctx) : NULL;
}

/* Loads path and, one level at a time, the files its <include href> and <externalRef> name. */
static void schema_set_load(struct schema_set *set, const char *dir, const char *file)
{
	_cleanup_(xmlXPathFreeObjectp) xmlXPathObjectPtr refs = NULL;
	_cleanup_free_ char *path = NULL;
	xmlDocPtr doc;

	if (set->n == SCHEMA_FILES_MAX || asprintf(&path, "%s/%s", dir, file) < 0)
		return;
	doc = xmlReadFile(path, NULL, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (!doc)
		return;
	set->doc[set->n++] = doc;
	refs = xpath(doc, "//*[local-name()='include' or local-name()='externalRef']/@href");
	for (int i = 0; refs && refs->nodesetval && i < refs->nodesetval->nodeNr; i++) {
		_cleanup_(xmlFreep) xmlChar *href = xmlNodeGetContent(refs->nodesetval->nodeTab[i]);
		if (href && !strchr((const char *)href, '/'))
			schema_set_load(set, dir, (const char *)href);
	}
}

static bool schema_knows(const struct schema_set *set, const xmlChar *name)
{
	char expr[256];

	/* Element names are plain words: anything else could break the expression. */
	for (const xmlChar *c = name; *c; c++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.", *c))
			return false;
	snprintf(expr, sizeof(expr), "//*[local-name()='element'][@name='%s']", (const char *)name);
	for (unsigned i = 0; i < set->n; i++) {
		_cleanup_(xmlXPathFreeObjectp) xmlXPathObjectPtr found = xpath(set->doc[i], expr);
		if (!found || (found->nodesetval && found->nodesetval->nodeNr > 0))
			return true;
	}
	return false;
}

/* The first element (in document order) that the schema never names, or NULL. */
static xmlNodePtr find_unknown(const struct schema_set *set, xmlNodePtr node)
{
	for (; node; node = node->next) {
		xmlNodePtr deeper;

		if (node->type != XML_ELEMENT_NODE)
			continue;
		if (!schema_knows(set, node->name))
			return node;
		deeper = find_unknown(set, node->children);
		if (deeper)
			return deeper;
	}
	return NULL;
}

/*
 * libxml2 explains a fault inside <interleave> poorly ("Extra element devices
 * in interleave"). When an element is one mvirt's schema does not know at all
 * (libvirt's <graphics>, say), name it and its line instead.
 */
static int explain_unknown(const char *schema_dir, const char *schema, xmlDocPtr doc,
			   char **ret_error)
{
	struct schema_set set = {};
	xmlNodePtr bad;
	int r = 0;

	schema_set_load(&set, schema_dir, schema);
	bad = set.n ? find_unknown(&set, xmlDocGetRootElement(doc)) : NULL;
	if (bad)
		r = fail(ret_error, -EBADMSG,
			 _("%ld: The element <%s> is not supported by mvirt (schema %s); remove it."),
			 xmlGetLineNo(bad), (const char *)bad->name, schema);
	schema_set_free(&set);
	return r;
}

int ctl_xml_load_validated(const char *schema_dir, const char *schema, const char *path,
			   char **ret_xml, char **ret_error)
{
	_cleanup_(xmlRelaxNGFreep) xmlRelaxNGPtr rng = NULL;
	_cleanup_(xmlRelaxNGFreeValidCtxtp) xmlRelaxNGValidCtxtPtr vctxt = NULL;
	_cleanup_(xmlFreeDocp) xmlDocPtr doc = NULL;
	_cleanup_free_ char *text = NULL, *schema_path = NULL;
	struct first_error fe = {};
	int r;

	r = ctl_xml_load(path, &text, ret_error);
	if (r < 0)
		return r;
	r = parse_text(text, &doc, ret_error);
	if (r < 0)
		return r;
	if (asprintf(&schema_path, "%s/%s", schema_dir, schema) < 0)
		return -ENOMEM;
	r = load_schema(schema_path, &rng, ret_error);
	if (r < 0)
		return r;
	vctxt = xmlRelaxNGNewValidCtxt(rng);
	if (!vctxt)
		return fail(ret_error, -ENOMEM, _("Out of memory while validating XML."));
	xmlRelaxNGSetValidStructuredErrors(vctxt, collect_error_cb, &fe);
	if (xmlRelaxNGValidateDoc(vctxt, doc) != 0) {
		r = explain_unknown(schema_dir, schema, doc, ret_error);
		if (r < 0)
			return r;
		/* A value the schema does not list: the same sentence mvirtd gives. */
		if (xml_explain_values(doc, schema_dir, schema, NULL, ret_error) < 0)
			return -EBADMSG;
		/* libxml2 gives no line for some faults inside <interleave>: no "0:" then. */
		if (fe.line <= 0)
			return fail(ret_error, -EBADMSG, _("The file does not match the schema %s: %s."),
				    schema, fe.message[0] ? fe.message : "?");
		return fail(ret_error, -EBADMSG,
			    _("%d: The file does not match the schema %s: %s."), fe.line, schema,
			    fe.message[0] ? fe.message : "?");
	}
	*ret_xml = TAKE_PTR(text);
	return 0;
}
