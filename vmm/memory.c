#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "arch/x86/layout.h"
#include "log.h"
#include "memory.h"

static int region_map(struct guest_region *r, uint64_t gpa, uint64_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		-1, 0);

	if (p == MAP_FAILED)
		return -errno;
	/* Guest RAM never goes into a core dump of the VMM. */
	(void)madvise(p, size, MADV_DONTDUMP);
	r->gpa = gpa;
	r->size = size;
	r->hva = p;
	return 0;
}

int guest_mem_new(uint64_t size, struct guest_mem **ret)
{
	_cleanup_(guest_mem_freep) struct guest_mem *mem = NULL;
	uint64_t low = size < LAYOUT_MMIO_HOLE ? size : LAYOUT_MMIO_HOLE;
	int r;

	if (size < GUEST_MEM_MIN || size > GUEST_MEM_MAX)
		return -ERANGE;
	mem = calloc(1, sizeof(*mem));
	if (!mem)
		return -ENOMEM;
	r = region_map(&mem->regions[mem->n_regions], 0, low);
	if (r < 0)
		return r;
	mem->n_regions++;
	if (size > low) {
		r = region_map(&mem->regions[mem->n_regions], LAYOUT_4G, size - low);
		if (r < 0)
			return r;
		mem->n_regions++;
	}
	mem->total = size;
	*ret = TAKE_PTR(mem);
	return 0;
}

struct guest_mem *guest_mem_free(struct guest_mem *mem)
{
	if (!mem)
		return NULL;
	for (unsigned i = 0; i < mem->n_regions; i++)
		munmap(mem->regions[i].hva, mem->regions[i].size);
	free(mem);
	return NULL;
}

void *guest_mem_ptr(const struct guest_mem *mem, uint64_t gpa, uint64_t len)
{
	for (unsigned i = 0; i < mem->n_regions; i++) {
		const struct guest_region *r = &mem->regions[i];

		/* Written so that no sum can overflow, whatever the guest supplied. */
		if (gpa < r->gpa || gpa - r->gpa > r->size)
			continue;
		if (len > r->size - (gpa - r->gpa))
			return NULL;
		return r->hva + (gpa - r->gpa);
	}
	return NULL;
}

int guest_mem_write(const struct guest_mem *mem, uint64_t gpa, const void *src, size_t len)
{
	void *p = guest_mem_ptr(mem, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(p, src, len);
	return 0;
}

int guest_mem_read(const struct guest_mem *mem, uint64_t gpa, void *dst, size_t len)
{
	const void *p = guest_mem_ptr(mem, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(dst, p, len);
	return 0;
}
