/*
 * The verdict mvirtctl gives on a file before sending it: mvirtd's own parse and checks,
 * called the way the daemon calls them (manager_define(), domain-device.c's device_parse()).
 */
#include "config.h"

#include <errno.h>

#include "conf-internal.h"
#include "domain-conf.h"

static int check_domain(const char *xml, long *ret_error_line, char **ret_error)
{
	_cleanup_domain_def_ struct domain_def *def = NULL;
	int r;

	r = domain_def_parse_at(xml, &def, ret_error_line, ret_error);
	if (r < 0)
		return r;
	return domain_def_validate(def, ret_error);
}

static int check_device(const char *xml, long *ret_error_line, char **ret_error)
{
	_cleanup_device_def_ struct device_def *dev = NULL;
	int r;

	r = device_def_parse_at(xml, &dev, ret_error_line, ret_error);
	if (r < 0)
		return r;
	return device_def_validate(dev, ret_error);
}

int conf_check_xml(const char *xml, enum conf_doc doc, long *ret_error_line, char **ret_error)
{
	long line = 0;
	int r;

	switch (doc) {
	case CONF_DOC_DOMAIN:
		r = check_domain(xml, &line, ret_error);
		break;
	case CONF_DOC_DEVICE:
		r = check_device(xml, &line, ret_error);
		break;
	default:
		return -EINVAL;
	}
	if (ret_error_line && r < 0)
		*ret_error_line = line;
	return r;
}
