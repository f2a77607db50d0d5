/*
 * Checks an XML file against mvirt's RelaxNG schemas before anything is sent,
 * so a typo is reported with its line number by the client itself.
 */
#pragma once

#include <stddef.h>

/* Files larger than this are refused: definitions are a few kilobytes. */
#define CTL_XML_MAX (1024 * 1024)

/* The folder holding domain.rng and device.rng: $MVIRT_SCHEMAS, else the installed one. */
const char *ctl_schema_dir(void);

/*
 * Reads path (at most CTL_XML_MAX bytes) and validates it against
 * <schema_dir>/<schema>. Returns 0 with the text in *ret_xml (the caller frees it),
 * or a negative errno with a translated sentence in *ret_error that starts with
 * "LINE: " when the fault has a line.
 */
int ctl_xml_load_validated(const char *schema_dir, const char *schema, const char *path,
			   char **ret_xml, char **ret_error);

/* The same, without the schema: only reads the file. */
int ctl_xml_load(const char *path, char **ret_xml, char **ret_error);
