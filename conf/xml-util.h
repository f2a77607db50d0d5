/*
 * What conf/ shares internally: the one safe way to parse XML, schema validation, XPath
 * reads, and the error-sentence helper. Not used outside conf/.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>

#include "cleanup.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(xmlDocPtr, xmlFreeDoc);
DEFINE_TRIVIAL_CLEANUP_FUNC(xmlXPathContextPtr, xmlXPathFreeContext);
DEFINE_TRIVIAL_CLEANUP_FUNC(xmlXPathObjectPtr, xmlXPathFreeObject);

/*
 * Where a failure's sentence is about one line of the document, the parsers also give that
 * line in *ret_error_line (may be NULL): mvirtctl puts it in front as FILE:LINE. Left alone
 * when the sentence names no line, so callers start it at 0. Wraps error_set(): returns r.
 */
static inline int xml_error_line(long *ret_error_line, long line, int r)
{
	if (ret_error_line && line > 0)
		*ret_error_line = line;
	return r;
}

/*
 * Parses xml (at most CONF_XML_MAX bytes, no network, no DTD, no entity expansion), rejects a
 * DOCTYPE, reports elements the schema does not know by name and line, then validates against
 * <conf_schema_dir()>/<schema>. -EINVAL with one sentence on any failure (and its line, see
 * above); -ENOMEM.
 */
int xml_parse_validated(const char *xml, const char *schema, xmlDocPtr *ret_doc,
			long *ret_error_line, char **ret_error);

/* The string value of expr evaluated at node (XPath string()); NULL when empty or on ENOMEM. */
char *xml_string(xmlXPathContextPtr ctxt, xmlNodePtr node, const char *expr);
/* True when expr (a node-set) selects anything at node. */
bool xml_exists(xmlXPathContextPtr ctxt, xmlNodePtr node, const char *expr);
/*
 * Copies the string value of expr at node into buf[size] ("" when absent). A longer value
 * is -EINVAL with a sentence naming what (e.g. "<source file>") and the limit.
 */
int xml_copy(xmlXPathContextPtr ctxt, xmlNodePtr node, const char *expr, char *buf, size_t size,
	     const char *what, char **ret_error);
/* Parses the unsigned number at expr; 0 and *ret = 0 when absent; -EINVAL naming what. */
int xml_u64(xmlXPathContextPtr ctxt, xmlNodePtr node, const char *expr, uint64_t *ret,
	    const char *what, char **ret_error);

/*
 * The output buffer the formatters write into. Errors are sticky: after ENOMEM or past
 * CONF_XML_MAX bytes every append is ignored and xbuf_steal() reports the failure.
 */
struct xbuf {
	char *data;
	size_t len, cap;
	int error;
};

void xbuf_printf(struct xbuf *b, const char *fmt, ...) _printf_(2, 3);
/* Appends s with &, <, >, ' and " escaped (for attribute values and text). */
void xbuf_escape(struct xbuf *b, const char *s);
/* Appends ` name='value'` (escaped) when value is non-empty. */
void xbuf_attr(struct xbuf *b, const char *name, const char *value);
/* Hands the text over (the buffer is left empty) or returns the sticky error. */
int xbuf_steal(struct xbuf *b, char **ret);
void xbuf_done(struct xbuf *b);
