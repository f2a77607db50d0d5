#include "config.h"

#include <errno.h>
#include <string.h>

#include "devices/virtqueue.h"
#include "memory.h"

void virtq_reset(struct virtqueue *vq)
{
	*vq = (struct virtqueue){ 0 };
}

int virtq_enable(struct virtqueue *vq, const struct guest_mem *mem)
{
	uint64_t n = vq->size;

	if (n == 0 || n > VIRTQ_MAX_SIZE || (n & (n - 1)) != 0)
		return -ERANGE;
	if ((vq->desc_gpa & 15) || (vq->avail_gpa & 1) || (vq->used_gpa & 3))
		return -EINVAL;
	vq->desc = guest_mem_ptr(mem, vq->desc_gpa, 16 * n);
	vq->avail = guest_mem_ptr(mem, vq->avail_gpa, 6 + 2 * n);
	vq->used = guest_mem_ptr(mem, vq->used_gpa, 6 + 8 * n);
	if (!vq->desc || !vq->avail || !vq->used)
		return -EFAULT;
	vq->mem = mem;
	vq->last_avail = 0;
	vq->used_idx = 0;
	vq->ready = true;
	return 0;
}

static int elem_add(struct virtq_elem *elem, const struct virtq_desc *d, void *p)
{
	if (d->flags & VIRTQ_DESC_F_WRITE) {
		elem->in[elem->n_in++] = (struct iovec){ p, d->len };
		return 0;
	}
	if (elem->n_in > 0)
		return -EINVAL; /* a readable buffer after a writable one */
	elem->out[elem->n_out++] = (struct iovec){ p, d->len };
	return 0;
}

int virtq_pop(struct virtqueue *vq, struct virtq_elem *elem)
{
	uint16_t avail_idx, i;
	unsigned count = 0;

	if (!vq->ready)
		return 0;
	avail_idx = __atomic_load_n(&vq->avail[1], __ATOMIC_ACQUIRE);
	if (avail_idx == vq->last_avail)
		return 0;
	if ((uint16_t)(avail_idx - vq->last_avail) > vq->size)
		return -ERANGE;
	i = __atomic_load_n(&vq->avail[2 + vq->last_avail % vq->size], __ATOMIC_RELAXED);
	elem->head = i;
	elem->n_out = elem->n_in = 0;
	for (;;) {
		struct virtq_desc d;
		void *p;

		if (i >= vq->size || count >= vq->size || count >= VIRTQ_MAX_CHAIN)
			return -EINVAL;
		memcpy(&d, &vq->desc[i], sizeof(d));
		if (d.flags & VIRTQ_DESC_F_INDIRECT)
			return -EINVAL; /* never offered */
		p = guest_mem_ptr(vq->mem, d.addr, d.len);
		if (!p || elem_add(elem, &d, p) < 0)
			return -EINVAL;
		count++;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			break;
		i = d.next;
	}
	vq->last_avail++;
	return 1;
}

void virtq_push(struct virtqueue *vq, uint16_t head, uint32_t len)
{
	uint32_t *e = vq->used + 1 + 2 * (vq->used_idx % vq->size);

	e[0] = head;
	e[1] = len;
	vq->used_idx++;
	/* The ring entry must be visible before the index that publishes it. */
	__atomic_store_n((uint16_t *)vq->used + 1, vq->used_idx, __ATOMIC_RELEASE);
}

bool virtq_should_interrupt(const struct virtqueue *vq)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return !(__atomic_load_n(&vq->avail[0], __ATOMIC_RELAXED) & VIRTQ_AVAIL_F_NO_INTERRUPT);
}

size_t iov_size(const struct iovec *iov, unsigned n)
{
	size_t s = 0;

	for (unsigned i = 0; i < n; i++)
		s += iov[i].iov_len;
	return s;
}

unsigned iov_slice(const struct iovec *src, unsigned n, size_t off, size_t len, struct iovec *dst)
{
	unsigned k = 0;

	for (unsigned i = 0; i < n && len > 0; i++) {
		size_t l = src[i].iov_len;

		if (off >= l) {
			off -= l;
			continue;
		}
		l -= off;
		if (l > len)
			l = len;
		dst[k++] = (struct iovec){ (uint8_t *)src[i].iov_base + off, l };
		len -= l;
		off = 0;
	}
	return k;
}

size_t iov_to_buf(const struct iovec *iov, unsigned n, size_t off, void *buf, size_t len)
{
	struct iovec part[VIRTQ_MAX_CHAIN];
	unsigned k = iov_slice(iov, n < VIRTQ_MAX_CHAIN ? n : VIRTQ_MAX_CHAIN, off, len, part);
	size_t done = 0;

	for (unsigned i = 0; i < k; i++) {
		memcpy((uint8_t *)buf + done, part[i].iov_base, part[i].iov_len);
		done += part[i].iov_len;
	}
	return done;
}

size_t iov_from_buf(const struct iovec *iov, unsigned n, size_t off, const void *buf, size_t len)
{
	struct iovec part[VIRTQ_MAX_CHAIN];
	unsigned k = iov_slice(iov, n < VIRTQ_MAX_CHAIN ? n : VIRTQ_MAX_CHAIN, off, len, part);
	size_t done = 0;

	for (unsigned i = 0; i < k; i++) {
		memcpy(part[i].iov_base, (const uint8_t *)buf + done, part[i].iov_len);
		done += part[i].iov_len;
	}
	return done;
}
