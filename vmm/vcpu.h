/*
 * The vCPU threads. Each runs KVM_RUN and dispatches port and MMIO exits to
 * the VM's buses; pausing (QMP stop) parks every thread, and an exit the VM
 * cannot go on from (power-off, reset, an emulation failure) is reported
 * once through the on_exit callback, from the vCPU thread.
 */
#pragma once

#include <pthread.h>
#include <stdbool.h>

#include "kvm.h"

#define VCPU_MAX 32

enum vm_exit_reason {
	VM_EXIT_POWEROFF, /* the guest powered off: exit status 0 */
	VM_EXIT_RESET,    /* the guest asked for a reset or triple-faulted */
	VM_EXIT_ERROR,    /* KVM could not go on: exit status 1 */
	_VM_EXIT_REASON_MAX,
};

const char *vm_exit_reason_to_string(enum vm_exit_reason reason);

struct boot_entry;
struct vcpus;
typedef void (*vcpu_exit_fn)(void *opaque, enum vm_exit_reason reason);

struct vcpu {
	struct vcpus *owner;
	unsigned id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool started;
};

struct vcpus {
	struct vm *vm;
	unsigned n;
	struct vcpu vcpu[VCPU_MAX];
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool paused;
	bool stopping;
	bool exit_reported;
	unsigned n_parked;
	bool seccomp; /* each thread installs the vCPU allowlist before its first KVM_RUN */
	vcpu_exit_fn on_exit;
	void *opaque;
};

/* Creates n vCPUs with their CPUID and boot registers set; threads start with vcpus_start(). */
int vcpus_new(struct vm *vm, unsigned n, const struct boot_entry *entry, vcpu_exit_fn on_exit,
	void *opaque, struct vcpus **ret);
/* Stops and joins the threads, then frees. */
struct vcpus *vcpus_free(struct vcpus *vcpus);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct vcpus *, vcpus_free);

int vcpus_start(struct vcpus *vcpus);
/* Returns once every vCPU thread is parked outside KVM_RUN. */
void vcpus_pause(struct vcpus *vcpus);
void vcpus_resume(struct vcpus *vcpus);
bool vcpus_paused(struct vcpus *vcpus);
/* From any thread: reports reason through on_exit, once per VM. */
void vcpus_request_exit(struct vcpus *vcpus, enum vm_exit_reason reason);
