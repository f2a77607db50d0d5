/*
 * Split virtqueues (virtio 1.x, 2.6). Everything the guest supplies is
 * checked: ring addresses and sizes when the queue is enabled, each head and
 * next index, each buffer's address and length, the chain length (at most
 * VIRTQ_MAX_CHAIN), the order of readable before writable buffers. Any
 * violation returns -EINVAL and the device is then marked broken.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#define VIRTQ_MAX_SIZE 256
#define VIRTQ_MAX_CHAIN 128

#define VIRTQ_DESC_F_NEXT 1
#define VIRTQ_DESC_F_WRITE 2
#define VIRTQ_DESC_F_INDIRECT 4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1

struct guest_mem;

struct virtq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct virtqueue {
	uint16_t size; /* QueueNum the driver chose */
	bool ready;
	uint64_t desc_gpa;
	uint64_t avail_gpa;
	uint64_t used_gpa;
	uint16_t last_avail;
	uint16_t used_idx;
	const struct guest_mem *mem;
	/* Host pointers, set by virtq_enable once the ranges are checked. */
	struct virtq_desc *desc;
	uint16_t *avail; /* flags, idx, ring[size] */
	uint32_t *used;  /* flags|idx as one word, then {id, len} pairs */
};

/* One buffer chain: out (device-readable) first, then in (device-writable). */
struct virtq_elem {
	uint16_t head;
	unsigned n_out;
	unsigned n_in;
	struct iovec out[VIRTQ_MAX_CHAIN];
	struct iovec in[VIRTQ_MAX_CHAIN];
};

void virtq_reset(struct virtqueue *vq);
/* Checks the rings: 0, -ERANGE for a size that is 0, above VIRTQ_MAX_SIZE or not a power of
 * two, -EINVAL for misaligned rings, -EFAULT for rings outside guest RAM. */
int virtq_enable(struct virtqueue *vq, const struct guest_mem *mem);
/* 1 with a chain in elem, 0 when the queue is empty, -ERANGE when the available index ran
 * ahead by more than the queue size, -EINVAL for any other malformed chain. */
int virtq_pop(struct virtqueue *vq, struct virtq_elem *elem);
void virtq_push(struct virtqueue *vq, uint16_t head, uint32_t len);
bool virtq_should_interrupt(const struct virtqueue *vq);

/* Copies out of / into an iovec array from byte offset off: the bytes copied. */
size_t iov_to_buf(const struct iovec *iov, unsigned n, size_t off, void *buf, size_t len);
size_t iov_from_buf(const struct iovec *iov, unsigned n, size_t off, const void *buf, size_t len);
size_t iov_size(const struct iovec *iov, unsigned n);
/* Fills dst with the part of src from byte offset off, at most len bytes: the count of entries. */
unsigned iov_slice(const struct iovec *src, unsigned n, size_t off, size_t len, struct iovec *dst);
