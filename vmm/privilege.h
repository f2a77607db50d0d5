/*
 * Giving up what the VMM no longer needs once the VM is built: -sandbox DIR (a private mount
 * namespace whose root is an empty read-only tmpfs holding only DIR, the runtime directory, at
 * its own path) and -runas USER[:GROUP] (supplementary groups, gid and uid changed, every
 * capability cleared from all sets, no_new_privs). Both run after /dev/kvm, the images, TAPs
 * and sockets named on the command line are open and before the first guest instruction.
 */
#pragma once

#include <sys/types.h>

struct runas {
	uid_t uid;
	gid_t gid;
};

/* "USER[:GROUP]" (names or numbers; the group defaults to the user's): 0 or -errno after
 * logging a sentence naming spec. Looked up before the sandbox hides /etc. */
int runas_resolve(const char *spec, struct runas *ret);
/* 0 or -errno after logging why. */
int sandbox_enter(const char *runtime_dir);
int runas_apply(const struct runas *who);
