/* Messages users see go through _(); N_() marks a string for later translation. */
#pragma once

#include <libintl.h>

#define _(s) gettext(s)
#define N_(s) (s)

/* Binds the mvirt text domain; each program's main() calls it once. */
void i18n_init(void);
