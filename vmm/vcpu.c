#include "config.h"

#include <errno.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "arch/x86/boot.h"
#include "arch/x86/cpuid.h"
#include "log.h"
#include "seccomp-rules.h"
#include "string-table.h"
#include "vcpu.h"

/* Kicks a vCPU thread out of KVM_RUN; the handler does nothing, the EINTR is the point. */
#define VCPU_KICK_SIGNAL SIGUSR1

static const char *const vm_exit_reason_table[_VM_EXIT_REASON_MAX] = {
	[VM_EXIT_POWEROFF] = "guest-shutdown",
	[VM_EXIT_RESET] = "guest-reset",
	[VM_EXIT_ERROR] = "guest-panic",
};

DEFINE_STRING_TABLE_TO_STRING(vm_exit_reason, enum vm_exit_reason, _VM_EXIT_REASON_MAX);

static void kick_handler(int sig)
{
}

void vcpus_request_exit(struct vcpus *vcpus, enum vm_exit_reason reason)
{
	bool first;

	pthread_mutex_lock(&vcpus->lock);
	first = !vcpus->exit_reported;
	vcpus->exit_reported = true;
	pthread_mutex_unlock(&vcpus->lock);
	if (first && vcpus->on_exit)
		vcpus->on_exit(vcpus->opaque, reason);
}

static void vcpu_handle_io(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	bool is_write = run->io.direction == KVM_EXIT_IO_OUT;

	for (uint32_t i = 0; i < run->io.count; i++) {
		vm_bus_dispatch(v->owner->vm, BUS_PIO, run->io.port, data, run->io.size, is_write);
		data += run->io.size;
	}
}

/* Formats the 16 bytes at the guest's rip (translated by KVM), or "?" when they are unmapped. */
static void vcpu_code_bytes(struct vcpu *v, uint64_t rip, char *buf, size_t size)
{
	struct kvm_translation tr = { .linear_address = rip };
	uint8_t code[16];
	size_t n = 0;

	snprintf(buf, size, "?");
	if (ioctl(v->fd, KVM_TRANSLATE, &tr) < 0 || !tr.valid ||
		guest_mem_read(v->owner->vm->mem, tr.physical_address, code, sizeof(code)) < 0)
		return;
	for (size_t i = 0; i < sizeof(code) && n + 3 < size; i++)
		n += snprintf(buf + n, size - n, "%02x%s", code[i], i + 1 < sizeof(code) ? " " : "");
}

/* Says where the guest was, so an emulation failure can be traced to an instruction. */
static void vcpu_log_state(struct vcpu *v, uint32_t suberror)
{
	struct kvm_regs regs = { 0 };
	struct kvm_sregs sregs = { 0 };
	char code[16 * 3 + 1];

	(void)ioctl(v->fd, KVM_GET_REGS, &regs);
	(void)ioctl(v->fd, KVM_GET_SREGS, &sregs);
	vcpu_code_bytes(v, regs.rip, code, sizeof(code));
	log_error("vCPU %u: KVM internal error, suberror %u at rip 0x%llx (cr0 0x%llx, cr3 0x%llx, "
		"cr4 0x%llx, efer 0x%llx, code %s); stopping the VM.", v->id, suberror,
		(unsigned long long)regs.rip, (unsigned long long)sregs.cr0,
		(unsigned long long)sregs.cr3, (unsigned long long)sregs.cr4,
		(unsigned long long)sregs.efer, code);
}

/* Returns false when the VM cannot go on. */
static bool vcpu_handle_exit(struct vcpu *v)
{
	struct kvm_run *run = v->run;

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		vcpu_handle_io(v);
		return true;
	case KVM_EXIT_MMIO:
		vm_bus_dispatch(v->owner->vm, BUS_MMIO, run->mmio.phys_addr, run->mmio.data,
			run->mmio.len, run->mmio.is_write);
		return true;
	case KVM_EXIT_HLT:
	case KVM_EXIT_IRQ_WINDOW_OPEN:
	case KVM_EXIT_INTR:
		return true;
	case KVM_EXIT_SHUTDOWN:
		log_info("vCPU %u: the guest triple-faulted or reset; stopping the VM.", v->id);
		vcpus_request_exit(v->owner, VM_EXIT_RESET);
		return false;
	case KVM_EXIT_SYSTEM_EVENT:
		vcpus_request_exit(v->owner, run->system_event.type == KVM_SYSTEM_EVENT_RESET ?
			VM_EXIT_RESET : VM_EXIT_POWEROFF);
		return false;
	case KVM_EXIT_INTERNAL_ERROR:
		vcpu_log_state(v, run->internal.suberror);
		break;
	case KVM_EXIT_FAIL_ENTRY:
		log_error("vCPU %u: KVM could not enter the guest (reason 0x%llx); stopping the VM.",
			v->id, (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		break;
	default:
		log_error("vCPU %u: unexpected KVM exit %u; stopping the VM.", v->id, run->exit_reason);
		break;
	}
	vcpus_request_exit(v->owner, VM_EXIT_ERROR);
	return false;
}

/* Parks while paused; returns false when the thread should end. */
static bool vcpu_wait_runnable(struct vcpu *v)
{
	struct vcpus *vcpus = v->owner;
	bool go;

	pthread_mutex_lock(&vcpus->lock);
	while (vcpus->paused && !vcpus->stopping) {
		vcpus->n_parked++;
		pthread_cond_broadcast(&vcpus->cond);
		pthread_cond_wait(&vcpus->cond, &vcpus->lock);
		vcpus->n_parked--;
	}
	go = !vcpus->stopping;
	pthread_mutex_unlock(&vcpus->lock);
	return go;
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;

	/* Before the first guest instruction this thread runs: nothing of the guest's is trusted. */
	if (v->owner->seccomp && seccomp_install(SECCOMP_THREAD_VCPU) < 0) {
		vcpus_request_exit(v->owner, VM_EXIT_ERROR);
		return NULL;
	}
	while (vcpu_wait_runnable(v)) {
		if (ioctl(v->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				v->run->immediate_exit = 0;
				continue;
			}
			log_error_errno(errno, "vCPU %u: KVM_RUN failed: %m", v->id);
			vcpus_request_exit(v->owner, VM_EXIT_ERROR);
			break;
		}
		if (!vcpu_handle_exit(v))
			break;
	}
	return NULL;
}

static int vcpu_init(struct vcpus *vcpus, unsigned id, const struct boot_entry *entry)
{
	struct vcpu *v = &vcpus->vcpu[id];
	int r;

	v->owner = vcpus;
	v->id = id;
	v->fd = ioctl(vcpus->vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)id);
	if (v->fd < 0)
		return log_error_errno(errno, "Failed to create vCPU %u: %m", id);
	v->run = mmap(NULL, vcpus->vm->vcpu_mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED) {
		v->run = NULL;
		return log_error_errno(errno, "Failed to map vCPU %u: %m", id);
	}
	r = cpuid_setup(vcpus->vm, v->fd, id, vcpus->n);
	if (r < 0)
		return r;
	/* Application processors wait for INIT/SIPI in the in-kernel LAPIC. */
	if (id == 0)
		return boot_setup_vcpu(v->fd, entry);
	return 0;
}

int vcpus_new(struct vm *vm, unsigned n, const struct boot_entry *entry, vcpu_exit_fn on_exit,
	void *opaque, struct vcpus **ret)
{
	_cleanup_(vcpus_freep) struct vcpus *vcpus = NULL;
	int r;

	if (n < 1 || n > VCPU_MAX)
		return -ERANGE;
	vcpus = calloc(1, sizeof(*vcpus));
	if (!vcpus)
		return -ENOMEM;
	vcpus->vm = vm;
	vcpus->n = n;
	vcpus->on_exit = on_exit;
	vcpus->opaque = opaque;
	pthread_mutex_init(&vcpus->lock, NULL);
	pthread_cond_init(&vcpus->cond, NULL);
	for (unsigned i = 0; i < n; i++)
		vcpus->vcpu[i].fd = -1;
	for (unsigned i = 0; i < n; i++) {
		r = vcpu_init(vcpus, i, entry);
		if (r < 0)
			return r;
	}
	*ret = TAKE_PTR(vcpus);
	return 0;
}

int vcpus_start(struct vcpus *vcpus)
{
	struct sigaction sa = { .sa_handler = kick_handler };
	int r;

	/* No SA_RESTART: the kick must interrupt KVM_RUN with EINTR. */
	sigemptyset(&sa.sa_mask);
	if (sigaction(VCPU_KICK_SIGNAL, &sa, NULL) < 0)
		return -errno;
	for (unsigned i = 0; i < vcpus->n; i++) {
		struct vcpu *v = &vcpus->vcpu[i];

		r = pthread_create(&v->thread, NULL, vcpu_thread, v);
		if (r != 0)
			return log_error_errno(-r, "Failed to start the thread of vCPU %u: %m", i);
		v->started = true;
	}
	return 0;
}

static void vcpus_kick_all(struct vcpus *vcpus)
{
	for (unsigned i = 0; i < vcpus->n; i++) {
		struct vcpu *v = &vcpus->vcpu[i];

		if (!v->started)
			continue;
		__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
		pthread_kill(v->thread, VCPU_KICK_SIGNAL);
	}
}

void vcpus_pause(struct vcpus *vcpus)
{
	unsigned started = 0;

	for (unsigned i = 0; i < vcpus->n; i++)
		started += vcpus->vcpu[i].started;
	pthread_mutex_lock(&vcpus->lock);
	vcpus->paused = true;
	pthread_mutex_unlock(&vcpus->lock);
	vcpus_kick_all(vcpus);
	pthread_mutex_lock(&vcpus->lock);
	while (vcpus->n_parked < started && !vcpus->stopping && !vcpus->exit_reported)
		pthread_cond_wait(&vcpus->cond, &vcpus->lock);
	pthread_mutex_unlock(&vcpus->lock);
}

void vcpus_resume(struct vcpus *vcpus)
{
	pthread_mutex_lock(&vcpus->lock);
	vcpus->paused = false;
	pthread_cond_broadcast(&vcpus->cond);
	pthread_mutex_unlock(&vcpus->lock);
}

bool vcpus_paused(struct vcpus *vcpus)
{
	bool paused;

	pthread_mutex_lock(&vcpus->lock);
	paused = vcpus->paused;
	pthread_mutex_unlock(&vcpus->lock);
	return paused;
}

struct vcpus *vcpus_free(struct vcpus *vcpus)
{
	if (!vcpus)
		return NULL;
	pthread_mutex_lock(&vcpus->lock);
	vcpus->stopping = true;
	pthread_cond_broadcast(&vcpus->cond);
	pthread_mutex_unlock(&vcpus->lock);
	vcpus_kick_all(vcpus);
	for (unsigned i = 0; i < vcpus->n; i++) {
		struct vcpu *v = &vcpus->vcpu[i];

		if (v->started)
			pthread_join(v->thread, NULL);
		if (v->run)
			munmap(v->run, vcpus->vm->vcpu_mmap_size);
		safe_close(v->fd);
	}
	pthread_mutex_destroy(&vcpus->lock);
	pthread_cond_destroy(&vcpus->cond);
	free(vcpus);
	return NULL;
}
