/* The CPUID each vCPU sees: what KVM supports, with this vCPU's APIC ID and the hypervisor bit. */
#pragma once

struct vm;

int cpuid_setup(struct vm *vm, int vcpu_fd, unsigned id, unsigned n_vcpus);
