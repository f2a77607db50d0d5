#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/layout.h"
#include "devices/hotplug-controller.h"
#include "devices/virtio.h"
#include "eventloop.h"
#include "kvm.h"
#include "log.h"

#define QUEUE_MAX (2 * ACPI_MAX_HOTPLUG)

/* Where each slot stands with the guest; the loop thread's alone. */
enum slot_state {
	SLOT_ABSENT,      /* the guest has not loaded the slot's block */
	SLOT_PRESENT,     /* a load request is queued, or the guest has loaded the block */
	SLOT_WITHDRAWING, /* asked back: waiting for the virtio driver to let go */
	SLOT_RETIRED,     /* given back; the block stays loaded until the VM ends */
};

struct hotplug_controller {
	struct vm *vm;
	struct event_loop *loop;
	hotplug_released_fn released;
	void *released_opaque;
	unsigned n_blk, n_slots;
	struct virtio_device *devs[ACPI_MAX_HOTPLUG];
	enum slot_state state[ACPI_MAX_HOTPLUG];

	/* Shared with the vCPU threads. */
	pthread_mutex_t lock;
	uint32_t queue[QUEUE_MAX]; /* requests the guest has not read yet, oldest first */
	unsigned n_queued;
	uint32_t enabled[2];       /* ENABLED0/1: clear while a slot's device is asked back */
	bool line;           /* LAYOUT_HOTPLUG_GSI is up */
	bool process_queued; /* controller_process() is already handed to the loop */
};

static unsigned global_slot(const struct hotplug_controller *c, enum slot_kind kind, int slot)
{
	return kind == SLOT_BLK ? (unsigned)slot : c->n_blk + (unsigned)slot;
}

/* With the lock held: the line follows the queue. */
static void line_update_locked(struct hotplug_controller *c)
{
	bool want = c->n_queued > 0;

	if (want == c->line)
		return;
	c->line = want;
	if (vm_irq_line(c->vm, LAYOUT_HOTPLUG_GSI, want) < 0)
		log_warning("Could not set the hot-plug interrupt (GSI %u) to %d.",
			LAYOUT_HOTPLUG_GSI, want);
}

/* The slot's bit in ENABLED0/1, which its _STA reads. */
static void enabled_set(struct hotplug_controller *c, unsigned g, bool on)
{
	pthread_mutex_lock(&c->lock);
	if (on)
		c->enabled[g / 32] |= 1u << (g % 32);
	else
		c->enabled[g / 32] &= ~(1u << (g % 32));
	pthread_mutex_unlock(&c->lock);
}

static int queue_push(struct hotplug_controller *c, uint32_t request)
{
	int r = 0;

	pthread_mutex_lock(&c->lock);
	if (c->n_queued == QUEUE_MAX)
		r = -EAGAIN;
	else
		c->queue[c->n_queued++] = request;
	line_update_locked(c);
	pthread_mutex_unlock(&c->lock);
	return r;
}

/* Takes request out of the queue if the guest has not read it yet: true when it was there. */
static bool queue_cancel(struct hotplug_controller *c, uint32_t request)
{
	bool found = false;

	pthread_mutex_lock(&c->lock);
	for (unsigned i = 0; i < c->n_queued && !found; i++)
		if (c->queue[i] == request) {
			memmove(&c->queue[i], &c->queue[i + 1],
				(c->n_queued - i - 1) * sizeof(c->queue[0]));
			c->n_queued--;
			found = true;
		}
	line_update_locked(c);
	pthread_mutex_unlock(&c->lock);
	return found;
}

/* On the loop thread, after a driver reset: the withdrawn devices whose driver let go. */
static void controller_process(void *opaque)
{
	struct hotplug_controller *c = opaque;

	pthread_mutex_lock(&c->lock);
	c->process_queued = false;
	pthread_mutex_unlock(&c->lock);
	for (unsigned g = 0; g < c->n_slots; g++) {
		if (c->state[g] != SLOT_WITHDRAWING || virtio_driver_active(c->devs[g]))
			continue;
		c->state[g] = SLOT_RETIRED;
		log_info("The guest released hot-plug slot %u.", g);
		if (c->released)
			c->released(c->released_opaque, g < c->n_blk ? SLOT_BLK : SLOT_NET,
				(int)(g < c->n_blk ? g : g - c->n_blk));
	}
}

/* With the lock held, from any thread: hands controller_process() to the loop once. */
static void process_schedule_locked(struct hotplug_controller *c)
{
	if (c->process_queued)
		return;
	if (event_loop_call(c->loop, controller_process, c) == 0)
		c->process_queued = true;
}

/* A virtio device of a slot was reset by its driver (vCPU thread, device lock held). */
static void on_device_reset(void *opaque)
{
	struct hotplug_controller *c = opaque;

	pthread_mutex_lock(&c->lock);
	process_schedule_locked(c);
	pthread_mutex_unlock(&c->lock);
}

static void controller_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
	struct hotplug_controller *c = opaque;
	uint32_t v = 0;

	if (len != 4 || off % 4) {
		if (!is_write)
			memset(data, 0, len);
		return;
	}
	pthread_mutex_lock(&c->lock);
	if (!is_write && off == ACPI_HOTPLUG_REG_ENABLED0) {
		v = c->enabled[0];
	} else if (!is_write && off == ACPI_HOTPLUG_REG_ENABLED1) {
		v = c->enabled[1];
	} else if (!is_write && off == ACPI_HOTPLUG_REG_CMD && c->n_queued > 0) {
		v = c->queue[0];
		memmove(&c->queue[0], &c->queue[1], (c->n_queued - 1) * sizeof(c->queue[0]));
		c->n_queued--;
		line_update_locked(c);
	}
	pthread_mutex_unlock(&c->lock);
	if (!is_write)
		memcpy(data, &v, 4);
}

int hotplug_controller_announce(void *bus, enum slot_kind kind, int slot)
{
	struct hotplug_controller *c = bus;
	unsigned g = global_slot(c, kind, slot);
	int r;

	if (g >= c->n_slots)
		return -ERANGE;
	if (c->state[g] != SLOT_ABSENT)
		return -EBUSY; /* the guest loaded the slot's block before */
	r = queue_push(c, ACPI_HOTPLUG_REQUEST(ACPI_HOTPLUG_OP_LOAD, g));
	if (r < 0)
		return r;
	enabled_set(c, g, true);
	c->state[g] = SLOT_PRESENT;
	return 0;
}

bool hotplug_controller_slot_usable(void *bus, enum slot_kind kind, int slot)
{
	struct hotplug_controller *c = bus;
	unsigned g = global_slot(c, kind, slot);

	return g < c->n_slots && c->state[g] == SLOT_ABSENT;
}

int hotplug_controller_withdraw(void *bus, enum slot_kind kind, int slot)
{
	struct hotplug_controller *c = bus;
	unsigned g = global_slot(c, kind, slot);
	int r;

	if (g >= c->n_slots)
		return -ERANGE;
	if (c->state[g] == SLOT_PRESENT &&
	    queue_cancel(c, ACPI_HOTPLUG_REQUEST(ACPI_HOTPLUG_OP_LOAD, g))) {
		enabled_set(c, g, false);
		c->state[g] = SLOT_ABSENT;
		return 1; /* the guest never read the load request */
	}
	if (c->state[g] != SLOT_PRESENT)
		return -EINPROGRESS;
	enabled_set(c, g, false);
	if (!virtio_driver_active(c->devs[g])) {
		c->state[g] = SLOT_RETIRED; /* no driver holds it: nothing to give back */
		return 1;
	}
	r = queue_push(c, ACPI_HOTPLUG_REQUEST(ACPI_HOTPLUG_OP_EJECT, g));
	if (r < 0) {
		enabled_set(c, g, true);
		return r;
	}
	c->state[g] = SLOT_WITHDRAWING;
	return 0;
}

int hotplug_controller_new(struct vm *vm, struct event_loop *loop, unsigned n_blk,
	unsigned n_net, struct virtio_device *const *devs, struct hotplug_controller **ret)
{
	_cleanup_(hotplug_controller_freep) struct hotplug_controller *c = NULL;
	int r;

	if (n_blk + n_net > ACPI_MAX_HOTPLUG)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	pthread_mutex_init(&c->lock, NULL);
	c->vm = vm;
	c->loop = loop;
	c->n_blk = n_blk;
	c->n_slots = n_blk + n_net;
	for (unsigned g = 0; g < c->n_slots; g++) {
		c->devs[g] = devs[g];
		devs[g]->on_reset = on_device_reset;
		devs[g]->on_reset_opaque = c;
	}
	r = vm_bus_add(vm, BUS_PIO, LAYOUT_HOTPLUG_PORT, ACPI_HOTPLUG_PORTS, controller_io, c);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(c);
	return 0;
}

void hotplug_controller_set_released_fn(struct hotplug_controller *c, hotplug_released_fn fn,
	void *opaque)
{
	c->released = fn;
	c->released_opaque = opaque;
}

struct hotplug_controller *hotplug_controller_free(struct hotplug_controller *c)
{
	if (!c)
		return NULL;
	for (unsigned g = 0; g < c->n_slots; g++)
		c->devs[g]->on_reset = NULL;
	pthread_mutex_destroy(&c->lock);
	free(c);
	return NULL;
}
