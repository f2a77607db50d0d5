/*
 * System call allowlists for mvirt-vmm, one per kind of thread, in
 * the manner of Firecracker: a guest that takes over a device model can only
 * make the calls on these lists; any other call kills the whole process with
 * SIGSYS, which the daemon records as a seccomp violation.
 *
 * Order matters: vCPU threads install their filter when they start, before
 * their first KVM_RUN; the main thread installs its own after creating them,
 * just before the event loop runs, so neither inherits the other's.
 */
#pragma once

#include <stdbool.h>

enum seccomp_thread {
	SECCOMP_THREAD_MAIN, /* event loop: QMP, devices' queues, console, hot-plug */
	SECCOMP_THREAD_VCPU, /* KVM_RUN and the MMIO/PIO exits it returns */
	_SECCOMP_THREAD_MAX,
};

/*
 * One rule: a system call, and for ioctl, fcntl, socket and getsockopt the one
 * value of one argument it allows (the request, the command, the address
 * family, the option). value == SECCOMP_ANY_ARG allows every call.
 */
#define SECCOMP_ANY_ARG ((unsigned long)-1)
struct seccomp_rule {
	int nr; /* libseccomp's number for the call, SCMP_SYS() */
	unsigned arg;
	unsigned long value;
};

/* Installs the allowlist for the calling thread; 0 or -errno. */
int seccomp_install(enum seccomp_thread kind);
/* Whether the calling thread installed one. */
bool seccomp_installed(void);

/* The number of rules of one kind, for tests and for the "fewer than N calls" claim. */
unsigned seccomp_rule_count(enum seccomp_thread kind);

/* The rules of one kind as data, for the test that checks each is still used; NULL for an
 * unknown kind. */
const struct seccomp_rule *seccomp_rules(enum seccomp_thread kind, unsigned *ret_count);
