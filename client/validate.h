/*
 * Reads an XML file and, before anything is sent, gives mvirtd's verdict on it: the checks are
 * libmvirt-conf.a's (conf_check_xml()), the ones the daemon runs, so a file the client lets
 * through is refused by the daemon only for what depends on its state.
 */
#pragma once

#include "domain-conf.h"

/*
 * Reads path (at most CONF_XML_MAX bytes). 0 with the text in *ret_xml (the caller frees it),
 * or a negative errno with "PATH: sentence" in *ret_error.
 */
int ctl_xml_load(const char *path, char **ret_xml, char **ret_error);

/*
 * ctl_xml_load(), then conf_check_xml(doc). 0 with the text in *ret_xml, or a negative errno
 * with the library's sentence in *ret_error, prefixed "PATH:LINE: " when it is about a line of
 * the file, else "PATH: ".
 */
int ctl_xml_load_checked(const char *path, enum conf_doc doc, char **ret_xml, char **ret_error);
