/* virtio-blk: read, write, flush, get-id (virtio 1.x, 5.2). */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "devices/virtio-blk.h"
#include "devices/virtio.h"
#include "log.h"

#define BLK_F_SEG_MAX (1ULL << 2)
#define BLK_F_RO (1ULL << 5)
#define BLK_F_FLUSH (1ULL << 9)
#define BLK_T_IN 0
#define BLK_T_OUT 1
#define BLK_T_FLUSH 4
#define BLK_T_GET_ID 8
#define BLK_S_OK 0
#define BLK_S_IOERR 1
#define BLK_S_UNSUPP 2
#define BLK_ID_BYTES 20
#define BLK_SECTOR 512
#define BLK_SEG_MAX (VIRTQ_MAX_CHAIN - 2)
#define BLK_CONFIG_SIZE 24 /* capacity, size_max, seg_max, geometry, blk_size */

struct virtio_blk {
	struct virtio_device vdev;
	const struct blk_backend *backend; /* owned by struct hotplug; NULL while empty */
	uint64_t capacity;                 /* in 512-byte sectors */
	char serial[BLK_ID_BYTES + 1];
	struct virtq_elem elem;
};

struct blk_req_hdr {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

static void blk_config_read(struct virtio_device *vdev, uint32_t off, uint8_t *data, uint32_t len)
{
	struct virtio_blk *blk = (struct virtio_blk *)vdev;
	uint8_t cfg[BLK_CONFIG_SIZE] = { 0 };
	uint32_t seg_max = BLK_SEG_MAX, blk_size = BLK_SECTOR;

	memcpy(cfg, &blk->capacity, 8);
	memcpy(cfg + 12, &seg_max, 4);
	memcpy(cfg + 20, &blk_size, 4);
	memcpy(data, cfg + off, len);
}

static uint64_t blk_features(struct virtio_device *vdev)
{
	struct virtio_blk *blk = (struct virtio_blk *)vdev;
	uint64_t f = BLK_F_SEG_MAX | BLK_F_FLUSH;

	/* A disk attached before the driver probes can say it is read-only. */
	if (blk->backend && blk->backend->read_only)
		f |= BLK_F_RO;
	return f;
}

/* Why a read or write cannot go to the image, or -1 when it can. */
static int blk_rw_refusal(const struct virtio_blk *blk, const struct blk_req_hdr *h, size_t len,
	bool is_read)
{
	if (!blk->backend)
		return VIRTIO_FAULT_NO_MEDIUM;
	if (len % BLK_SECTOR)
		return VIRTIO_FAULT_BAD_LENGTH;
	if (h->sector > blk->capacity || len / BLK_SECTOR > blk->capacity - h->sector)
		return VIRTIO_FAULT_PAST_END;
	if (!is_read && blk->backend->read_only)
		return VIRTIO_FAULT_READ_ONLY;
	return -1;
}

static uint8_t blk_rw(struct virtio_blk *blk, const struct blk_req_hdr *h, struct virtq_elem *e,
	uint32_t *ret_written)
{
	struct iovec data[VIRTQ_MAX_CHAIN];
	bool is_read = h->type == BLK_T_IN;
	size_t len = is_read ? iov_size(e->in, e->n_in) - 1 : iov_size(e->out, e->n_out) - 16;
	unsigned n = is_read ? iov_slice(e->in, e->n_in, 0, len, data) :
			       iov_slice(e->out, e->n_out, 16, len, data);
	int refusal = blk_rw_refusal(blk, h, len, is_read);
	ssize_t done;

	if (refusal >= 0) {
		virtio_fault_locked(&blk->vdev, (enum virtio_fault)refusal, 0);
		return BLK_S_IOERR;
	}
	if (len == 0)
		return BLK_S_OK;
	done = is_read ? preadv(blk->backend->fd, data, n, h->sector * BLK_SECTOR) :
			 pwritev(blk->backend->fd, data, n, h->sector * BLK_SECTOR);
	if (done < 0 || (size_t)done != len) {
		/* A short write is what a full file system gives before ENOSPC; a short read, an
		 * image that shrank under us. */
		virtio_fault_locked(&blk->vdev, VIRTIO_FAULT_IO, done < 0 ? errno :
								is_read ? EIO : ENOSPC);
		return BLK_S_IOERR;
	}
	if (is_read)
		*ret_written = (uint32_t)len;
	return BLK_S_OK;
}

static uint8_t blk_flush(struct virtio_blk *blk)
{
	if (!blk->backend) {
		virtio_fault_locked(&blk->vdev, VIRTIO_FAULT_NO_MEDIUM, 0);
		return BLK_S_IOERR;
	}
	if (fdatasync(blk->backend->fd) < 0) {
		virtio_fault_locked(&blk->vdev, VIRTIO_FAULT_IO, errno);
		return BLK_S_IOERR;
	}
	return BLK_S_OK;
}

static uint8_t blk_handle(struct virtio_blk *blk, struct virtq_elem *e, uint32_t *ret_written)
{
	struct blk_req_hdr h;

	if (iov_to_buf(e->out, e->n_out, 0, &h, sizeof(h)) != sizeof(h)) {
		virtio_fault_locked(&blk->vdev, VIRTIO_FAULT_SHORT_HEADER, 0);
		return BLK_S_IOERR;
	}
	switch (h.type) {
	case BLK_T_IN:
	case BLK_T_OUT:
		return blk_rw(blk, &h, e, ret_written);
	case BLK_T_FLUSH:
		return blk_flush(blk);
	case BLK_T_GET_ID:
		*ret_written = (uint32_t)iov_from_buf(e->in, e->n_in, 0, blk->serial,
			BLK_ID_BYTES < iov_size(e->in, e->n_in) - 1 ? BLK_ID_BYTES :
								 iov_size(e->in, e->n_in) - 1);
		return BLK_S_OK;
	default:
		return BLK_S_UNSUPP;
	}
}

static void blk_queue_notify(struct virtio_device *vdev, unsigned qi)
{
	struct virtio_blk *blk = (struct virtio_blk *)vdev;
	struct virtqueue *vq = &vdev->vqs[qi];
	struct virtq_elem *e = &blk->elem;
	bool pushed = false;
	int r;

	while ((r = virtq_pop(vq, e)) > 0) {
		uint32_t written = 0;
		uint8_t status;

		/* The status byte is the last byte of the last writable buffer. */
		if (e->n_in == 0 || e->in[e->n_in - 1].iov_len == 0) {
			r = -ENOMSG;
			break;
		}
		status = blk_handle(blk, e, &written);
		iov_from_buf(e->in, e->n_in, iov_size(e->in, e->n_in) - 1, &status, 1);
		virtq_push(vq, e->head, written + 1);
		pushed = true;
	}
	if (r < 0)
		virtio_set_broken_locked(vdev, r == -ENOMSG ? VIRTIO_FAULT_NO_STATUS :
					       r == -ERANGE ? VIRTIO_FAULT_AVAIL_IDX :
							      VIRTIO_FAULT_DESCRIPTOR);
	if (pushed && virtq_should_interrupt(vq))
		virtio_interrupt_locked(vdev, VIRTIO_ISR_QUEUE);
}

static const struct virtio_device_ops virtio_blk_ops = {
	.config_read = blk_config_read,
	.features = blk_features,
	.queue_notify = blk_queue_notify,
};

int virtio_blk_new(struct vm *vm, struct event_loop *loop, uint64_t base, uint32_t gsi,
	struct virtio_blk **ret)
{
	struct virtio_blk *blk = calloc(1, sizeof(*blk));
	int r;

	if (!blk)
		return -ENOMEM;
	virtio_device_init(&blk->vdev, &virtio_blk_ops, 2, BLK_CONFIG_SIZE, 1);
	/* At queue depth 1 under nested KVM this halves a request's time (bench/RESULTS.md);
	 * the event loop (QMP, NICs) no longer waits behind disk I/O either. */
	blk->vdev.serve_on_exit = true;
	r = virtio_mmio_register(&blk->vdev, vm, loop, base, gsi);
	if (r < 0) {
		virtio_blk_free(blk);
		return r;
	}
	*ret = blk;
	return 0;
}

struct virtio_blk *virtio_blk_free(struct virtio_blk *blk)
{
	if (!blk)
		return NULL;
	virtio_device_done(&blk->vdev);
	free(blk);
	return NULL;
}

int virtio_blk_attach(void *dev, const struct blk_backend *b, const char *serial)
{
	struct virtio_blk *blk = dev;

	pthread_mutex_lock(&blk->vdev.lock);
	if (blk->backend) {
		pthread_mutex_unlock(&blk->vdev.lock);
		return -EBUSY;
	}
	blk->backend = b;
	blk->capacity = b->size / BLK_SECTOR;
	memset(blk->serial, 0, sizeof(blk->serial));
	if (serial)
		strncpy(blk->serial, serial, BLK_ID_BYTES);
	virtio_config_changed_locked(&blk->vdev);
	pthread_mutex_unlock(&blk->vdev.lock);
	return 0;
}

int virtio_blk_detach(void *dev)
{
	struct virtio_blk *blk = dev;

	/* Requests run to completion with the lock held (on the vCPU thread of the notify), so
	 * once it is ours none is in flight and none starts on the backend being taken away. */
	pthread_mutex_lock(&blk->vdev.lock);
	blk->backend = NULL;
	blk->capacity = 0;
	memset(blk->serial, 0, sizeof(blk->serial));
	virtio_config_changed_locked(&blk->vdev);
	pthread_mutex_unlock(&blk->vdev.lock);
	return 0;
}

struct virtio_device *virtio_blk_device(struct virtio_blk *blk)
{
	return &blk->vdev;
}
