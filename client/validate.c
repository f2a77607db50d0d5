#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "i18n.h"
#include "util.h"
#include "validate.h"

/* "PATH:LINE: sentence", or "PATH: sentence" when line is 0; returns r. */
static int fail_at(char **ret_error, int r, const char *path, long line, const char *sentence)
{
	if (!sentence)
		sentence = _("Out of memory.");
	if (line > 0)
		return error_set(ret_error, r, "%s:%ld: %s", path, line, sentence);
	return error_set(ret_error, r, "%s: %s", path, sentence);
}

int ctl_xml_load(const char *path, char **ret_xml, char **ret_error)
{
	_cleanup_free_ char *text = NULL, *sentence = NULL;
	int r;

	r = read_file(path, CONF_XML_MAX, &text, NULL);
	if (r == -EFBIG)
		r = error_set(&sentence, r, _("The file is larger than %d bytes; a definition "
					      "must be smaller."), CONF_XML_MAX);
	else if (r < 0)
		r = error_set(&sentence, r, _("Cannot read the file: %s."), strerror(-r));
	if (r < 0)
		return fail_at(ret_error, r, path, 0, sentence);
	*ret_xml = TAKE_PTR(text);
	return 0;
}

int ctl_xml_load_checked(const char *path, enum conf_doc doc, char **ret_xml, char **ret_error)
{
	_cleanup_free_ char *text = NULL, *sentence = NULL;
	long line = 0;
	int r;

	r = ctl_xml_load(path, &text, ret_error);
	if (r < 0)
		return r;
	r = conf_check_xml(text, doc, &line, &sentence);
	if (r < 0)
		return fail_at(ret_error, r, path, line, sentence);
	*ret_xml = TAKE_PTR(text);
	return 0;
}
