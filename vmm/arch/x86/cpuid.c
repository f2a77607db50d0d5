#include "config.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <sys/ioctl.h>

#include "arch/x86/cpuid.h"
#include "cleanup.h"
#include "kvm.h"
#include "log.h"

/* Enough for every leaf KVM reports on current CPUs; KVM answers E2BIG otherwise. */
#define CPUID_MAX_ENTRIES 256
#define CPUID_HYPERVISOR_BIT (1u << 31)

static void cpuid_patch(struct kvm_cpuid_entry2 *e, unsigned id, unsigned n_vcpus)
{
	switch (e->function) {
	case 1:
		/* Initial APIC ID and the logical processor count of the package. */
		e->ebx = (e->ebx & 0x0000ffff) | (id << 24) | ((n_vcpus & 0xff) << 16);
		e->ecx |= CPUID_HYPERVISOR_BIT;
		break;
	case 0xb:
	case 0x1f:
		e->edx = id; /* x2APIC ID */
		break;
	default:
		break;
	}
}

int cpuid_setup(struct vm *vm, int vcpu_fd, unsigned id, unsigned n_vcpus)
{
	_cleanup_free_ struct kvm_cpuid2 *cpuid = NULL;

	cpuid = calloc(1, sizeof(*cpuid) + CPUID_MAX_ENTRIES * sizeof(struct kvm_cpuid_entry2));
	if (!cpuid)
		return -ENOMEM;
	cpuid->nent = CPUID_MAX_ENTRIES;
	if (ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, cpuid) < 0)
		return log_error_errno(errno, "Failed to read the CPUID KVM supports: %m");
	for (unsigned i = 0; i < cpuid->nent; i++)
		cpuid_patch(&cpuid->entries[i], id, n_vcpus);
	if (ioctl(vcpu_fd, KVM_SET_CPUID2, cpuid) < 0)
		return log_error_errno(errno, "Failed to set the CPUID of vCPU %u: %m", id);
	return 0;
}
