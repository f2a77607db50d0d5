/*
 * Guest RAM: up to two regions (below the 3 GiB hole and above 4 GiB), mapped
 * into the VMM. Every access the guest can steer goes through guest_mem_ptr(),
 * which checks that the whole range lies inside one region.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "cleanup.h"

#define GUEST_MEM_MAX_REGIONS 2
/* Smallest and largest RAM a VM may have (-m). */
#define GUEST_MEM_MIN (16ULL << 20)
#define GUEST_MEM_MAX (64ULL << 30)

struct guest_region {
	uint64_t gpa;
	uint64_t size;
	uint8_t *hva;
};

struct guest_mem {
	struct guest_region regions[GUEST_MEM_MAX_REGIONS];
	unsigned n_regions;
	uint64_t total;
};

int guest_mem_new(uint64_t size, struct guest_mem **ret);
struct guest_mem *guest_mem_free(struct guest_mem *mem);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct guest_mem *, guest_mem_free);

/* A host pointer to [gpa, gpa+len) when it lies wholly in guest RAM, else NULL. */
void *guest_mem_ptr(const struct guest_mem *mem, uint64_t gpa, uint64_t len);
/* Copies in or out of guest RAM: 0 or -EFAULT. */
int guest_mem_write(const struct guest_mem *mem, uint64_t gpa, const void *src, size_t len);
int guest_mem_read(const struct guest_mem *mem, uint64_t gpa, void *dst, size_t len);
