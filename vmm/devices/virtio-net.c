/* virtio-net on a TAP with IFF_VNET_HDR (virtio 1.x, 5.1): no offloads, one queue pair. */
#include "config.h"

#include <errno.h>
#include <linux/if_tun.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include "devices/virtio-net.h"
#include "devices/virtio.h"
#include "eventloop.h"
#include "log.h"

#define NET_F_MAC (1ULL << 5)
#define NET_F_STATUS (1ULL << 16)
#define NET_S_LINK_UP 1
#define NET_HDR_LEN 12 /* struct virtio_net_hdr with num_buffers, as VERSION_1 has it */
#define NET_CONFIG_SIZE 10 /* mac, status, max_virtqueue_pairs */
#define NET_RXQ 0
#define NET_TXQ 1
/* Frames moved per wake-up before the loop serves others. */
#define NET_BUDGET 64
#define NET_MAX_FRAME 65535 /* the most a TAP takes in one write, without the header */

struct virtio_net {
	struct virtio_device vdev;
	uint8_t mac[MAC_LEN];
	int tap_fd; /* owned by struct hotplug; -1 while empty */
	bool rx_watched;
	bool tap_gone; /* the TAP's interface was deleted under us: link down until detached */
	/* The loop's view, changed on the loop thread only (eventloop.h): what a vCPU thread
	 * wants (rx_want, tap_gone) is applied there by net_loop_sync(). */
	bool tap_in_loop;
	bool rx_want;
	bool sync_queued;
	struct virtq_elem elem;
};

static void net_config_read(struct virtio_device *vdev, uint32_t off, uint8_t *data, uint32_t len)
{
	struct virtio_net *net = (struct virtio_net *)vdev;
	uint8_t cfg[NET_CONFIG_SIZE] = { 0 };
	uint16_t status = net->tap_fd >= 0 && !net->tap_gone ? NET_S_LINK_UP : 0, pairs = 1;

	memcpy(cfg, net->mac, MAC_LEN);
	memcpy(cfg + 6, &status, 2);
	memcpy(cfg + 8, &pairs, 2);
	memcpy(data, cfg + off, len);
}

static uint64_t net_features(struct virtio_device *vdev)
{
	return NET_F_MAC | NET_F_STATUS;
}

/* With the lock held, on the loop thread: makes the loop's watch match what was asked. */
static void net_loop_apply_locked(struct virtio_net *net)
{
	if (net->tap_fd < 0 || !net->tap_in_loop)
		return;
	if (net->tap_gone) {
		event_loop_remove(net->vdev.loop, net->tap_fd);
		net->tap_in_loop = false;
		net->rx_watched = false;
	} else if (net->rx_watched != net->rx_want &&
		   event_loop_modify(net->vdev.loop, net->tap_fd, net->rx_want ? EPOLLIN : 0) >= 0) {
		net->rx_watched = net->rx_want;
	}
}

static void net_loop_sync(void *opaque)
{
	struct virtio_net *net = opaque;

	pthread_mutex_lock(&net->vdev.lock);
	net->sync_queued = false;
	net_loop_apply_locked(net);
	pthread_mutex_unlock(&net->vdev.lock);
}

/* With the lock held, from any thread: a vCPU thread (a reset, a notify served as an MMIO
 * exit) queues the change to the loop instead of touching its watches. */
static void net_loop_update_locked(struct virtio_net *net)
{
	if (event_loop_on_thread(net->vdev.loop)) {
		net_loop_apply_locked(net);
		return;
	}
	if (!net->sync_queued && event_loop_call(net->vdev.loop, net_loop_sync, net) >= 0)
		net->sync_queued = true;
}

/* The TAP's interface is gone (EBADFD, EIO): its fd would report an error forever, so it
 * leaves the loop, the link goes down and the slot waits for device_del. */
static void net_tap_lost(struct virtio_net *net, int err)
{
	/* Already lost on a vCPU thread, the removal queued (or the queue was full): the loop
	 * thread, polled with EPOLLERR, makes it now rather than spin. */
	if (net->tap_gone) {
		net_loop_update_locked(net);
		return;
	}
	virtio_fault_locked(&net->vdev, VIRTIO_FAULT_TAP_GONE, err);
	net->tap_gone = true;
	net_loop_update_locked(net);
	virtio_config_changed_locked(&net->vdev);
}

static bool net_tap_error_fatal(int err)
{
	return err == EBADFD || err == EIO || err == ENXIO || err == ENODEV;
}

static void net_tx(struct virtio_net *net)
{
	struct virtqueue *vq = &net->vdev.vqs[NET_TXQ];
	struct virtq_elem *e = &net->elem;
	bool pushed = false;
	int r;

	while ((r = virtq_pop(vq, e)) > 0) {
		/* A frame sent while the link is down is dropped, as on a cable-less port. */
		if (iov_size(e->out, e->n_out) > NET_HDR_LEN + NET_MAX_FRAME)
			virtio_fault_locked(&net->vdev, VIRTIO_FAULT_FRAME, 0);
		else if (net->tap_fd >= 0 && !net->tap_gone &&
			 writev(net->tap_fd, e->out, e->n_out) < 0 && errno != EAGAIN) {
			if (net_tap_error_fatal(errno))
				net_tap_lost(net, errno);
			else
				virtio_fault_locked(&net->vdev, VIRTIO_FAULT_TAP, errno);
		}
		virtq_push(vq, e->head, 0);
		pushed = true;
	}
	if (r < 0)
		virtio_set_broken_locked(&net->vdev, r == -ERANGE ? VIRTIO_FAULT_AVAIL_IDX :
							    VIRTIO_FAULT_DESCRIPTOR);
	if (pushed && virtq_should_interrupt(vq))
		virtio_interrupt_locked(&net->vdev, VIRTIO_ISR_QUEUE);
}

static void net_rx_watch(struct virtio_net *net, bool on)
{
	if (net->tap_fd < 0 || net->tap_gone)
		return;
	net->rx_want = on;
	net_loop_update_locked(net);
}

/* Moves frames from the TAP into receive buffers until either runs out. */
static void net_rx_locked(struct virtio_net *net)
{
	struct virtqueue *vq = &net->vdev.vqs[NET_RXQ];
	struct virtq_elem *e = &net->elem;
	bool pushed = false;
	int r = 0;

	for (unsigned i = 0; i < NET_BUDGET && net->tap_fd >= 0 && !net->tap_gone; i++) {
		uint16_t one = 1;
		ssize_t n;

		if (!virtio_running_locked(&net->vdev) || !vq->ready ||
			(r = virtq_pop(vq, e)) <= 0) {
			/* No buffers: stop watching the TAP until the guest adds some. */
			net_rx_watch(net, false);
			break;
		}
		if (iov_size(e->in, e->n_in) < NET_HDR_LEN) {
			r = -ENOMSG;
			break;
		}
		n = readv(net->tap_fd, e->in, e->n_in);
		if (n < 0) {
			int err = errno;

			/* Nothing to read after all: give the buffer back untouched. */
			vq->last_avail--;
			if (net_tap_error_fatal(err))
				net_tap_lost(net, err);
			break;
		}
		iov_from_buf(e->in, e->n_in, 10, &one, sizeof(one)); /* num_buffers */
		virtq_push(vq, e->head, (uint32_t)n);
		pushed = true;
	}
	if (r < 0)
		virtio_set_broken_locked(&net->vdev, r == -ENOMSG ? VIRTIO_FAULT_SHORT_RX :
						     r == -ERANGE ? VIRTIO_FAULT_AVAIL_IDX :
								    VIRTIO_FAULT_DESCRIPTOR);
	if (pushed && virtq_should_interrupt(vq))
		virtio_interrupt_locked(&net->vdev, VIRTIO_ISR_QUEUE);
}

static void net_queue_notify(struct virtio_device *vdev, unsigned qi)
{
	struct virtio_net *net = (struct virtio_net *)vdev;

	if (qi == NET_TXQ)
		net_tx(net);
	else
		net_rx_watch(net, true);
}

static void net_reset(struct virtio_device *vdev)
{
	net_rx_watch((struct virtio_net *)vdev, false);
}

static const struct virtio_device_ops virtio_net_ops = {
	.config_read = net_config_read,
	.features = net_features,
	.queue_notify = net_queue_notify,
	.reset = net_reset,
};

static void net_tap_ready(struct event_loop *loop, int fd, uint32_t events,
	void *opaque)
{
	struct virtio_net *net = opaque;

	pthread_mutex_lock(&net->vdev.lock);
	/* A TAP whose interface was deleted polls EPOLLERR (reads give EBADFD) even while we
	 * watch nothing: without leaving the loop it would spin. */
	if (events & (EPOLLERR | EPOLLHUP))
		net_tap_lost(net, EBADFD);
	else
		net_rx_locked(net);
	pthread_mutex_unlock(&net->vdev.lock);
}

int virtio_net_new(struct vm *vm, struct event_loop *loop, uint64_t base, uint32_t gsi,
	const uint8_t mac[MAC_LEN], struct virtio_net **ret)
{
	struct virtio_net *net = calloc(1, sizeof(*net));
	int r;

	if (!net)
		return -ENOMEM;
	virtio_device_init(&net->vdev, &virtio_net_ops, 1, NET_CONFIG_SIZE, 2);
	memcpy(net->mac, mac, MAC_LEN);
	net->tap_fd = -1;
	r = virtio_mmio_register(&net->vdev, vm, loop, base, gsi);
	if (r < 0) {
		virtio_net_free(net);
		return r;
	}
	*ret = net;
	return 0;
}

struct virtio_net *virtio_net_free(struct virtio_net *net)
{
	if (!net)
		return NULL;
	if (net->tap_fd >= 0 && net->tap_in_loop)
		event_loop_remove(net->vdev.loop, net->tap_fd);
	virtio_device_done(&net->vdev);
	free(net);
	return NULL;
}

int virtio_net_attach(void *dev, const struct net_backend *b)
{
	struct virtio_net *net = dev;
	int hdr = NET_HDR_LEN, r;

	if (ioctl(b->tap_fd, TUNSETVNETHDRSZ, &hdr) < 0)
		return -errno;
	pthread_mutex_lock(&net->vdev.lock);
	if (net->tap_fd >= 0) {
		pthread_mutex_unlock(&net->vdev.lock);
		return -EBUSY;
	}
	r = event_loop_add(net->vdev.loop, b->tap_fd, 0, net_tap_ready, net);
	if (r >= 0) {
		net->tap_fd = b->tap_fd;
		net->tap_in_loop = true;
		net->rx_watched = false;
		net_rx_watch(net, true);
		virtio_config_changed_locked(&net->vdev);
	}
	pthread_mutex_unlock(&net->vdev.lock);
	return r < 0 ? r : 0;
}

int virtio_net_detach(void *dev)
{
	struct virtio_net *net = dev;

	pthread_mutex_lock(&net->vdev.lock);
	if (net->tap_fd >= 0 && net->tap_in_loop)
		event_loop_remove(net->vdev.loop, net->tap_fd);
	net->tap_fd = -1;
	net->tap_in_loop = false;
	net->tap_gone = false;
	net->rx_watched = net->rx_want = false;
	virtio_config_changed_locked(&net->vdev);
	pthread_mutex_unlock(&net->vdev.lock);
	return 0;
}

void virtio_net_mac(void *dev, uint8_t ret_mac[MAC_LEN])
{
	struct virtio_net *net = dev;

	pthread_mutex_lock(&net->vdev.lock);
	memcpy(ret_mac, net->mac, MAC_LEN);
	pthread_mutex_unlock(&net->vdev.lock);
}

void virtio_net_set_mac(void *dev, const uint8_t mac[MAC_LEN])
{
	struct virtio_net *net = dev;

	pthread_mutex_lock(&net->vdev.lock);
	memcpy(net->mac, mac, MAC_LEN);
	pthread_mutex_unlock(&net->vdev.lock);
}

struct virtio_device *virtio_net_device(struct virtio_net *net)
{
	return &net->vdev;
}
