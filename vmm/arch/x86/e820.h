/* The guest's memory map, given to the kernel in boot_params or the PVH start info. */
#pragma once

#include <stdint.h>

#include "arch/x86/layout.h"

#define E820_RAM 1
#define E820_RESERVED 2

struct e820_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
};

struct e820_map {
	struct e820_entry entries[LAYOUT_E820_MAX];
	unsigned n;
};

struct guest_mem;

/* RAM below the EBDA, the legacy area reserved, RAM from 1 MiB, RAM above 4 GiB. */
int e820_build(const struct guest_mem *mem, struct e820_map *ret);
