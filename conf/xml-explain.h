/*
 * Explaining why an XML document does not match a schema, in terms of the document: libxml2's
 * RelaxNG says "Element target failed to validate attributes", which names neither the value
 * at fault nor what would do. Only called after RelaxNG refused the document.
 */
#pragma once

#include <libxml/tree.h>

/*
 * Looks for the first attribute (in document order) that the schema <schema_dir>/<schema>
 * (with its includes) does not declare for its element, or whose value the schema restricts
 * to a list of <value>s that does not hold it: -EINVAL with a sentence naming the attribute
 * (and value), the element, the line and the values mvirt supports (malloc'd into
 * *ret_error), and that line in *ret_error_line (may be NULL). 0 when there is none, or when
 * the schema cannot be read (the caller then gives its generic sentence).
 */
int xml_explain_values(xmlDocPtr doc, const char *schema_dir, const char *schema,
		       long *ret_error_line, char **ret_error);
