#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/ptrace.h>
#include <sys/random.h>
#include <sys/signalfd.h>

#include "arch/x86/acpi.h"
#include "arch/x86/boot.h"
#include "builder.h"
#include "devices/hotplug-controller.h"
#include "devices/power.h"
#include "devices/serial.h"
#include "devices/virtio-blk.h"
#include "devices/virtio-net.h"
#include "eventloop.h"
#include "i18n.h"
#include "mac.h"
#include "kvm.h"
#include "log.h"
#include "qmp/qmp.h"
#include "seccomp-rules.h"
#include "util.h"

static const struct slot_ops vmm_slot_ops = {
	.attach_blk = virtio_blk_attach,
	.detach_blk = virtio_blk_detach,
	.attach_net = virtio_net_attach,
	.detach_net = virtio_net_detach,
	.net_mac = virtio_net_mac,
	.net_set_mac = virtio_net_set_mac,
};

/* Virtio-mmio GSIs: one per slot in the slot model; the dynamic model's 40 slots share the
 * pins between the UART's and the GED's (virtio-mmio drivers take shared interrupts). */
#define SHARED_VIRTIO_GSIS (LAYOUT_HOTPLUG_GSI - LAYOUT_VIRTIO_GSI_BASE - 1)

/* The transport of slot i, disks first, then NICs. */
static struct acpi_virtio_dev slot_transport(enum hotplug_model model, unsigned i)
{
	unsigned gsi = model == HOTPLUG_ACPI ? i % SHARED_VIRTIO_GSIS : i;

	return (struct acpi_virtio_dev){ LAYOUT_VIRTIO_BASE + i * LAYOUT_VIRTIO_SIZE,
		LAYOUT_VIRTIO_SIZE, LAYOUT_VIRTIO_GSI_BASE + gsi };
}

static unsigned slot_total(enum hotplug_model model)
{
	return (unsigned)(hotplug_model_slot_count(model, SLOT_BLK) +
			  hotplug_model_slot_count(model, SLOT_NET));
}

/* The slot model lists every transport in the DSDT; the dynamic one gives each a table of
 * its own, loaded when a device is plugged (acpi.h). */
static void acpi_config_fill(const struct vmm_config *cfg, struct acpi_config *ac)
{
	*ac = (struct acpi_config){ .n_vcpus = cfg->n_vcpus };
	if (cfg->hotplug == HOTPLUG_ACPI) {
		ac->n_hotplug = slot_total(cfg->hotplug);
		return;
	}
	for (unsigned i = 0; i < slot_total(cfg->hotplug); i++)
		ac->virtio[ac->n_virtio++] = slot_transport(cfg->hotplug, i);
}

/* Each NIC slot's MAC: from the command line in -device order, else locally administered. */
static int nic_macs(const struct vmm_config *cfg, uint8_t macs[HOTPLUG_NET_SLOTS_MAX][MAC_LEN])
{
	unsigned slot = 0;

	if (getrandom(macs, sizeof(uint8_t[HOTPLUG_NET_SLOTS_MAX][MAC_LEN]), 0) !=
	    sizeof(uint8_t[HOTPLUG_NET_SLOTS_MAX][MAC_LEN]))
		return -errno;
	for (unsigned i = 0; i < HOTPLUG_NET_SLOTS_MAX; i++) {
		macs[i][0] = 0x52; /* locally administered, unicast, QEMU's 52:54:00 prefix */
		macs[i][1] = 0x54;
		macs[i][2] = 0x00;
	}
	for (unsigned i = 0; i < cfg->n_devices && slot < HOTPLUG_NET_SLOTS_MAX; i++) {
		const struct device_opt *d = &cfg->devices[i];

		if (d->kind != SLOT_NET)
			continue;
		if (d->mac)
			(void)mac_parse(d->mac, macs[slot]);
		slot++;
	}
	return 0;
}

static int build_devices(struct vmm *vmm)
{
	uint8_t macs[HOTPLUG_NET_SLOTS_MAX][MAC_LEN];
	enum hotplug_model model = vmm->cfg->hotplug;
	int r;

	r = serial_new(vmm->vm, vmm->loop, &vmm->cfg->console, &vmm->serial);
	if (r < 0)
		return r;
	vmm->power = calloc(1, sizeof(*vmm->power));
	if (!vmm->power)
		return -ENOMEM;
	r = power_register(vmm->vm, vmm->power);
	if (r < 0)
		return r;
	vmm->n_blk = (unsigned)hotplug_model_slot_count(model, SLOT_BLK);
	vmm->n_net = (unsigned)hotplug_model_slot_count(model, SLOT_NET);
	for (unsigned i = 0; i < vmm->n_blk; i++) {
		struct acpi_virtio_dev t = slot_transport(model, i);

		r = virtio_blk_new(vmm->vm, vmm->loop, t.base, t.gsi, &vmm->blk[i]);
		if (r < 0)
			return log_error_errno(r, "Failed to create disk slot %u: %m", i);
	}
	r = nic_macs(vmm->cfg, macs);
	if (r < 0)
		return r;
	for (unsigned i = 0; i < vmm->n_net; i++) {
		struct acpi_virtio_dev t = slot_transport(model, vmm->n_blk + i);

		r = virtio_net_new(vmm->vm, vmm->loop, t.base, t.gsi, macs[i], &vmm->net[i]);
		if (r < 0)
			return log_error_errno(r, "Failed to create NIC slot %u: %m", i);
	}
	return 0;
}

static const struct guest_bus_ops controller_bus_ops = {
	.announce = hotplug_controller_announce,
	.withdraw = hotplug_controller_withdraw,
	.slot_usable = hotplug_controller_slot_usable,
};

static void controller_released(void *opaque, enum slot_kind kind, int slot)
{
	hotplug_device_released(opaque, kind, slot);
}

/* The dynamic model's hot-plug controller, the guest bus of the slot manager. */
static int build_controller(struct vmm *vmm)
{
	struct virtio_device *devs[ACPI_MAX_HOTPLUG];
	unsigned n = vmm->n_blk + vmm->n_net;
	int r;

	if (vmm->cfg->hotplug != HOTPLUG_ACPI)
		return 0;
	for (unsigned i = 0; i < n; i++) {
		devs[i] = i < vmm->n_blk ? virtio_blk_device(vmm->blk[i])
					 : virtio_net_device(vmm->net[i - vmm->n_blk]);
	}
	r = hotplug_controller_new(vmm->vm, vmm->loop, vmm->n_blk, vmm->n_net, devs,
		&vmm->controller);
	if (r < 0)
		return r;
	hotplug_set_guest_bus(vmm->hotplug, &controller_bus_ops, vmm->controller);
	hotplug_controller_set_released_fn(vmm->controller, controller_released, vmm->hotplug);
	return 0;
}

/* The dynamic model: slot i's definition block, where the XSDT says it is. */
static int slot_table(unsigned i, uint8_t table[LAYOUT_HOTPLUG_TABLE_SIZE])
{
	struct acpi_virtio_dev t = slot_transport(HOTPLUG_ACPI, i);

	return acpi_build_slot_table(i, &t, table, LAYOUT_HOTPLUG_TABLE_SIZE);
}

static int write_slot_table(struct vmm *vmm, unsigned i)
{
	uint8_t table[LAYOUT_HOTPLUG_TABLE_SIZE];
	int len = slot_table(i, table);

	if (len < 0)
		return len;
	return guest_mem_write(vmm->vm->mem, acpi_slot_table_addr(i), table, (size_t)len);
}

static int build_boot(struct vmm *vmm, struct boot_entry *entry)
{
	struct acpi_tables *tables = malloc(sizeof(*tables));
	struct acpi_config ac;
	int r;

	if (!tables)
		return -ENOMEM;
	acpi_config_fill(vmm->cfg, &ac);
	r = acpi_build(&ac, tables);
	if (r >= 0)
		r = guest_mem_write(vmm->vm->mem, LAYOUT_ACPI_START, tables->blob, tables->len);
	for (unsigned i = 0; i < ac.n_hotplug && r >= 0; i++)
		r = write_slot_table(vmm, i);
	if (r >= 0) {
		struct boot_config bc = { vmm->cfg->kernel, vmm->cfg->initrd, vmm->cfg->append,
			acpi_rsdp_addr(tables) };

		r = boot_load(vmm->vm->mem, &bc, entry);
	}
	free(tables);
	return r;
}

static int report(int r, char *error)
{
	if (r < 0)
		log_error("%s", error ? error : strerror(-r));
	free(error);
	return r;
}

/* The command line's disks and NICs, plugged in as boot devices, slots from 0 in order. */
static int build_boot_devices(struct vmm *vmm)
{
	const struct vmm_config *cfg = vmm->cfg;
	unsigned nic = 0;
	int r = 0;

	for (unsigned i = 0; i < cfg->n_drives && r >= 0; i++) {
		const struct drive_opt *d = &cfg->drives[i];
		struct blockdev_spec s = { d->id, d->file, d->fd, d->read_only, d->direct };
		char *error = NULL;

		r = hotplug_blockdev_add(vmm->hotplug, &s, &error);
		r = report(r, error);
	}
	for (unsigned i = 0; i < cfg->n_netdevs && r >= 0; i++) {
		const struct netdev_opt *d = &cfg->netdevs[i];
		struct netdev_spec s = { d->id, d->ifname, d->fd };
		char *error = NULL;

		r = hotplug_netdev_add(vmm->hotplug, &s, &error);
		r = report(r, error);
	}
	for (unsigned i = 0; i < cfg->n_devices && r >= 0; i++) {
		const struct device_opt *d = &cfg->devices[i];
		struct device_spec s = { d->kind, d->id, d->backend, -1, d->serial, d->mac, true };
		char *error = NULL;

		if (d->kind == SLOT_NET)
			s.slot = (int)nic++;
		if (!d->backend)
			continue; /* a MAC-only NIC: its slot stays empty */
		r = hotplug_device_add(vmm->hotplug, &s, &error);
		r = report(r, error);
	}
	return r;
}

static void vmm_emit_shutdown(struct vmm *vmm, bool guest, const char *reason)
{
	struct json_object *data = json_object_new_object();

	if (!vmm->qmp || !data) {
		json_object_put(data);
		return;
	}
	json_object_object_add(data, "guest", json_object_new_boolean(guest));
	json_object_object_add(data, "reason", json_object_new_string(reason));
	qmp_server_emit(vmm->qmp, "SHUTDOWN", data);
}

/* On the loop thread, after a vCPU reported that the VM cannot go on. */
static void vmm_on_exit_loop(void *opaque)
{
	struct vmm *vmm = opaque;
	bool error = vmm->exit_reason == VM_EXIT_ERROR;

	vmm->state = error ? VMM_ERROR : VMM_SHUTDOWN;
	vmm_emit_shutdown(vmm, true, vm_exit_reason_to_string(vmm->exit_reason));
	event_loop_quit(vmm->loop, error ? 1 : 0);
}

static void vmm_on_exit(void *opaque, enum vm_exit_reason reason)
{
	struct vmm *vmm = opaque;

	vmm->exit_reason = reason;
	if (event_loop_call(vmm->loop, vmm_on_exit_loop, vmm) < 0)
		event_loop_quit(vmm->loop, reason == VM_EXIT_ERROR ? 1 : 0);
}

static int vmm_stop(void *opaque)
{
	struct vmm *vmm = opaque;

	if (vmm->state != VMM_RUNNING)
		return vmm->state == VMM_PAUSED ? 1 : -EINVAL;
	vcpus_pause(vmm->vcpus);
	vmm->state = VMM_PAUSED;
	return 0;
}

static int vmm_cont(void *opaque)
{
	struct vmm *vmm = opaque;

	if (vmm->state != VMM_PAUSED)
		return vmm->state == VMM_RUNNING ? 1 : -EINVAL;
	vcpus_resume(vmm->vcpus);
	vmm->state = VMM_RUNNING;
	return 0;
}

static int vmm_powerdown(void *opaque)
{
	struct vmm *vmm = opaque;

	return power_button_press(vmm->power);
}

static void vmm_quit(void *opaque)
{
	struct vmm *vmm = opaque;

	vmm->state = VMM_SHUTDOWN;
	event_loop_quit(vmm->loop, 0);
}

static const char *vmm_status(void *opaque)
{
	static const char *const names[] = {
		[VMM_RUNNING] = "running", [VMM_PAUSED] = "paused",
		[VMM_SHUTDOWN] = "shutdown", [VMM_ERROR] = "internal-error",
	};

	return names[((struct vmm *)opaque)->state];
}

static void vmm_on_signal(struct event_loop *loop, int fd, uint32_t events, void *opaque)
{
	struct vmm *vmm = opaque;
	struct signalfd_siginfo si;

	if (read(fd, &si, sizeof(si)) != sizeof(si))
		return;
	log_info("Signal %u received; stopping the VM.", si.ssi_signo);
	vmm->state = VMM_SHUTDOWN;
	vmm_emit_shutdown(vmm, false, "host-signal");
	event_loop_quit(loop, 0);
}

static int build_signals(struct vmm *vmm)
{
	sigset_t mask;

	/* Blocked before any thread starts, so every thread inherits the mask. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	if (pthread_sigmask(SIG_BLOCK, &mask, NULL) != 0)
		return -EINVAL;
	sigdelset(&mask, SIGHUP); /* ignored: the daemon may restart and drop our terminal */
	vmm->signal_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (vmm->signal_fd < 0)
		return -errno;
	return event_loop_add(vmm->loop, vmm->signal_fd, EPOLLIN, vmm_on_signal, vmm);
}

static int build_qmp(struct vmm *vmm)
{
	const struct vm_control ctl = {
		.opaque = vmm, .stop = vmm_stop, .cont = vmm_cont,
		.powerdown = vmm_powerdown, .quit = vmm_quit, .status = vmm_status,
	};
	char *error = NULL;

	if (!vmm->cfg->qmp_path)
		return 0;
	vmm->qmp = qmp_server_new(vmm->loop, vmm->cfg->qmp_path, vmm->hotplug, &ctl, &error);
	if (!vmm->qmp)
		return report(-EINVAL, error);
	return 0;
}

int vmm_build(const struct vmm_config *cfg, struct event_loop *loop, struct vmm **ret)
{
	_cleanup_(vmm_freep) struct vmm *vmm = calloc(1, sizeof(*vmm));
	_cleanup_(guest_mem_freep) struct guest_mem *mem = NULL;
	struct boot_entry entry;
	int r;

	if (!vmm)
		return -ENOMEM;
	vmm->cfg = cfg;
	vmm->loop = loop;
	vmm->signal_fd = -1;
	r = guest_mem_new(cfg->mem_size, &mem);
	if (r < 0)
		return log_error_errno(r, _("Cannot allocate %llu bytes of guest memory: %m."),
			(unsigned long long)cfg->mem_size);
	r = vm_new(mem, &vmm->vm);
	if (r < 0)
		return r;
	TAKE_PTR(mem);
	r = build_devices(vmm);
	if (r >= 0)
		r = build_boot(vmm, &entry);
	if (r < 0)
		return r;
	vmm->hotplug = hotplug_new(&vmm_slot_ops, cfg->hotplug, (void *const *)vmm->blk,
		(void *const *)vmm->net);
	if (!vmm->hotplug)
		return -ENOMEM;
	r = build_controller(vmm);
	if (r >= 0)
		r = build_boot_devices(vmm);
	if (r >= 0)
		r = build_signals(vmm);
	if (r >= 0)
		r = vcpus_new(vmm->vm, cfg->n_vcpus, &entry, vmm_on_exit, vmm, &vmm->vcpus);
	if (r >= 0)
		r = build_qmp(vmm);
	if (r < 0)
		return r;
	vmm->power->vcpus = vmm->vcpus;
	*ret = TAKE_PTR(vmm);
	return 0;
}

/*
 * The main thread's allowlist goes on after the vCPU threads exist (they must
 * not inherit it) and before the loop serves anything the guest or a QMP
 * client sends. MVIRT_VMM_SECCOMP_SELFTEST=1, a hidden switch for the tests,
 * then makes a call no allowlist has, to prove a violation ends the VMM.
 */
static int vmm_seccomp_main(struct vmm *vmm)
{
	const char *selftest = getenv("MVIRT_VMM_SECCOMP_SELFTEST");
	int r;

	if (vmm->cfg->disable_seccomp)
		return 0;
	r = seccomp_install(SECCOMP_THREAD_MAIN);
	if (r < 0)
		return r;
	if (selftest && streq(selftest, "1")) {
		log_info("Seccomp self-test: calling ptrace(), which no allowlist permits.");
		(void)ptrace(PTRACE_TRACEME, 0, NULL, NULL);
		log_error("Seccomp self-test: the forbidden call returned; the filter is not working.");
		return -EPERM;
	}
	return 0;
}

int vmm_run(struct vmm *vmm)
{
	int r;

	vmm->vcpus->seccomp = !vmm->cfg->disable_seccomp;
	r = vcpus_start(vmm->vcpus);
	if (r < 0)
		return r;
	r = vmm_seccomp_main(vmm);
	if (r < 0)
		return r;
	vmm->state = VMM_RUNNING;
	return event_loop_run(vmm->loop);
}

struct vmm *vmm_free(struct vmm *vmm)
{
	if (!vmm)
		return NULL;
	/* vCPUs first: nothing may touch a device once it is gone. */
	vcpus_free(vmm->vcpus);
	qmp_server_free(vmm->qmp);
	hotplug_free(vmm->hotplug);
	hotplug_controller_free(vmm->controller);
	for (unsigned i = 0; i < HOTPLUG_NET_SLOTS_MAX; i++)
		virtio_net_free(vmm->net[i]);
	for (unsigned i = 0; i < HOTPLUG_BLK_SLOTS_MAX; i++)
		virtio_blk_free(vmm->blk[i]);
	serial_free(vmm->serial);
	free(vmm->power);
	if (vmm->signal_fd >= 0)
		event_loop_remove(vmm->loop, vmm->signal_fd);
	safe_close(vmm->signal_fd);
	vm_free(vmm->vm);
	free(vmm);
	return NULL;
}

/* Writes DIR/NAME.dat for iasl -d. */
static int dump_table(const char *dir, const char *name, const uint8_t *data, size_t len)
{
	_cleanup_close_ int fd = -1;
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s.dat", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return log_error_errno(errno, _("Cannot write %s: %m."), path);
	return write_full(fd, data, len);
}

int vmm_dump_acpi(const struct vmm_config *cfg, const char *dir)
{
	_cleanup_free_ struct acpi_tables *t = malloc(sizeof(*t));
	uint8_t slot[LAYOUT_HOTPLUG_TABLE_SIZE];
	struct acpi_config ac;
	int r;

	if (!t)
		return -ENOMEM;
	acpi_config_fill(cfg, &ac);
	r = acpi_build(&ac, t);
	for (enum acpi_table i = ACPI_TABLE_DSDT; r >= 0 && i < _ACPI_TABLE_MAX; i++)
		r = dump_table(dir, acpi_table_to_string(i), t->blob + t->offset[i], t->size[i]);
	if (r < 0 || !ac.n_hotplug)
		return r;
	/* The dynamic model: slot 0's block, as the guest loads it when a disk is plugged. */
	r = slot_table(0, slot);
	return r < 0 ? r : dump_table(dir, "SSDT", slot, (size_t)r);
}
