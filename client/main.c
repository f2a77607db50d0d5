/* mvirtctl: locale, command line, dispatch to the verb (verbs.c holds the table). */
#include "config.h"

#include <locale.h>
#include <stdio.h>
#include <stdlib.h>

#include "args.h"
#include "commands.h"
#include "i18n.h"
#include "log.h"

/* Tests run before `make install`: MVIRT_LOCALEDIR points at a folder of built catalogues. */
static void locale_init(void)
{
	const char *dir = getenv("MVIRT_LOCALEDIR");

	setlocale(LC_ALL, "");
	i18n_init();
	if (dir && *dir)
		bindtextdomain(GETTEXT_PACKAGE, dir);
}

int main(int argc, char **argv)
{
	_cleanup_free_ char *error = NULL;
	struct ctl_args a;

	locale_init();
	log_set_ident("mvirtctl");
	if (ctl_args_parse(argc, argv, &a, &error) < 0) {
		fprintf(stderr, "mvirtctl: %s\n", error ? error : _("Out of memory."));
		return CTL_EXIT_USAGE;
	}
	if (a.help) {
		if (a.verb)
			ctl_print_verb_usage(stdout, a.verb);
		else
			ctl_print_usage(stdout);
		return CTL_EXIT_OK;
	}
	if (a.version && !a.verb)
		return cmd_version(&a);
	return a.verb->run(&a);
}
