/*
 * Prints mvirt-vmm's seccomp rules as text for integration/test_vmm_seccomp_audit.py, one a
 * line: KIND CALL ARG VALUE, where KIND is main or vcpu, CALL the system call's name on this
 * machine, and ARG VALUE the argument index and the one value allowed (hexadecimal), or
 * "- -" for a rule that allows every call.
 */
#include "config.h"

#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>

#include "seccomp-rules.h"

static const char *const kind_names[_SECCOMP_THREAD_MAX] = {
	[SECCOMP_THREAD_MAIN] = "main",
	[SECCOMP_THREAD_VCPU] = "vcpu",
};

int main(void)
{
	for (int kind = 0; kind < _SECCOMP_THREAD_MAX; kind++) {
		unsigned count = 0;
		const struct seccomp_rule *rules = seccomp_rules(kind, &count);

		for (unsigned i = 0; i < count; i++) {
			char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, rules[i].nr);

			/* A call this architecture lacks is left out of the filter, and so here. */
			if (!name)
				continue;
			if (rules[i].value == SECCOMP_ANY_ARG)
				printf("%s %s - -\n", kind_names[kind], name);
			else
				printf("%s %s %u 0x%lx\n", kind_names[kind], name, rules[i].arg,
				       rules[i].value);
			free(name);
		}
	}
	return fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
