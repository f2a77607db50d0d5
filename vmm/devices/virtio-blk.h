/* virtio-blk (device ID 2) for one hot-plug slot: capacity 0 while empty. */
#pragma once

#include "hotplug.h"

struct virtio_blk;
struct vm;
struct event_loop;

int virtio_blk_new(struct vm *vm, struct event_loop *loop, uint64_t base, uint32_t gsi,
	struct virtio_blk **ret);
struct virtio_blk *virtio_blk_free(struct virtio_blk *blk);

/* The slot_ops of hotplug.h; dev is a struct virtio_blk. Loop thread only. */
int virtio_blk_attach(void *dev, const struct blk_backend *b, const char *serial);
int virtio_blk_detach(void *dev);
/* The transport's view, for the dynamic model's hot-plug controller. */
struct virtio_device *virtio_blk_device(struct virtio_blk *blk);
