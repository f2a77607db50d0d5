#include "config.h"

#include <errno.h>

#include "arch/x86/e820.h"
#include "memory.h"

static int e820_add(struct e820_map *map, uint64_t addr, uint64_t size, uint32_t type)
{
	if (map->n >= LAYOUT_E820_MAX)
		return -ENOSPC;
	map->entries[map->n++] = (struct e820_entry){ addr, size, type };
	return 0;
}

int e820_build(const struct guest_mem *mem, struct e820_map *ret)
{
	struct e820_map map = { .n = 0 };
	int r = 0;

	for (unsigned i = 0; i < mem->n_regions && r >= 0; i++) {
		const struct guest_region *g = &mem->regions[i];

		if (g->gpa == 0) {
			if (g->size <= LAYOUT_KERNEL)
				return -EINVAL;
			r = e820_add(&map, 0, LAYOUT_EBDA_START, E820_RAM);
			if (r >= 0)
				r = e820_add(&map, LAYOUT_EBDA_START, LAYOUT_KERNEL - LAYOUT_EBDA_START,
					E820_RESERVED);
			if (r >= 0)
				r = e820_add(&map, LAYOUT_KERNEL, g->size - LAYOUT_KERNEL, E820_RAM);
		} else {
			r = e820_add(&map, g->gpa, g->size, E820_RAM);
		}
	}
	if (r < 0)
		return r;
	*ret = map;
	return 0;
}
