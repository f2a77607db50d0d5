/*
 * One KVM VM: the /dev/kvm and VM fds, guest RAM registered as memory slots,
 * the in-kernel irqchip, and the two buses (port I/O and MMIO) on which
 * devices claim address ranges before the vCPUs start. The buses are
 * read-only once vCPUs run, so lookups take no lock.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "cleanup.h"
#include "memory.h"

#define BUS_MAX_RANGES 64

/* offset is relative to the range's base; data holds len (1-8) little-endian bytes. */
typedef void (*bus_io_fn)(void *opaque, uint64_t offset, uint8_t *data, uint32_t len,
	bool is_write);

struct bus_range {
	uint64_t base;
	uint64_t size;
	bus_io_fn fn;
	void *opaque;
};

struct bus {
	struct bus_range ranges[BUS_MAX_RANGES];
	unsigned n_ranges;
};

enum bus_kind {
	BUS_PIO,
	BUS_MMIO,
	_BUS_KIND_MAX,
};

struct vm {
	int kvm_fd;
	int vm_fd;
	int vcpu_mmap_size;
	struct guest_mem *mem;
	struct bus buses[_BUS_KIND_MAX];
	bool has_irqfd;
	bool has_ioeventfd;
};

/* Takes ownership of mem on success. */
int vm_new(struct guest_mem *mem, struct vm **ret);
struct vm *vm_free(struct vm *vm);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct vm *, vm_free);

int vm_bus_add(struct vm *vm, enum bus_kind kind, uint64_t base, uint64_t size, bus_io_fn fn,
	void *opaque);
/* Finds the range for an exit and calls it; unclaimed reads return all ones. */
void vm_bus_dispatch(struct vm *vm, enum bus_kind kind, uint64_t addr, uint8_t *data, uint32_t len,
	bool is_write);

/* Sets a GSI's input level (an edge is level 1 then 0). Thread-safe. */
int vm_irq_line(struct vm *vm, uint32_t gsi, bool level);
int vm_irqfd_assign(struct vm *vm, int fd, uint32_t gsi);
/* A guest 32-bit write of value to addr signals fd without an exit. */
int vm_ioeventfd_assign(struct vm *vm, uint64_t addr, uint32_t value, int fd, bool assign);
