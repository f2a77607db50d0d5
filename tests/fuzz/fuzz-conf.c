/* libFuzzer target: domain and device XML as a user (or a stolen D-Bus session) hands it to
 * the daemon. The first byte picks the parser: even bytes <domain>, odd ones a single
 * <disk>/<interface>. What parses and validates must format, and what is formatted must parse
 * and validate again: the daemon stores the formatted text and reads it back at restart. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>

#include "device-conf.h"
#include "domain-conf.h"

#define FUZZ_XML_MAX (64 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	/* The schemas of the source tree, unless the caller points elsewhere. */
	setenv("MVIRT_SCHEMAS", FUZZ_SCHEMAS, 0);
	xmlInitParser();
	return 0;
}

static void domain_round_trip(const char *xml)
{
	struct domain_def *def = NULL, *again = NULL;
	char *err = NULL, *out = NULL;

	if (domain_def_from_xml(xml, &def, &err) == 0) {
		if (domain_def_format(def, &out) < 0)
			abort();
		free(err);
		err = NULL;
		if (domain_def_from_xml(out, &again, &err) < 0)
			abort(); /* the daemon could not read back what it stored */
	}
	domain_def_free(again);
	domain_def_free(def);
	free(out);
	free(err);
}

static void device_round_trip(const char *xml)
{
	struct device_def *dev = NULL, *again = NULL;
	char *err = NULL, *out = NULL;

	if (device_def_from_xml(xml, &dev, &err) == 0) {
		if (device_def_format(dev, &out) < 0)
			abort();
		free(err);
		err = NULL;
		if (device_def_from_xml(out, &again, &err) < 0)
			abort();
	}
	device_def_free(again);
	device_def_free(dev);
	free(out);
	free(err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *xml;

	if (size == 0 || size > FUZZ_XML_MAX)
		return 0;
	xml = strndup((const char *)data + 1, size - 1);
	if (!xml)
		return 0;
	if (data[0] & 1)
		device_round_trip(xml);
	else
		domain_round_trip(xml);
	free(xml);
	return 0;
}
