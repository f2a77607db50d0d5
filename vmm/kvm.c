#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "arch/x86/layout.h"
#include "i18n.h"
#include "kvm.h"
#include "log.h"

/* Addresses KVM on Intel needs for real-mode support; inside the MMIO hole, never RAM. */
#define KVM_TSS_ADDR 0xfffbd000ULL
#define KVM_IDENTITY_MAP_ADDR 0xfffbc000ULL

static int vm_check_extensions(struct vm *vm)
{
	static const struct {
		int cap;
		const char *name;
	} required[] = {
		{ KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP" },
		{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY" },
		{ KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR" },
		{ KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID" },
	};

	for (size_t i = 0; i < ELEMENTSOF(required); i++)
		if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, required[i].cap) <= 0)
			return log_error_errno(-ENOTSUP,
				_("This host's KVM lacks %s, which mvirt-vmm needs."),
				required[i].name);
	vm->has_irqfd = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IRQFD) > 0;
	vm->has_ioeventfd = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IOEVENTFD) > 0;
	return 0;
}

static int vm_set_memory(struct vm *vm)
{
	for (unsigned i = 0; i < vm->mem->n_regions; i++) {
		const struct guest_region *r = &vm->mem->regions[i];
		struct kvm_userspace_memory_region region = {
			.slot = i,
			.guest_phys_addr = r->gpa,
			.memory_size = r->size,
			.userspace_addr = (uint64_t)(uintptr_t)r->hva,
		};

		if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0)
			return log_error_errno(errno, "Failed to register guest memory with KVM: %m");
	}
	return 0;
}

static int vm_setup(struct vm *vm)
{
	int r;

	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0)
		return log_error_errno(errno, _("Cannot open /dev/kvm: %m. Check that KVM is loaded "
			"and that you may use it (group kvm)."));
	if (ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION)
		return log_error_errno(-ENOTSUP, _("This host's KVM API version is not 12."));
	r = vm_check_extensions(vm);
	if (r < 0)
		return r;
	vm->vcpu_mmap_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (vm->vcpu_mmap_size <= 0)
		return log_error_errno(errno, "Failed to get the vCPU mmap size: %m");
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0)
		return log_error_errno(errno, _("Failed to create a KVM VM: %m."));
	/* KVM creates VM fds with O_CLOEXEC. */
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)KVM_TSS_ADDR) < 0)
		return log_error_errno(errno, "Failed to set the KVM TSS address: %m");
	uint64_t idmap = KVM_IDENTITY_MAP_ADDR;
	if (ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &idmap) < 0)
		log_debug_errno(errno, "KVM_SET_IDENTITY_MAP_ADDR failed, going on: %m");
	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
		return log_error_errno(errno, "Failed to create the in-kernel irqchip: %m");
	return vm_set_memory(vm);
}

int vm_new(struct guest_mem *mem, struct vm **ret)
{
	_cleanup_(vm_freep) struct vm *vm = calloc(1, sizeof(*vm));
	int r;

	if (!vm)
		return -ENOMEM;
	vm->kvm_fd = vm->vm_fd = -1;
	vm->mem = mem;
	r = vm_setup(vm);
	if (r < 0) {
		vm->mem = NULL; /* still the caller's */
		return r;
	}
	*ret = TAKE_PTR(vm);
	return 0;
}

struct vm *vm_free(struct vm *vm)
{
	if (!vm)
		return NULL;
	safe_close(vm->vm_fd);
	safe_close(vm->kvm_fd);
	guest_mem_free(vm->mem);
	free(vm);
	return NULL;
}

int vm_bus_add(struct vm *vm, enum bus_kind kind, uint64_t base, uint64_t size, bus_io_fn fn,
	void *opaque)
{
	struct bus *bus = &vm->buses[kind];

	if (bus->n_ranges >= BUS_MAX_RANGES)
		return -ENOSPC;
	for (unsigned i = 0; i < bus->n_ranges; i++) {
		const struct bus_range *o = &bus->ranges[i];

		if (base < o->base + o->size && o->base < base + size)
			return -EEXIST;
	}
	bus->ranges[bus->n_ranges++] = (struct bus_range){ base, size, fn, opaque };
	return 0;
}

void vm_bus_dispatch(struct vm *vm, enum bus_kind kind, uint64_t addr, uint8_t *data, uint32_t len,
	bool is_write)
{
	const struct bus *bus = &vm->buses[kind];

	for (unsigned i = 0; i < bus->n_ranges; i++) {
		const struct bus_range *r = &bus->ranges[i];

		if (addr >= r->base && addr - r->base < r->size) {
			r->fn(r->opaque, addr - r->base, data, len, is_write);
			return;
		}
	}
	if (!is_write)
		memset(data, 0xff, len);
}

int vm_irq_line(struct vm *vm, uint32_t gsi, bool level)
{
	struct kvm_irq_level irq = { .irq = gsi, .level = level };

	if (ioctl(vm->vm_fd, KVM_IRQ_LINE, &irq) < 0)
		return -errno;
	return 0;
}

int vm_irqfd_assign(struct vm *vm, int fd, uint32_t gsi)
{
	struct kvm_irqfd irqfd = { .fd = fd, .gsi = gsi };

	if (!vm->has_irqfd)
		return -ENOTSUP;
	if (ioctl(vm->vm_fd, KVM_IRQFD, &irqfd) < 0)
		return -errno;
	return 0;
}

int vm_ioeventfd_assign(struct vm *vm, uint64_t addr, uint32_t value, int fd, bool assign)
{
	struct kvm_ioeventfd io = {
		.datamatch = value,
		.addr = addr,
		.len = 4,
		.fd = fd,
		.flags = KVM_IOEVENTFD_FLAG_DATAMATCH | (assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN),
	};

	if (!vm->has_ioeventfd)
		return -ENOTSUP;
	if (ioctl(vm->vm_fd, KVM_IOEVENTFD, &io) < 0)
		return -errno;
	return 0;
}
