/*
 * Builds a VM from the command line in a visible order: memory, KVM, console,
 * power-off, the hot-plug slots (6+2, or 32+8 in the dynamic model), ACPI
 * tables, the kernel, the slot manager (and the dynamic model's hot-plug
 * controller) with the command line's disks and NICs, the vCPUs, QMP.
 */
#pragma once

#include <stdbool.h>

#include "cmdline.h"
#include "hotplug.h"
#include "vcpu.h"

struct virtio_blk;
struct virtio_net;
struct hotplug_controller;
struct serial;
struct qmp_server;
struct event_loop;

enum vmm_state {
	VMM_RUNNING,
	VMM_PAUSED,
	VMM_SHUTDOWN,
	VMM_ERROR,
};

struct vmm {
	const struct vmm_config *cfg;
	struct event_loop *loop;
	struct vm *vm;
	struct serial *serial;
	struct power *power;
	unsigned n_blk, n_net; /* slots of the VM's hot-plug model */
	struct virtio_blk *blk[HOTPLUG_BLK_SLOTS_MAX];
	struct virtio_net *net[HOTPLUG_NET_SLOTS_MAX];
	struct hotplug *hotplug;
	struct hotplug_controller *controller; /* the dynamic model's; NULL in the slot model */
	struct vcpus *vcpus;
	struct qmp_server *qmp;
	int signal_fd;
	enum vm_exit_reason exit_reason;
	enum vmm_state state;
};

int vmm_build(const struct vmm_config *cfg, struct event_loop *loop, struct vmm **ret);
/* Starts the vCPUs and runs the loop until the VM ends: the exit status. */
int vmm_run(struct vmm *vmm);
struct vmm *vmm_free(struct vmm *vmm);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct vmm *, vmm_free);

/* Writes each ACPI table as DIR/<signature>.dat (for iasl -d): 0 or -errno. */
int vmm_dump_acpi(const struct vmm_config *cfg, const char *dir);
