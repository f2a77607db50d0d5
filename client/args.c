#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "cleanup.h"
#include "i18n.h"
#include "util.h"

enum {
	ARG_SYSTEM = 0x100,
	ARG_SESSION,
	ARG_BUS_ADDRESS,
	ARG_RUNTIME_DIR,
	ARG_JSON,
	ARG_ALL,
	ARG_LIVE,
	ARG_CONFIG,
	ARG_PERSISTENT,
	ARG_CURRENT,
	ARG_INACTIVE,
	ARG_NO_VALIDATE,
};

static const struct option long_options[] = {
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ "system", no_argument, NULL, ARG_SYSTEM },
	{ "session", no_argument, NULL, ARG_SESSION },
	{ "bus-address", required_argument, NULL, ARG_BUS_ADDRESS },
	{ "runtime-dir", required_argument, NULL, ARG_RUNTIME_DIR },
	{ "json", no_argument, NULL, ARG_JSON },
	{ "all", no_argument, NULL, ARG_ALL },
	{ "live", no_argument, NULL, ARG_LIVE },
	{ "config", no_argument, NULL, ARG_CONFIG },
	{ "persistent", no_argument, NULL, ARG_PERSISTENT },
	{ "current", no_argument, NULL, ARG_CURRENT },
	{ "inactive", no_argument, NULL, ARG_INACTIVE },
	{ "no-validate", no_argument, NULL, ARG_NO_VALIDATE },
	{}
};

/* The verb options, in the order of the enum above, with their spelling. */
static const struct {
	int arg;
	unsigned bit;
	const char *name;
} verb_options[] = {
	{ ARG_JSON, CTL_OPT_JSON, "--json" },
	{ ARG_ALL, CTL_OPT_ALL, "--all" },
	{ ARG_LIVE, CTL_OPT_LIVE, "--live" },
	{ ARG_CONFIG, CTL_OPT_CONFIG, "--config" },
	{ ARG_PERSISTENT, CTL_OPT_PERSISTENT, "--persistent" },
	{ ARG_CURRENT, CTL_OPT_CURRENT, "--current" },
	{ ARG_INACTIVE, CTL_OPT_INACTIVE, "--inactive" },
	{ ARG_NO_VALIDATE, CTL_OPT_NO_VALIDATE, "--no-validate" },
};

static int fail(char **ret_error, const char *fmt, ...) _printf_(2, 3);
static int fail(char **ret_error, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(ret_error, fmt, ap) < 0)
		*ret_error = NULL;
	va_end(ap);
	return -EINVAL;
}

const struct ctl_verb *ctl_verb_find(const char *name)
{
	for (unsigned i = 0; i < ctl_verbs_count; i++)
		if (streq(ctl_verbs[i].name, name))
			return &ctl_verbs[i];
	return NULL;
}

static const char *option_name(unsigned bit)
{
	for (size_t i = 0; i < ELEMENTSOF(verb_options); i++)
		if (verb_options[i].bit == bit)
			return verb_options[i].name;
	return "?";
}

static int parse_one(int c, const char *arg, struct ctl_args *a, char **ret_error)
{
	switch (c) {
	case 'h':
		a->help = true;
		return 0;
	case 'V':
		a->version = true;
		return 0;
	case ARG_SYSTEM:
		a->bus = CTL_BUS_SYSTEM;
		return 0;
	case ARG_SESSION:
		a->bus = CTL_BUS_SESSION;
		return 0;
	case ARG_BUS_ADDRESS:
		if (isempty(arg))
			return fail(ret_error, _("The option --bus-address needs a D-Bus address, "
						 "such as unix:path=/run/bus."));
		a->bus = CTL_BUS_ADDRESS;
		a->bus_address = arg;
		return 0;
	case ARG_RUNTIME_DIR:
		a->runtime_dir = arg;
		return 0;
	}
	for (size_t i = 0; i < ELEMENTSOF(verb_options); i++)
		if (verb_options[i].arg == c) {
			a->options |= verb_options[i].bit;
			return 0;
		}
	return fail(ret_error, _("Unknown option or missing value; see 'mvirtctl --help'."));
}

/* Checks what only the verb knows: its options and its number of arguments. */
static int check_verb(struct ctl_args *a, char **ret_error)
{
	const struct ctl_verb *v = a->verb;
	unsigned extra = a->options & ~v->options;

	if (a->help)
		return 0;
	if (extra)
		return fail(ret_error, _("The verb '%s' does not take the option %s; see "
					 "'mvirtctl %s --help'."),
			v->name, option_name(extra & -extra), v->name);
	if (a->n_args < v->min_args || a->n_args > v->max_args)
		return fail(ret_error, _("Wrong number of arguments: usage is 'mvirtctl %s %s'."),
			v->name, v->synopsis);
	return 0;
}

int ctl_args_parse(int argc, char **argv, struct ctl_args *ret, char **ret_error)
{
	struct ctl_args a = { .bus = CTL_BUS_SYSTEM, .runtime_dir = "/run/mvirt" };
	int c, r;

	*ret_error = NULL;
	optind = 0; /* full reset: the unit tests parse many command lines */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "hV", long_options, NULL)) != -1) {
		if (c == '?' && optopt && strchr(argv[optind - 1], '='))
			return fail(ret_error, _("The option '%s' takes no value; see "
						 "'mvirtctl --help'."), argv[optind - 1]);
		if (c == '?' && optopt)
			return fail(ret_error, _("The option '%s' needs a value; see "
						 "'mvirtctl --help'."), argv[optind - 1]);
		if (c == '?')
			return fail(ret_error, _("Unknown option '%s'; see 'mvirtctl --help'."),
				    argv[optind - 1]);
		r = parse_one(c, optarg, &a, ret_error);
		if (r < 0)
			return r;
	}
	if (optind < argc) {
		a.verb = ctl_verb_find(argv[optind]);
		if (!a.verb)
			return fail(ret_error, _("Unknown verb '%s'; 'mvirtctl --help' lists them."),
				argv[optind]);
		for (optind++; optind < argc; optind++) {
			if (a.n_args == CTL_ARGS_MAX)
				return fail(ret_error, _("Too many arguments: usage is 'mvirtctl %s %s'."),
					a.verb->name, a.verb->synopsis);
			a.argv[a.n_args++] = argv[optind];
		}
		r = check_verb(&a, ret_error);
		if (r < 0)
			return r;
	} else if (!a.help && !a.version) {
		return fail(ret_error, _("No verb given; 'mvirtctl --help' lists them."));
	}
	*ret = a;
	return 0;
}

bool ctl_flags_need_state(unsigned options)
{
	return options & CTL_OPT_PERSISTENT;
}

int ctl_device_flags(unsigned options, bool running, uint32_t *ret_flags, char **ret_error)
{
	bool current = options & CTL_OPT_CURRENT;
	uint32_t flags = CTL_FLAG_CURRENT;

	*ret_error = NULL;
	/* As virsh: --current means "whatever the domain is now" and excludes the rest. */
	if (current && (options & CTL_OPT_LIVE))
		return fail(ret_error, _("The options --current and --live are mutually exclusive; "
					 "give one of them."));
	if (current && (options & CTL_OPT_CONFIG))
		return fail(ret_error, _("The options --current and --config are mutually exclusive; "
					 "give one of them."));
	if (current && (options & CTL_OPT_PERSISTENT))
		return fail(ret_error, _("The options --current and --persistent are mutually "
					 "exclusive; give one of them."));
	if (options & (CTL_OPT_CONFIG | CTL_OPT_PERSISTENT))
		flags |= CTL_FLAG_CONFIG;
	if (options & CTL_OPT_LIVE)
		flags |= CTL_FLAG_LIVE;
	if ((options & CTL_OPT_PERSISTENT) && running)
		flags |= CTL_FLAG_LIVE;
	*ret_flags = flags;
	return 0;
}

void ctl_print_usage(FILE *f)
{
	fprintf(f, _("Usage: mvirtctl [OPTION...] VERB [ARGUMENT...]\n"
		     "Manages mvirt domains and their hot-plugged devices through mvirtd.\n\n"));
	fprintf(f, _("Verbs:\n"));
	for (unsigned i = 0; i < ctl_verbs_count; i++)
		fprintf(f, "  %-20s %s\n", ctl_verbs[i].name, _(ctl_verbs[i].summary));
	fprintf(f, _("\nOptions:\n"
		     "  --system             use the system bus (the default)\n"
		     "  --session            use the session bus\n"
		     "  --bus-address ADDR   use the bus at this D-Bus address\n"
		     "  --runtime-dir DIR    mvirtd's runtime folder, for console (default /run/mvirt)\n"
		     "  -h, --help           show this help, or a verb's help after the verb\n"
		     "  -V, --version        show the version\n\n"
		     "Exit status: 0 on success, 1 when the daemon refused or the operation failed,\n"
		     "2 for a wrong command line.\n"));
}

void ctl_print_verb_usage(FILE *f, const struct ctl_verb *v)
{
	fprintf(f, _("Usage: mvirtctl %s %s\n%s\n"), v->name, v->synopsis, _(v->summary));
	if (v->options)
		fprintf(f, _("\nOptions:\n"));
	if (v->options & CTL_OPT_ALL)
		fprintf(f, _("  --all            include domains that are not running\n"));
	if (v->options & CTL_OPT_JSON)
		fprintf(f, _("  --json           print JSON (one object per line for events)\n"));
	if (v->options & CTL_OPT_LIVE)
		fprintf(f, _("  --live           affect the running domain\n"));
	if (v->options & CTL_OPT_CONFIG)
		fprintf(f, _("  --config         affect the persistent definition\n"));
	if (v->options & CTL_OPT_PERSISTENT)
		fprintf(f, _("  --persistent     the definition, and the running domain if it runs\n"));
	if (v->options & CTL_OPT_CURRENT)
		fprintf(f, _("  --current        the domain as it is now, running or not (the "
			     "default)\n"));
	if (v->options & CTL_OPT_INACTIVE)
		fprintf(f, _("  --inactive       show the persistent definition\n"));
	if (v->options & CTL_OPT_NO_VALIDATE)
		fprintf(f, _("  --no-validate    do not check the file against the schema first\n"));
}
