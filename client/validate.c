#include "config.h"

#include <errno.h>
#include <libxml/parser.h>
#include <libxml/relaxng.h>
#include <libxml/xmlerror.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "i18n.h"
#include "util.h"
#include "validate.h"

#ifndef SCHEMADIR
#define SCHEMADIR "/usr/share/mvirt/schemas"
#endif

DEFINE_TRIVIAL_CLEANUP_FUNC(xmlDocPtr, xmlFreeDoc);
DEFINE_TRIVIAL_CLEANUP_FUNC(xmlRelaxNGParserCtxtPtr, xmlRelaxNGFreeParserCtxt);
DEFINE_TRIVIAL_CLEANUP_FUNC(xmlRelaxNGPtr, xmlRelaxNGFree);
DEFINE_TRIVIAL_CLEANUP_FUNC(xmlRelaxNGValidCtxtPtr, xmlRelaxNGFreeValidCtxt);
DEFINE_TRIVIAL_CLEANUP_FUNC(xmlParserCtxtPtr, xmlFreeParserCtxt);

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
	if (xmlRelaxNGValidateDoc(vctxt, doc) != 0)
		return fail(ret_error, -EBADMSG,
			    _("%d: The file does not match the schema %s: %s."), fe.line, schema,
			    fe.message[0] ? fe.message : "?");
	*ret_xml = TAKE_PTR(text);
	return 0;
}
