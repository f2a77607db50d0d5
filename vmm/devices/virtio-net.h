/* virtio-net (device ID 1) for one hot-plug slot: a fixed MAC, link down while empty. */
#pragma once

#include "hotplug.h"

struct virtio_net;
struct vm;
struct event_loop;

int virtio_net_new(struct vm *vm, struct event_loop *loop, uint64_t base, uint32_t gsi,
	const uint8_t mac[MAC_LEN], struct virtio_net **ret);
struct virtio_net *virtio_net_free(struct virtio_net *net);

/* The slot_ops of hotplug.h; dev is a struct virtio_net. Loop thread only. */
int virtio_net_attach(void *dev, const struct net_backend *b);
int virtio_net_detach(void *dev);
void virtio_net_mac(void *dev, uint8_t ret_mac[MAC_LEN]);
void virtio_net_set_mac(void *dev, const uint8_t mac[MAC_LEN]);
/* The transport's view, for the dynamic model's hot-plug controller. */
struct virtio_device *virtio_net_device(struct virtio_net *net);
