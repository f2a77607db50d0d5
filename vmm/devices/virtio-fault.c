/* What a guest did wrong, or what failed under it, as one log line per cause and device, with a
 * rate limit that survives device resets: a guest that resets and breaks a device in a loop
 * gets VIRTIO_FAULT_BURST lines per cause a minute and one line saying the rest are muted. */
#include "config.h"

#include <time.h>

#include "devices/virtio.h"
#include "log.h"

#define VIRTIO_FAULT_WINDOW_S 60

static const char *const fault_text[_VIRTIO_FAULT_MAX] = {
	[VIRTIO_FAULT_DESCRIPTOR] = "the guest gave a malformed descriptor chain (a loop, a chain "
				    "longer than the queue, an indirect descriptor, a readable "
				    "buffer after a writable one or a buffer outside guest memory)",
	[VIRTIO_FAULT_AVAIL_IDX] = "the guest moved the available index ahead by more than the "
				   "queue size",
	[VIRTIO_FAULT_NO_STATUS] = "the guest gave virtio-blk a request without a writable status "
				   "byte",
	[VIRTIO_FAULT_SHORT_RX] = "the guest gave virtio-net a receive buffer shorter than the "
				  "12-byte header",
	[VIRTIO_FAULT_QUEUE_SIZE] = "the guest set a queue size that is zero, above 256 or not a "
				    "power of two",
	[VIRTIO_FAULT_QUEUE_ALIGN] = "the guest placed a queue's rings at misaligned addresses",
	[VIRTIO_FAULT_QUEUE_RINGS] = "the guest placed a queue's rings outside guest memory",
	[VIRTIO_FAULT_READ_ONLY] = "the guest wrote to a read-only disk; the request failed",
	[VIRTIO_FAULT_PAST_END] = "the guest read or wrote past the end of the disk; the request "
				  "failed",
	[VIRTIO_FAULT_BAD_LENGTH] = "the guest's request is not a whole number of 512-byte "
				    "sectors; the request failed",
	[VIRTIO_FAULT_SHORT_HEADER] = "the guest sent a virtio-blk request shorter than its 16-byte "
				      "header; the request failed",
	[VIRTIO_FAULT_NO_MEDIUM] = "the guest sent a request to an empty slot; the request failed",
	[VIRTIO_FAULT_IO] = "the disk image failed a read, write or flush; the guest got an I/O "
			    "error",
	[VIRTIO_FAULT_FRAME] = "the guest sent a frame larger than 65535 bytes; it was dropped",
	[VIRTIO_FAULT_TAP] = "the TAP refused a frame; it was dropped",
	[VIRTIO_FAULT_TAP_GONE] = "the TAP's interface went away on the host; the NIC's link is "
				  "down until the slot is emptied with device_del",
};

const char *virtio_fault_text(enum virtio_fault f)
{
	return f < _VIRTIO_FAULT_MAX ? fault_text[f] : "an unknown fault";
}

static uint64_t now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec;
}

void virtio_fault_locked(struct virtio_device *vdev, enum virtio_fault f, int err)
{
	struct virtio_fault_count *c = &vdev->faults[f < _VIRTIO_FAULT_MAX ? f : 0];
	unsigned long long base = (unsigned long long)vdev->base;
	uint64_t now = now_s();
	const char *text = virtio_fault_text(f);

	if (c->printed == 0 || now - c->window_start >= VIRTIO_FAULT_WINDOW_S) {
		if (c->suppressed)
			log_warning("virtio device at 0x%llx: %u more reports of this were muted in "
				"the last minute: %s.", base, c->suppressed, text);
		c->window_start = now;
		c->printed = c->suppressed = 0;
	}
	if (c->printed < VIRTIO_FAULT_BURST) {
		c->printed++;
		if (err)
			log_warning_errno(err, "virtio device at 0x%llx: %s: %m.", base, text);
		else
			log_warning("virtio device at 0x%llx: %s.", base, text);
		return;
	}
	if (c->suppressed++ == 0)
		log_warning("virtio device at 0x%llx: the same fault again; further reports of it "
			"are muted for a minute: %s.", base, text);
}
