/*
 * mvirtctl's command line: one table of verbs, one table of options, and the
 * rules virsh users expect (--live/--config/--persistent/--current). Pure
 * logic, no bus: the unit tests drive it directly.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Exit codes scripts rely on (documented in mvirtctl(1)). */
enum ctl_exit {
	CTL_EXIT_OK = 0,
	CTL_EXIT_FAILED = 1, /* the daemon refused, or the operation failed */
	CTL_EXIT_USAGE = 2,  /* the command line is wrong */
};

/* libvirt's flags, as the daemon's AttachDevice/DetachDevice/GetXML take them. */
enum {
	CTL_FLAG_CURRENT = 0,
	CTL_FLAG_LIVE = 1,
	CTL_FLAG_CONFIG = 2,
};

enum ctl_bus_kind {
	CTL_BUS_SYSTEM,
	CTL_BUS_SESSION,
	CTL_BUS_ADDRESS,
};

/* Options, as bits, so each verb states which ones it accepts. */
enum ctl_opt {
	CTL_OPT_JSON = 1u << 0,
	CTL_OPT_ALL = 1u << 1,
	CTL_OPT_LIVE = 1u << 2,
	CTL_OPT_CONFIG = 1u << 3,
	CTL_OPT_PERSISTENT = 1u << 4,
	CTL_OPT_CURRENT = 1u << 5,
	CTL_OPT_INACTIVE = 1u << 6,
	CTL_OPT_NO_VALIDATE = 1u << 7,
};

#define CTL_OPTS_DEVICE                                                                            \
	(CTL_OPT_LIVE | CTL_OPT_CONFIG | CTL_OPT_PERSISTENT | CTL_OPT_CURRENT)

/* At most this many positional arguments after the verb. */
#define CTL_ARGS_MAX 2

struct ctl_args;
typedef int (*ctl_verb_fn)(const struct ctl_args *args);

struct ctl_verb {
	const char *name;
	const char *synopsis; /* arguments after the verb, untranslated */
	const char *summary;  /* N_() one sentence */
	unsigned min_args, max_args;
	unsigned options;     /* enum ctl_opt bits it accepts */
	ctl_verb_fn run;
};

struct ctl_args {
	const struct ctl_verb *verb;
	const char *argv[CTL_ARGS_MAX];
	unsigned n_args;
	unsigned options; /* enum ctl_opt bits given */
	enum ctl_bus_kind bus;
	const char *bus_address;
	const char *runtime_dir;
	bool help;
	bool version;
};

/* The verb table main.c defines; args.c only reads it. */
extern const struct ctl_verb ctl_verbs[];
extern const unsigned ctl_verbs_count;

const struct ctl_verb *ctl_verb_find(const char *name);

/*
 * Parses argv. Returns 0, or -EINVAL with a translated sentence in *ret_error
 * (the caller frees it) for a usage error. --help and --version set flags and
 * succeed even without a verb.
 */
int ctl_args_parse(int argc, char **argv, struct ctl_args *ret, char **ret_error);

/*
 * Maps --live/--config/--persistent/--current to libvirt flags the way virsh
 * does. --persistent means config, plus live when the domain runs, so the
 * caller says whether it runs. Returns 0 or -EINVAL with *ret_error set.
 */
int ctl_device_flags(unsigned options, bool running, uint32_t *ret_flags, char **ret_error);

/* True when --persistent needs to know the domain's state. */
bool ctl_flags_need_state(unsigned options);

void ctl_print_usage(FILE *f);
void ctl_print_verb_usage(FILE *f, const struct ctl_verb *verb);
