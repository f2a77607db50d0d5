/* mvirt-probe: boot, find the virtio-mmio devices through ACPI (and virtio_mmio.device=),
 * drive them, say "PROBE ready", then idle with HLT and react to interrupts forever. The
 * order of the console lines is the order below; PROTOCOL.md documents each. */
#include "probe.h"

void probe_main(uint64_t info, uint32_t entry);
void bench_run(const char *cmdline); /* bench.c: probe.bench= */

static struct boot_info boot;

static void report_boot(void)
{
	out_begin("boot");
	out_str("entry", boot.entry == BOOT_PVH ? "pvh" : "linux64");
	out_end();
	for (uint32_t i = 0; i < boot.e820_count; i++) {
		out_begin("e820");
		out_hex("addr", boot.e820[i].addr);
		out_hex("size", boot.e820[i].size);
		out_dec("type", boot.e820[i].type);
		out_end();
	}
	out_begin("cmdline");
	out_dec("len", boot.cmdline ? strlen(boot.cmdline) : 0);
	out_str("text", "");
	if (boot.cmdline)
		out_raw(boot.cmdline, strlen(boot.cmdline));
	out_end();
}

/* ACPI's devices first, in DSDT order, then those of the command line. */
static void collect_devices(void)
{
	static struct acpi_dev cmdline_devs[PROBE_MAX_DEVS];

	for (uint32_t i = 0; i < acpi.n_devs && n_vdevs < PROBE_MAX_DEVS; i++)
		vdevs[n_vdevs++].res = &acpi.devs[i];
	for (uint32_t i = 0; i < opts.n_mmio && n_vdevs < PROBE_MAX_DEVS; i++) {
		cmdline_devs[i] = (struct acpi_dev){ .base = opts.mmio[i].base,
			.size = opts.mmio[i].size, .gsi = opts.mmio[i].gsi, .has_irq = true };
		vdevs[n_vdevs++].res = &cmdline_devs[i];
	}
	if (n_vdevs == 0)
		out_error("no-devices");
}

static const char *type_name(uint32_t id)
{
	return id == VT_BLK ? "blk" : id == VT_NET ? "net" : id == VT_NONE ? "none" : "other";
}

static void report_dev(const struct virtio_dev *d)
{
	out_begin("dev");
	out_dec("index", d->type_index);
	out_str("type", type_name(d->device_id));
	out_hex("base", d->base);
	out_dec("gsi", d->res->gsi);
	out_dec("uid", d->res->uid);
	out_dec("version", d->version);
	out_dec("id", d->device_id);
	out_str("trigger", d->res->level ? "level" : "edge");
	out_end();
}

/* Checks each transport, names it, routes its interrupt and starts its driver. A transport
 * with device ID 0 is left alone, as Linux's virtio_mmio does. */
static void start_devices(void)
{
	uint32_t per_type[5] = { 0 };

	for (uint32_t i = 0; i < n_vdevs; i++) {
		struct virtio_dev *d = &vdevs[i];
		uint32_t t;

		d->base = d->res->base;
		if (virtio_check_transport(d))
			continue;
		t = d->device_id < 4 ? d->device_id : 4;
		d->type_index = per_type[t]++;
		report_dev(d);
		if (d->device_id != VT_BLK && d->device_id != VT_NET)
			continue;
		if (!d->res->has_irq ||
				ioapic_route(d->res->gsi, d->res->level, d->res->active_low,
					virtio_irq_vector(d))) {
			out_begin("error");
			out_str("what", "no-irq-route");
			out_dec("gsi", d->res->gsi);
			out_end();
		}
		if ((d->device_id == VT_BLK ? blk_init(d) : net_init(d)) < 0) {
			out_begin("error");
			out_str("what", "init-failed");
			out_hex("base", d->base);
			out_end();
		}
	}
}

/* After "PROBE ready": react to config changes (hot-plug) and frames, forever. */
static __attribute__((noreturn)) void idle_loop(void)
{
	for (;;) {
		for (uint32_t i = 0; i < n_vdevs; i++) {
			struct virtio_dev *d = &vdevs[i];
			uint32_t isr = virtio_take_isr(d);

			if (!d->live)
				continue;
			if ((isr & 2) && d->device_id == VT_BLK)
				blk_config_changed(d);
			if ((isr & 2) && d->device_id == VT_NET)
				net_config_changed(d);
			if (d->device_id == VT_NET)
				net_poll(d);
		}
		power_button_poll();
		wait_for_interrupt();
	}
}

void probe_main(uint64_t info, uint32_t entry)
{
	serial_init();
	boot_info_read((enum boot_entry)entry, info, &boot);
	report_boot();
	cmdline_parse(boot.cmdline);
	irq_init();
	acpi_init(boot.rsdp);
	lapic_init();
	power_button_init();
	collect_devices();
	start_devices();
	blk_run_commands();
	out_begin("ready");
	out_dec("blk", blk_count());
	out_dec("net", net_count());
	out_end();
	if (opts.hostile[0])
		hostile_run();
	if (opts.net_resets)
		net_resets_run();
	bench_run(boot.cmdline);
	if (opts.poweroff)
		power_off();
	idle_loop();
}
