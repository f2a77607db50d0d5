/* Parsing and formatting of <domain>: XPath to read, a buffer to write. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf-internal.h"
#include "domain-conf.h"
#include "i18n.h"
#include "string-table.h"
#include "util.h"

static const char *const lifecycle_table[_LIFECYCLE_MAX] = {
	[LIFECYCLE_DESTROY] = "destroy",
	[LIFECYCLE_RESTART] = "restart",
	[LIFECYCLE_PRESERVE] = "preserve",
};

const char *lifecycle_action_to_string(enum lifecycle_action a)
{
	return (int)a > 0 && a < _LIFECYCLE_MAX ? lifecycle_table[a] : NULL;
}

enum lifecycle_action lifecycle_action_from_string(const char *s)
{
	int i = conf_table_lookup(lifecycle_table, _LIFECYCLE_MAX, s);

	return i <= 0 ? _LIFECYCLE_INVALID : (enum lifecycle_action)i;
}

static const char *const domain_hotplug_table[_DOMAIN_HOTPLUG_MAX] = {
	[DOMAIN_HOTPLUG_SLOTS] = MVIRT_HOTPLUG_SLOTS,
	[DOMAIN_HOTPLUG_ACPI] = MVIRT_HOTPLUG_ACPI,
};

DEFINE_STRING_TABLE(domain_hotplug, enum domain_hotplug, _DOMAIN_HOTPLUG_MAX);

int domain_hotplug_disk_slots(enum domain_hotplug h)
{
	if (h == DOMAIN_HOTPLUG_SLOTS)
		return CONF_DISK_SLOTS;
	if (h == DOMAIN_HOTPLUG_ACPI)
		return CONF_DISK_SLOTS_MAX;
	return 0;
}

int domain_hotplug_nic_slots(enum domain_hotplug h)
{
	if (h == DOMAIN_HOTPLUG_SLOTS)
		return CONF_NIC_SLOTS;
	if (h == DOMAIN_HOTPLUG_ACPI)
		return CONF_NIC_SLOTS_MAX;
	return 0;
}

struct unit_scale {
	const char *unit;
	uint64_t bytes;
};

/* libvirt's scaled integers: single letters and *iB are powers of 1024, *B powers of 1000. */
static const struct unit_scale unit_table[] = {
	{ "b", 1ULL },	{ "bytes", 1ULL },
	{ "KB", 1000ULL },	{ "k", 1ULL << 10 },	 { "K", 1ULL << 10 },	{ "KiB", 1ULL << 10 },
	{ "MB", 1000000ULL },	{ "M", 1ULL << 20 },	 { "MiB", 1ULL << 20 },
	{ "GB", 1000000000ULL }, { "G", 1ULL << 30 },	 { "GiB", 1ULL << 30 },
	{ "TB", 1000000000000ULL }, { "T", 1ULL << 40 }, { "TiB", 1ULL << 40 },
};

/* Reads <what unit=>N</what> at expr into KiB, rounding bytes up as libvirt does. */
static int parse_scaled_kib(xmlXPathContextPtr ctxt, const char *elem, uint64_t *ret,
			    char **ret_error)
{
	char expr[64], unit_expr[64];
	_cleanup_free_ char *unit = NULL;
	uint64_t v, scale = 1024;
	int r;

	snprintf(expr, sizeof(expr), "string(/domain/%s)", elem);
	snprintf(unit_expr, sizeof(unit_expr), "string(/domain/%s/@unit)", elem);
	r = xml_u64(ctxt, NULL, expr, &v, elem, ret_error);
	if (r < 0)
		return r;
	unit = xml_string(ctxt, NULL, unit_expr);
	if (unit) {
		size_t i;

		for (i = 0; i < ELEMENTSOF(unit_table); i++)
			if (streq(unit_table[i].unit, unit))
				break;
		if (i == ELEMENTSOF(unit_table))
			return error_set(ret_error, -EINVAL, _("The unit %s of <%s> is unknown."),
				unit, elem);
		scale = unit_table[i].bytes;
	}
	if (v > UINT64_MAX / scale)
		return error_set(ret_error, -EINVAL, _("The size %llu %s of <%s> is too large."),
			(unsigned long long)v, unit ? unit : "KiB", elem);
	*ret = (v * scale + 1023) / 1024;
	return 0;
}

static int parse_lifecycle(xmlXPathContextPtr ctxt, const char *elem,
			   enum lifecycle_action *ret, char **ret_error)
{
	char expr[64];
	_cleanup_free_ char *s = NULL;

	snprintf(expr, sizeof(expr), "string(/domain/%s)", elem);
	s = xml_string(ctxt, NULL, expr);
	*ret = LIFECYCLE_DEFAULT;
	if (!s)
		return 0;
	*ret = lifecycle_action_from_string(s);
	if (*ret < 0)
		return error_set(ret_error, -EINVAL,
			_("The action %s of <%s> is not supported; use destroy, restart "
			  "or preserve."),
			s, elem);
	return 0;
}

/* <features><hotplug model=>; the schema already allows only the names in the table. */
static int parse_hotplug(xmlXPathContextPtr ctxt, struct domain_def *def, char **ret_error)
{
	_cleanup_free_ char *model = xml_string(ctxt, NULL,
						"string(/domain/features/hotplug/@model)");

	def->hotplug = DOMAIN_HOTPLUG_SLOTS;
	if (!model)
		return 0;
	def->hotplug = domain_hotplug_from_string(model);
	if (def->hotplug < 0)
		return error_set(ret_error, -EINVAL,
			_("The hot-plug model %s is not supported; use slots or acpi."), model);
	return 0;
}

static int parse_identity(xmlXPathContextPtr ctxt, struct domain_def *def, char **ret_error)
{
	_cleanup_free_ char *uuid = NULL;
	uint64_t vcpus;
	int r;

	if ((r = xml_copy(ctxt, NULL, "string(/domain/name)", def->name, sizeof(def->name),
			  "<name>", ret_error)) < 0)
		return r;
	uuid = xml_string(ctxt, NULL, "string(/domain/uuid)");
	if (uuid && uuid_normalize(uuid, def->uuid) < 0)
		return error_set(ret_error, -EINVAL,
			_("The UUID %s is malformed; write it as "
			  "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx."),
			uuid);
	if (!uuid && (r = uuid_generate(def->uuid)) < 0)
		return error_set(ret_error, r, _("A UUID cannot be generated."));
	if ((r = parse_scaled_kib(ctxt, "memory", &def->memory_kib, ret_error)) < 0 ||
	    (r = parse_scaled_kib(ctxt, "currentMemory", &def->current_memory_kib,
				  ret_error)) < 0 ||
	    (r = xml_u64(ctxt, NULL, "string(/domain/vcpu)", &vcpus, "<vcpu>", ret_error)) < 0)
		return r;
	if (vcpus > UINT_MAX)
		return error_set(ret_error, -EINVAL, _("The vCPU count %llu is too large."),
			(unsigned long long)vcpus);
	def->vcpus = (unsigned)vcpus;
	def->clock_utc = xml_exists(ctxt, NULL, "/domain/clock");
	def->features = xml_exists(ctxt, NULL, "/domain/features");
	if ((r = parse_hotplug(ctxt, def, ret_error)) < 0)
		return r;
	if ((r = parse_lifecycle(ctxt, "on_poweroff", &def->on_poweroff, ret_error)) < 0 ||
	    (r = parse_lifecycle(ctxt, "on_reboot", &def->on_reboot, ret_error)) < 0 ||
	    (r = parse_lifecycle(ctxt, "on_crash", &def->on_crash, ret_error)) < 0)
		return r;
	return 0;
}

static int parse_os(xmlXPathContextPtr ctxt, struct domain_def *def, char **ret_error)
{
	int r;

	if ((r = xml_copy(ctxt, NULL, "string(/domain/os/type)", def->os_type,
			  sizeof(def->os_type), "<os><type>", ret_error)) < 0 ||
	    (r = xml_copy(ctxt, NULL, "string(/domain/os/type/@arch)", def->os_arch,
			  sizeof(def->os_arch), "<type arch>", ret_error)) < 0 ||
	    (r = xml_copy(ctxt, NULL, "string(/domain/os/type/@machine)", def->os_machine,
			  sizeof(def->os_machine), "<type machine>", ret_error)) < 0 ||
	    (r = xml_copy(ctxt, NULL, "string(/domain/os/kernel)", def->kernel,
			  sizeof(def->kernel), "<kernel>", ret_error)) < 0 ||
	    (r = xml_copy(ctxt, NULL, "string(/domain/os/initrd)", def->initrd,
			  sizeof(def->initrd), "<initrd>", ret_error)) < 0 ||
	    (r = xml_copy(ctxt, NULL, "string(/domain/os/cmdline)", def->cmdline,
			  sizeof(def->cmdline), "<cmdline>", ret_error)) < 0)
		return r;
	return 0;
}

/* The slots model's limits are lifted by the acpi model; the acpi model's are the most. */
static int disk_one_too_many(const struct domain_def *def, long line, char **ret_error)
{
	if (def->hotplug == DOMAIN_HOTPLUG_SLOTS)
		return error_set(ret_error, -EINVAL,
			_("The disk at line %ld is one too many: the slots hot-plug model gives a "
			  "domain %d disks; write <hotplug model='acpi'/> in <features> for up "
			  "to %d."),
			line, CONF_DISK_SLOTS, CONF_DISK_SLOTS_MAX);
	return error_set(ret_error, -EINVAL,
		_("The disk at line %ld is one too many: even the acpi hot-plug model gives a "
		  "domain at most %d disks."),
		line, domain_hotplug_disk_slots(def->hotplug));
}

static int nic_one_too_many(const struct domain_def *def, long line, char **ret_error)
{
	if (def->hotplug == DOMAIN_HOTPLUG_SLOTS)
		return error_set(ret_error, -EINVAL,
			_("The interface at line %ld is one too many: the slots hot-plug model "
			  "gives a domain %d interfaces; write <hotplug model='acpi'/> in "
			  "<features> for up to %d."),
			line, CONF_NIC_SLOTS, CONF_NIC_SLOTS_MAX);
	return error_set(ret_error, -EINVAL,
		_("The interface at line %ld is one too many: even the acpi hot-plug model gives "
		  "a domain at most %d interfaces."),
		line, domain_hotplug_nic_slots(def->hotplug));
}

static int parse_device(xmlXPathContextPtr ctxt, xmlNodePtr node, struct domain_def *def,
			long *ret_error_line, char **ret_error)
{
	const char *name = (const char *)node->name;
	long line = xmlGetLineNo(node);

	if (streq(name, "disk")) {
		if (def->n_disks >= (size_t)domain_hotplug_disk_slots(def->hotplug))
			return xml_error_line(ret_error_line, line,
					      disk_one_too_many(def, line, ret_error));
		return disk_def_parse_node(ctxt, node, &def->disks[def->n_disks++], ret_error);
	}
	if (streq(name, "interface")) {
		if (def->n_nets >= (size_t)domain_hotplug_nic_slots(def->hotplug))
			return xml_error_line(ret_error_line, line,
					      nic_one_too_many(def, line, ret_error));
		return net_def_parse_node(ctxt, node, &def->nets[def->n_nets++], ret_error);
	}
	if (def->n_chrs >= DOMAIN_CHRS_MAX)
		return xml_error_line(ret_error_line, line, error_set(ret_error, -EINVAL,
			_("The <%s> at line %ld is one too many; a domain has one serial "
			  "port and one console."),
			name, line));
	return chr_def_parse_node(ctxt, node, &def->chrs[def->n_chrs++], ret_error);
}

static int parse_devices(xmlXPathContextPtr ctxt, struct domain_def *def, long *ret_error_line,
			 char **ret_error)
{
	_cleanup_(xmlXPathFreeObjectp) xmlXPathObjectPtr obj = NULL;

	ctxt->node = NULL;
	/* <emulator> (mvirtd always runs mvirt-vmm) and <memballoon model='none'/> (there is
	 * none) carry nothing to keep. */
	obj = xmlXPathEval(BAD_CAST "/domain/devices/*[not(self::emulator or self::memballoon)]",
			   ctxt);
	if (!obj)
		return -ENOMEM;
	for (int i = 0; obj->nodesetval && i < obj->nodesetval->nodeNr; i++) {
		int r = parse_device(ctxt, obj->nodesetval->nodeTab[i], def, ret_error_line,
				     ret_error);

		if (r < 0)
			return r;
	}
	return 0;
}

int domain_def_parse_at(const char *xml, struct domain_def **ret, long *ret_error_line,
			char **ret_error)
{
	_cleanup_(xmlFreeDocp) xmlDocPtr doc = NULL;
	_cleanup_(xmlXPathFreeContextp) xmlXPathContextPtr ctxt = NULL;
	_cleanup_domain_def_ struct domain_def *def = NULL;
	int r;

	r = xml_parse_validated(xml, "domain.rng", &doc, ret_error_line, ret_error);
	if (r < 0)
		return r;
	ctxt = xmlXPathNewContext(doc);
	def = calloc(1, sizeof(*def));
	if (!ctxt || !def)
		return -ENOMEM;
	if ((r = parse_identity(ctxt, def, ret_error)) < 0 ||
	    (r = parse_os(ctxt, def, ret_error)) < 0 ||
	    (r = parse_devices(ctxt, def, ret_error_line, ret_error)) < 0)
		return r;
	*ret = TAKE_PTR(def);
	return 0;
}

int domain_def_parse(const char *xml, struct domain_def **ret, char **ret_error)
{
	return domain_def_parse_at(xml, ret, NULL, ret_error);
}

int domain_def_from_xml(const char *xml, struct domain_def **ret, char **ret_error)
{
	_cleanup_domain_def_ struct domain_def *def = NULL;
	int r;

	r = domain_def_parse(xml, &def, ret_error);
	if (r < 0)
		return r;
	r = domain_def_validate(def, ret_error);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(def);
	return 0;
}

static void format_text_element(struct xbuf *b, int indent, const char *name, const char *text)
{
	if (isempty(text))
		return;
	xbuf_printf(b, "%*s<%s>", indent, "", name);
	xbuf_escape(b, text);
	xbuf_printf(b, "</%s>\n", name);
}

static void format_os(struct xbuf *b, const struct domain_def *def)
{
	xbuf_printf(b, "  <os>\n    <type");
	xbuf_attr(b, "arch", def->os_arch);
	xbuf_attr(b, "machine", def->os_machine);
	xbuf_printf(b, ">");
	xbuf_escape(b, def->os_type);
	xbuf_printf(b, "</type>\n");
	format_text_element(b, 4, "kernel", def->kernel);
	format_text_element(b, 4, "initrd", def->initrd);
	format_text_element(b, 4, "cmdline", def->cmdline);
	xbuf_printf(b, "  </os>\n");
}

/* <acpi/> and <apic/> are what every guest has, so they are written whenever <features> is. */
static void format_features(struct xbuf *b, const struct domain_def *def)
{
	bool hotplug = def->hotplug != DOMAIN_HOTPLUG_SLOTS;

	if (!def->features && !hotplug)
		return;
	xbuf_printf(b, "  <features>\n    <acpi/>\n    <apic/>\n");
	if (hotplug) {
		xbuf_printf(b, "    <hotplug");
		xbuf_attr(b, "model", domain_hotplug_to_string(def->hotplug));
		xbuf_printf(b, "/>\n");
	}
	xbuf_printf(b, "  </features>\n");
}

int domain_def_format(const struct domain_def *def, char **ret_xml)
{
	struct xbuf b = {};

	xbuf_printf(&b, "<domain type='kvm'>\n");
	format_text_element(&b, 2, "name", def->name);
	format_text_element(&b, 2, "uuid", def->uuid);
	xbuf_printf(&b, "  <memory unit='KiB'>%llu</memory>\n",
		    (unsigned long long)def->memory_kib);
	if (def->current_memory_kib)
		xbuf_printf(&b, "  <currentMemory unit='KiB'>%llu</currentMemory>\n",
			    (unsigned long long)def->current_memory_kib);
	/* Static placement is the only one mvirt has: say so, as libvirt does. */
	xbuf_printf(&b, "  <vcpu placement='static'>%u</vcpu>\n", def->vcpus);
	format_os(&b, def);
	format_text_element(&b, 2, "on_poweroff", lifecycle_action_to_string(def->on_poweroff));
	format_text_element(&b, 2, "on_reboot", lifecycle_action_to_string(def->on_reboot));
	format_text_element(&b, 2, "on_crash", lifecycle_action_to_string(def->on_crash));
	format_features(&b, def);
	if (def->clock_utc)
		xbuf_printf(&b, "  <clock offset='utc'/>\n");
	if (def->n_disks + def->n_nets + def->n_chrs > 0) {
		xbuf_printf(&b, "  <devices>\n");
		for (size_t i = 0; i < def->n_disks; i++)
			disk_def_format_buf(&b, &def->disks[i], 4);
		for (size_t i = 0; i < def->n_nets; i++)
			net_def_format_buf(&b, &def->nets[i], 4);
		for (size_t i = 0; i < def->n_chrs; i++)
			chr_def_format_buf(&b, &def->chrs[i], 4);
		xbuf_printf(&b, "  </devices>\n");
	}
	xbuf_printf(&b, "</domain>\n");
	return xbuf_steal(&b, ret_xml);
}

int domain_def_set_console(struct domain_def *def, const char *socket_path)
{
	struct chr_def serial = { .type = CHR_TYPE_UNIX, .target_port = 0 };

	if (str_copy(serial.source_path, sizeof(serial.source_path), socket_path) < 0)
		return -ENAMETOOLONG;
	strcpy(serial.source_mode, "bind");
	def->chrs[0] = serial;
	def->chrs[1] = serial;
	def->chrs[1].is_console = true;
	strcpy(def->chrs[1].target_type, "serial");
	def->n_chrs = 2;
	return 0;
}

struct domain_def *domain_def_copy(const struct domain_def *def)
{
	struct domain_def *copy = malloc(sizeof(*copy));

	if (copy)
		memcpy(copy, def, sizeof(*copy));
	return copy;
}

struct domain_def *domain_def_free(struct domain_def *def)
{
	free(def);
	return NULL;
}
