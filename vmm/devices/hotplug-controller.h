/*
 * The dynamic model's hot-plug controller (the protocol is in arch/x86/acpi.h):
 * the guest bus of hotplug.h. Announcing a slot queues a request to load its
 * definition block (written at boot, listed in the XSDT); withdrawing it clears
 * the slot's "enabled" bit and queues an eject request. The queue is what the
 * guest's _EVT reads through LAYOUT_HOTPLUG_PORT; the level interrupt
 * LAYOUT_HOTPLUG_GSI is up while it is not empty, so a request made before the
 * guest's GED driver is ready waits for it. A withdrawn device is released
 * (the released function) once its virtio driver has let go: the device is
 * reset, or was never driven. Its slot is then retired until the VM ends: the
 * guest keeps the block loaded.
 *
 * Threads: register accesses come on vCPU threads and take the lock; all the
 * rest runs on the event-loop thread (work from a vCPU is handed over with
 * event_loop_call()).
 */
#pragma once

#include <stdbool.h>

#include "arch/x86/acpi.h"
#include "cleanup.h"
#include "hotplug-model.h"

struct vm;
struct event_loop;
struct virtio_device;
struct hotplug_controller;

/* Slots are numbered blk first, then net: devs[] holds n_blk + n_net. */
int hotplug_controller_new(struct vm *vm, struct event_loop *loop, unsigned n_blk,
	unsigned n_net, struct virtio_device *const *devs, struct hotplug_controller **ret);
/* Who is told when the guest let go of a device: the slot manager's
 * hotplug_device_released(), set before the vCPUs start. */
typedef void (*hotplug_released_fn)(void *opaque, enum slot_kind kind, int slot);
void hotplug_controller_set_released_fn(struct hotplug_controller *c, hotplug_released_fn fn,
	void *opaque);
struct hotplug_controller *hotplug_controller_free(struct hotplug_controller *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct hotplug_controller *, hotplug_controller_free);

/* The guest_bus_ops of hotplug.h: bus is the controller. */
int hotplug_controller_announce(void *bus, enum slot_kind kind, int slot);
int hotplug_controller_withdraw(void *bus, enum slot_kind kind, int slot);
bool hotplug_controller_slot_usable(void *bus, enum slot_kind kind, int slot);
