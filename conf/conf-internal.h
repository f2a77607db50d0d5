/*
 * The device pieces domain-conf.c and device-conf.c share: reading one device element into
 * its struct and writing it back. Not used outside conf/.
 */
#pragma once

#include "device-conf.h"
#include "xml-util.h"

struct domain_def;

/* domain_def_parse() and device_def_parse() that also give the line of a failure's sentence, as
 * xml_parse_validated() does (see xml-util.h). */
int domain_def_parse_at(const char *xml, struct domain_def **ret, long *ret_error_line,
			char **ret_error);
int device_def_parse_at(const char *xml, struct device_def **ret, long *ret_error_line,
			char **ret_error);

int disk_def_parse_node(xmlXPathContextPtr ctxt, xmlNodePtr node, struct disk_def *disk,
			char **ret_error);
int net_def_parse_node(xmlXPathContextPtr ctxt, xmlNodePtr node, struct net_def *net,
		       char **ret_error);
int chr_def_parse_node(xmlXPathContextPtr ctxt, xmlNodePtr node, struct chr_def *chr,
		       char **ret_error);

/* Each writes the element at the given indentation (in spaces), children two deeper. */
void disk_def_format_buf(struct xbuf *b, const struct disk_def *disk, int indent);
void net_def_format_buf(struct xbuf *b, const struct net_def *net, int indent);
void chr_def_format_buf(struct xbuf *b, const struct chr_def *chr, int indent);

/*
 * The checks of domain_def_check_attach(); hotplug adds the rule that a new disk cannot take
 * boot order 1 from the root disk. domain_def_validate() uses it with hotplug false.
 */
int domain_def_check_join(const struct domain_def *def, const struct device_def *dev,
			  bool hotplug, char **ret_error);

/* "(none)" for a missing value in a message. */
static inline const char *strna(const char *s)
{
	return s ? s : "(none)";
}

/* A string table lookup: the index of s in table[n], or -1. */
int conf_table_lookup(const char *const *table, size_t n, const char *s);
