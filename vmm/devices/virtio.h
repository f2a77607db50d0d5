/*
 * A virtio device as the virtio-mmio transport sees it. A device model
 * embeds struct virtio_device and gives a static const ops table; the
 * transport never knows device types. The lock guards the transport and
 * config state that vCPU threads (register accesses) and the event-loop
 * thread (queue work, hot-plug) both touch; every ops callback runs with it
 * held.
 */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "devices/virtqueue.h"

#define VIRTIO_MAX_QUEUES 2
#define VIRTIO_F_VERSION_1 (1ULL << 32)

#define VIRTIO_STATUS_ACKNOWLEDGE 1
#define VIRTIO_STATUS_DRIVER 2
#define VIRTIO_STATUS_DRIVER_OK 4
#define VIRTIO_STATUS_FEATURES_OK 8
#define VIRTIO_STATUS_NEEDS_RESET 0x40
#define VIRTIO_STATUS_FAILED 0x80

#define VIRTIO_ISR_QUEUE 1
#define VIRTIO_ISR_CONFIG 2

struct virtio_device;
struct vm;
struct event_loop;

struct virtio_device_ops {
	/* Reads or writes config space bytes [off, off+len); off+len is within config_size. */
	void (*config_read)(struct virtio_device *vdev, uint32_t off, uint8_t *data, uint32_t len);
	void (*config_write)(struct virtio_device *vdev, uint32_t off, const uint8_t *data,
		uint32_t len);
	/* The features offered now (they may depend on the attached backend). */
	uint64_t (*features)(struct virtio_device *vdev);
	/* On the loop thread: the driver made buffers available on queue qi. */
	void (*queue_notify)(struct virtio_device *vdev, unsigned qi);
	/* The driver reset the device. */
	void (*reset)(struct virtio_device *vdev);
};

struct virtio_device {
	const struct virtio_device_ops *ops;
	uint32_t device_id;
	uint32_t config_size;
	unsigned n_queues;
	struct virtqueue vqs[VIRTIO_MAX_QUEUES];
	pthread_mutex_t lock;

	/* Transport state. */
	struct vm *vm;
	struct event_loop *loop;
	uint64_t base;
	uint32_t gsi;
	int irqfd;
	int notify_fd[VIRTIO_MAX_QUEUES];
	bool ioeventfd;
	uint32_t status;
	uint32_t isr;
	uint32_t config_generation;
	uint32_t device_features_sel;
	uint32_t driver_features_sel;
	uint64_t driver_features;
	uint32_t queue_sel;
};

void virtio_device_init(struct virtio_device *vdev, const struct virtio_device_ops *ops,
	uint32_t device_id, uint32_t config_size, unsigned n_queues);
void virtio_device_done(struct virtio_device *vdev);

/* Puts the device on the MMIO bus at base with interrupt gsi (before the vCPUs start). */
int virtio_mmio_register(struct virtio_device *vdev, struct vm *vm, struct event_loop *loop,
	uint64_t base, uint32_t gsi);

/* With vdev->lock held: */
void virtio_interrupt_locked(struct virtio_device *vdev, uint32_t isr_bits);
/* Bumps ConfigGeneration and raises a config-change interrupt. */
void virtio_config_changed_locked(struct virtio_device *vdev);
/* The guest broke the rules: DEVICE_NEEDS_RESET, queues stop, a config interrupt. */
void virtio_set_broken_locked(struct virtio_device *vdev, const char *why);
bool virtio_running_locked(const struct virtio_device *vdev);
