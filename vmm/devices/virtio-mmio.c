/* The virtio-mmio transport, version 2 (virtio 1.x, 4.2.2). */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>

#include "devices/virtio.h"
#include "eventloop.h"
#include "kvm.h"
#include "log.h"

#define MMIO_MAGIC 0x000
#define MMIO_VERSION 0x004
#define MMIO_DEVICE_ID 0x008
#define MMIO_VENDOR_ID 0x00c
#define MMIO_DEVICE_FEATURES 0x010
#define MMIO_DEVICE_FEATURES_SEL 0x014
#define MMIO_DRIVER_FEATURES 0x020
#define MMIO_DRIVER_FEATURES_SEL 0x024
#define MMIO_QUEUE_SEL 0x030
#define MMIO_QUEUE_NUM_MAX 0x034
#define MMIO_QUEUE_NUM 0x038
#define MMIO_QUEUE_READY 0x044
#define MMIO_QUEUE_NOTIFY 0x050
#define MMIO_INTERRUPT_STATUS 0x060
#define MMIO_INTERRUPT_ACK 0x064
#define MMIO_STATUS 0x070
#define MMIO_QUEUE_DESC_LOW 0x080
#define MMIO_QUEUE_DESC_HIGH 0x084
#define MMIO_QUEUE_DRIVER_LOW 0x090
#define MMIO_QUEUE_DRIVER_HIGH 0x094
#define MMIO_QUEUE_DEVICE_LOW 0x0a0
#define MMIO_QUEUE_DEVICE_HIGH 0x0a4
#define MMIO_CONFIG_GENERATION 0x0fc
#define MMIO_CONFIG 0x100
#define MMIO_MAGIC_VALUE 0x74726976 /* "virt" */
#define MMIO_VENDOR_VALUE 0x4d564954 /* "MVIT" */

void virtio_device_init(struct virtio_device *vdev, const struct virtio_device_ops *ops,
	uint32_t device_id, uint32_t config_size, unsigned n_queues)
{
	*vdev = (struct virtio_device){
		.ops = ops,
		.device_id = device_id,
		.config_size = config_size,
		.n_queues = n_queues,
		.irqfd = -1,
	};
	for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++)
		vdev->notify_fd[i] = -1;
	pthread_mutex_init(&vdev->lock, NULL);
}

void virtio_device_done(struct virtio_device *vdev)
{
	for (unsigned i = 0; i < vdev->n_queues; i++) {
		if (vdev->notify_fd[i] < 0)
			continue;
		if (vdev->loop)
			event_loop_remove(vdev->loop, vdev->notify_fd[i]);
		vdev->notify_fd[i] = safe_close(vdev->notify_fd[i]);
	}
	vdev->irqfd = safe_close(vdev->irqfd);
	pthread_mutex_destroy(&vdev->lock);
}

bool virtio_running_locked(const struct virtio_device *vdev)
{
	return (vdev->status & VIRTIO_STATUS_DRIVER_OK) &&
		!(vdev->status & (VIRTIO_STATUS_NEEDS_RESET | VIRTIO_STATUS_FAILED));
}

void virtio_interrupt_locked(struct virtio_device *vdev, uint32_t isr_bits)
{
	uint64_t one = 1;

	vdev->isr |= isr_bits;
	if (vdev->irqfd >= 0) {
		if (write(vdev->irqfd, &one, sizeof(one)) < 0)
			log_debug_errno(errno, "Failed to signal the irqfd of GSI %u: %m", vdev->gsi);
		return;
	}
	/* Edge-triggered: a pulse. */
	vm_irq_line(vdev->vm, vdev->gsi, true);
	vm_irq_line(vdev->vm, vdev->gsi, false);
}

void virtio_config_changed_locked(struct virtio_device *vdev)
{
	vdev->config_generation++;
	if (vdev->status & VIRTIO_STATUS_DRIVER_OK)
		virtio_interrupt_locked(vdev, VIRTIO_ISR_CONFIG);
}

void virtio_set_broken_locked(struct virtio_device *vdev, enum virtio_fault why)
{
	/* A guest that repeats the offence on a broken device (QueueReady written again and again)
	 * adds no line; one that resets and breaks it again meets the rate limit. */
	if (!(vdev->status & VIRTIO_STATUS_NEEDS_RESET))
		virtio_fault_locked(vdev, why, 0);
	vdev->status |= VIRTIO_STATUS_NEEDS_RESET;
	for (unsigned i = 0; i < vdev->n_queues; i++)
		vdev->vqs[i].ready = false;
	virtio_interrupt_locked(vdev, VIRTIO_ISR_CONFIG);
}

static void virtio_reset_locked(struct virtio_device *vdev)
{
	for (unsigned i = 0; i < vdev->n_queues; i++)
		virtq_reset(&vdev->vqs[i]);
	vdev->status = 0;
	vdev->isr = 0;
	vdev->device_features_sel = vdev->driver_features_sel = 0;
	vdev->driver_features = 0;
	vdev->queue_sel = 0;
	if (vdev->ops->reset)
		vdev->ops->reset(vdev);
	if (vdev->on_reset)
		vdev->on_reset(vdev->on_reset_opaque);
}

bool virtio_driver_active(struct virtio_device *vdev)
{
	bool active;

	pthread_mutex_lock(&vdev->lock);
	active = vdev->status & VIRTIO_STATUS_DRIVER_OK;
	pthread_mutex_unlock(&vdev->lock);
	return active;
}

static struct virtqueue *current_vq(struct virtio_device *vdev)
{
	return vdev->queue_sel < vdev->n_queues ? &vdev->vqs[vdev->queue_sel] : NULL;
}

static uint32_t mmio_read_reg(struct virtio_device *vdev, uint64_t off)
{
	struct virtqueue *vq = current_vq(vdev);
	uint64_t f;

	switch (off) {
	case MMIO_MAGIC:
		return MMIO_MAGIC_VALUE;
	case MMIO_VERSION:
		return 2;
	case MMIO_DEVICE_ID:
		return vdev->device_id;
	case MMIO_VENDOR_ID:
		return MMIO_VENDOR_VALUE;
	case MMIO_DEVICE_FEATURES:
		f = vdev->ops->features(vdev) | VIRTIO_F_VERSION_1;
		return vdev->device_features_sel == 0 ? (uint32_t)f :
		       vdev->device_features_sel == 1 ? (uint32_t)(f >> 32) : 0;
	case MMIO_QUEUE_NUM_MAX:
		return vq ? VIRTQ_MAX_SIZE : 0;
	case MMIO_QUEUE_READY:
		return vq ? vq->ready : 0;
	case MMIO_INTERRUPT_STATUS:
		return vdev->isr;
	case MMIO_STATUS:
		return vdev->status;
	case MMIO_CONFIG_GENERATION:
		return vdev->config_generation;
	default:
		return 0;
	}
}

static void mmio_set_status(struct virtio_device *vdev, uint32_t v)
{
	if (v == 0) {
		virtio_reset_locked(vdev);
		return;
	}
	/* FEATURES_OK sticks only when the driver took VIRTIO_F_VERSION_1 and nothing unknown. */
	if ((v & VIRTIO_STATUS_FEATURES_OK) && !(vdev->status & VIRTIO_STATUS_FEATURES_OK)) {
		uint64_t offered = vdev->ops->features(vdev) | VIRTIO_F_VERSION_1;

		if (!(vdev->driver_features & VIRTIO_F_VERSION_1) ||
			(vdev->driver_features & ~offered))
			v &= ~VIRTIO_STATUS_FEATURES_OK;
	}
	vdev->status = v | (vdev->status & VIRTIO_STATUS_NEEDS_RESET);
}

static void mmio_set_queue_ready(struct virtio_device *vdev, struct virtqueue *vq, uint32_t v)
{
	int r;

	if (!v) {
		vq->ready = false;
		return;
	}
	r = virtq_enable(vq, vdev->vm->mem);
	if (r < 0)
		virtio_set_broken_locked(vdev, r == -ERANGE ? VIRTIO_FAULT_QUEUE_SIZE :
					       r == -EFAULT ? VIRTIO_FAULT_QUEUE_RINGS :
							      VIRTIO_FAULT_QUEUE_ALIGN);
}

static void mmio_set_addr(uint64_t *addr, bool high, uint32_t v)
{
	if (high)
		*addr = (*addr & 0xffffffffULL) | ((uint64_t)v << 32);
	else
		*addr = (*addr & ~0xffffffffULL) | v;
}

static void mmio_notify(struct virtio_device *vdev, uint32_t qi)
{
	uint64_t one = 1;

	if (vdev->serve_on_exit) {
		/* The request completes, and its interrupt is raised, before the guest runs on. */
		if (qi < vdev->n_queues && virtio_running_locked(vdev) && vdev->vqs[qi].ready)
			vdev->ops->queue_notify(vdev, qi);
		return;
	}
	/* Without ioeventfd: hand the work to the loop thread through the same eventfd. */
	if (qi < vdev->n_queues && vdev->notify_fd[qi] >= 0)
		(void)!write(vdev->notify_fd[qi], &one, sizeof(one));
}

static void mmio_write_queue_reg(struct virtio_device *vdev, uint64_t off, uint32_t v)
{
	struct virtqueue *vq = current_vq(vdev);

	/* Queue registers are read-only while the queue runs (4.2.2.3). */
	if (!vq || (vq->ready && off != MMIO_QUEUE_READY))
		return;
	switch (off) {
	case MMIO_QUEUE_NUM:
		vq->size = (uint16_t)(v <= VIRTQ_MAX_SIZE ? v : 0);
		break;
	case MMIO_QUEUE_READY:
		mmio_set_queue_ready(vdev, vq, v);
		break;
	case MMIO_QUEUE_DESC_LOW:
	case MMIO_QUEUE_DESC_HIGH:
		mmio_set_addr(&vq->desc_gpa, off == MMIO_QUEUE_DESC_HIGH, v);
		break;
	case MMIO_QUEUE_DRIVER_LOW:
	case MMIO_QUEUE_DRIVER_HIGH:
		mmio_set_addr(&vq->avail_gpa, off == MMIO_QUEUE_DRIVER_HIGH, v);
		break;
	case MMIO_QUEUE_DEVICE_LOW:
	case MMIO_QUEUE_DEVICE_HIGH:
		mmio_set_addr(&vq->used_gpa, off == MMIO_QUEUE_DEVICE_HIGH, v);
		break;
	default:
		break;
	}
}

static void mmio_write_reg(struct virtio_device *vdev, uint64_t off, uint32_t v)
{
	switch (off) {
	case MMIO_DEVICE_FEATURES_SEL:
		vdev->device_features_sel = v;
		break;
	case MMIO_DRIVER_FEATURES:
		if (vdev->status & VIRTIO_STATUS_FEATURES_OK)
			break;
		if (vdev->driver_features_sel == 0)
			vdev->driver_features = (vdev->driver_features & ~0xffffffffULL) | v;
		else if (vdev->driver_features_sel == 1)
			vdev->driver_features = (vdev->driver_features & 0xffffffffULL) |
				((uint64_t)v << 32);
		break;
	case MMIO_DRIVER_FEATURES_SEL:
		vdev->driver_features_sel = v;
		break;
	case MMIO_QUEUE_SEL:
		vdev->queue_sel = v;
		break;
	case MMIO_QUEUE_NOTIFY:
		mmio_notify(vdev, v);
		break;
	case MMIO_INTERRUPT_ACK:
		vdev->isr &= ~v;
		break;
	case MMIO_STATUS:
		mmio_set_status(vdev, v);
		break;
	default:
		mmio_write_queue_reg(vdev, off, v);
		break;
	}
}

static void mmio_access(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
	struct virtio_device *vdev = opaque;
	uint32_t v = 0;

	pthread_mutex_lock(&vdev->lock);
	if (off >= MMIO_CONFIG) {
		uint64_t c = off - MMIO_CONFIG;

		if (c < vdev->config_size && len <= vdev->config_size - c) {
			if (is_write && vdev->ops->config_write)
				vdev->ops->config_write(vdev, c, data, len);
			else if (!is_write)
				vdev->ops->config_read(vdev, c, data, len);
		} else if (!is_write) {
			memset(data, 0, len);
		}
	} else if (len == 4 && !(off & 3)) {
		/* Registers below the config space are 32 bits wide, aligned. */
		if (is_write) {
			memcpy(&v, data, 4);
			mmio_write_reg(vdev, off, v);
		} else {
			v = mmio_read_reg(vdev, off);
			memcpy(data, &v, 4);
		}
	} else if (!is_write) {
		memset(data, 0, len);
	}
	pthread_mutex_unlock(&vdev->lock);
}

struct notify_ctx {
	struct virtio_device *vdev;
	unsigned qi;
};

static void notify_ready(struct event_loop *loop, int fd, uint32_t events,
	void *opaque)
{
	struct virtio_device *vdev = opaque;
	uint64_t n;

	if (read(fd, &n, sizeof(n)) < 0)
		return;
	pthread_mutex_lock(&vdev->lock);
	for (unsigned qi = 0; qi < vdev->n_queues; qi++)
		if (vdev->notify_fd[qi] == fd && virtio_running_locked(vdev) && vdev->vqs[qi].ready)
			vdev->ops->queue_notify(vdev, qi);
	pthread_mutex_unlock(&vdev->lock);
}

static int mmio_setup_queue(struct virtio_device *vdev, unsigned qi)
{
	int r;

	if (vdev->serve_on_exit)
		return 0; /* QueueNotify is an MMIO exit served in mmio_notify */
	vdev->notify_fd[qi] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vdev->notify_fd[qi] < 0)
		return -errno;
	r = vm_ioeventfd_assign(vdev->vm, vdev->base + MMIO_QUEUE_NOTIFY, qi, vdev->notify_fd[qi],
		true);
	if (r < 0)
		log_debug_errno(r, "No ioeventfd for queue %u at 0x%llx, using MMIO exits: %m", qi,
			(unsigned long long)vdev->base);
	return event_loop_add(vdev->loop, vdev->notify_fd[qi], EPOLLIN, notify_ready, vdev);
}

int virtio_mmio_register(struct virtio_device *vdev, struct vm *vm, struct event_loop *loop,
	uint64_t base, uint32_t gsi)
{
	int r;

	vdev->vm = vm;
	vdev->loop = loop;
	vdev->base = base;
	vdev->gsi = gsi;
	vdev->irqfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vdev->irqfd < 0)
		return -errno;
	r = vm_irqfd_assign(vm, vdev->irqfd, gsi);
	if (r < 0) {
		log_debug_errno(r, "No irqfd for GSI %u, using KVM_IRQ_LINE: %m", gsi);
		vdev->irqfd = safe_close(vdev->irqfd);
	}
	for (unsigned qi = 0; qi < vdev->n_queues; qi++) {
		r = mmio_setup_queue(vdev, qi);
		if (r < 0)
			return r;
	}
	return vm_bus_add(vm, BUS_MMIO, base, 0x1000, mmio_access, vdev);
}
