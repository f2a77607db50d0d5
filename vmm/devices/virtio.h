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

/* Causes of a broken device or a failed request, each its own log sentence (virtio-fault.c). */
enum virtio_fault {
	VIRTIO_FAULT_DESCRIPTOR,
	VIRTIO_FAULT_AVAIL_IDX,
	VIRTIO_FAULT_NO_STATUS,
	VIRTIO_FAULT_SHORT_RX,
	VIRTIO_FAULT_QUEUE_SIZE,
	VIRTIO_FAULT_QUEUE_ALIGN,
	VIRTIO_FAULT_QUEUE_RINGS,
	VIRTIO_FAULT_READ_ONLY,
	VIRTIO_FAULT_PAST_END,
	VIRTIO_FAULT_BAD_LENGTH,
	VIRTIO_FAULT_SHORT_HEADER,
	VIRTIO_FAULT_NO_MEDIUM,
	VIRTIO_FAULT_IO,
	VIRTIO_FAULT_FRAME,
	VIRTIO_FAULT_TAP,
	VIRTIO_FAULT_TAP_GONE,
	_VIRTIO_FAULT_MAX,
};

/* Lines per cause and device in a minute before the rest are muted. */
#define VIRTIO_FAULT_BURST 1

struct virtio_fault_count {
	uint64_t window_start; /* CLOCK_MONOTONIC seconds */
	unsigned printed;
	unsigned suppressed;
};

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
	/* The driver made buffers available on queue qi: on the loop thread, or on the vCPU thread
	 * of the QueueNotify exit for a device with serve_on_exit. */
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
	/* Serve QueueNotify on the vCPU's exit instead of an ioeventfd and the loop thread: under
	 * nested KVM waking the loop thread and then the halted vCPU costs more than the exit
	 * (bench/RESULTS.md). Set before virtio_mmio_register. */
	bool serve_on_exit;
	uint32_t status;
	uint32_t isr;
	uint32_t config_generation;
	uint32_t device_features_sel;
	uint32_t driver_features_sel;
	uint64_t driver_features;
	uint32_t queue_sel;
	/* Called after every driver reset, with the lock held, on the thread of the register
	 * write (a vCPU's): the dynamic model's hot-plug controller learns here that a driver
	 * let go. NULL for none; set before the vCPUs start. */
	void (*on_reset)(void *opaque);
	void *on_reset_opaque;
	/* Kept across device resets: the limit is per device, not per driver instance. */
	struct virtio_fault_count faults[_VIRTIO_FAULT_MAX];
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
/* The guest broke the rules: DEVICE_NEEDS_RESET, queues stop, a config interrupt, and the
 * cause logged (rate-limited). */
void virtio_set_broken_locked(struct virtio_device *vdev, enum virtio_fault why);
/* Logs a cause, at most VIRTIO_FAULT_BURST lines per minute per cause and device, then one line
 * saying the rest are muted; err (0 or an errno) is appended as %m. */
void virtio_fault_locked(struct virtio_device *vdev, enum virtio_fault f, int err);
const char *virtio_fault_text(enum virtio_fault f);
bool virtio_running_locked(const struct virtio_device *vdev);
/* Takes the lock: whether a driver has the device running (DRIVER_OK set). */
bool virtio_driver_active(struct virtio_device *vdev);
