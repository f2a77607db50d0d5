/* libFuzzer target: the virtqueue walker over guest RAM the fuzzer writes, as a hostile guest
 * would. The input is a queue configuration (16 bytes) followed by the guest's RAM: two
 * regions of FUZZ_REGION bytes, one at 0 and one above 4 GiB, as the VMM's memory layout has
 * them. Every buffer a popped chain names must lie inside one region, and the copies
 * (iov_to_buf/iov_from_buf/iov_slice) must stay inside the chain. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devices/virtqueue.h"
#include "memory.h"

#define FUZZ_REGION 16384
#define FUZZ_HIGH_GPA 0x100000000ULL
#define FUZZ_POPS 8

static uint8_t ram[2][FUZZ_REGION];
static struct virtq_elem elem;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t gpa_of(uint16_t v)
{
	/* Bit 15 picks the region; the rest an offset that may run past its end. */
	return (v & 0x8000 ? FUZZ_HIGH_GPA : 0) + (v & 0x7fff);
}

static void check_inside(const struct iovec *iov, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		const uint8_t *p = iov[i].iov_base;
		int r = p >= ram[1] && p < ram[1] + FUZZ_REGION;

		if (p < ram[r] || iov[i].iov_len > (size_t)(ram[r] + FUZZ_REGION - p))
			abort(); /* a buffer outside guest RAM */
	}
}

static void use_chain(struct virtqueue *vq, uint16_t knob)
{
	uint8_t buf[512];
	struct iovec part[VIRTQ_MAX_CHAIN];
	size_t out = iov_size(elem.out, elem.n_out), in = iov_size(elem.in, elem.n_in);
	size_t got;

	if (elem.n_out > VIRTQ_MAX_CHAIN || elem.n_in > VIRTQ_MAX_CHAIN ||
		elem.n_out + elem.n_in > VIRTQ_MAX_CHAIN)
		abort();
	check_inside(elem.out, elem.n_out);
	check_inside(elem.in, elem.n_in);
	got = iov_to_buf(elem.out, elem.n_out, knob % 64, buf, sizeof(buf));
	if (got > sizeof(buf) || got > out)
		abort();
	got = iov_from_buf(elem.in, elem.n_in, knob % 32, buf, sizeof(buf));
	if (got > in)
		abort();
	if (iov_size(part, iov_slice(elem.in, elem.n_in, knob % 16, knob, part)) > in)
		abort();
	virtq_push(vq, elem.head, (uint32_t)got);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct guest_mem mem = {
		.regions = { { 0, FUZZ_REGION, ram[0] }, { FUZZ_HIGH_GPA, FUZZ_REGION, ram[1] } },
		.n_regions = 2,
		.total = 2 * FUZZ_REGION,
	};
	struct virtqueue vq = { 0 };
	uint16_t cfg[8] = { 0 };
	size_t ram_len;

	if (size < sizeof(cfg))
		return 0;
	memcpy(cfg, data, sizeof(cfg));
	data += sizeof(cfg), size -= sizeof(cfg);
	ram_len = size < sizeof(ram) ? size : sizeof(ram);
	memset(ram, 0, sizeof(ram));
	memcpy(ram, data, ram_len);
	vq.size = cfg[0] % 512; /* past VIRTQ_MAX_SIZE too */
	vq.desc_gpa = gpa_of(cfg[1]);
	vq.avail_gpa = gpa_of(cfg[2]);
	vq.used_gpa = gpa_of(cfg[3]);
	if (virtq_enable(&vq, &mem) < 0)
		return 0;
	vq.last_avail = cfg[4];
	vq.used_idx = cfg[5];
	for (int i = 0; i < FUZZ_POPS; i++) {
		int r = virtq_pop(&vq, &elem);

		if (r <= 0)
			break;
		use_chain(&vq, cfg[6]);
	}
	(void)virtq_should_interrupt(&vq);
	return 0;
}
