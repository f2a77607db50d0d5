/* Power-off, tried in order, each announced before it is tried (a method that works ends the
 * VM, so the last "PROBE poweroff" line names the one that did):
 *  1. acpi-sleep: the FADT's hardware-reduced SLEEP_CONTROL_REG, SLP_TYP from \_S5 | SLP_EN;
 *  2. acpi-pm1a: the PM1a control block of a full-ACPI FADT, same value shifted to bit 10;
 *  3. debug-exit: QEMU's isa-debug-exit at port 0x501 (the VM exits with status 1);
 *  4. i8042-reset: pulse the reset line through the keyboard controller (0xfe to port 0x64),
 *     which VMMs without power-off turn into an exit.
 * If the VM is still running after that, "PROBE error what=poweroff-failed". */
#include "probe.h"

#define SLP_EN_HW_REDUCED (1u << 5)
#define SLP_EN_PM1 (1u << 13)

__attribute__((noreturn)) void halt_forever(void)
{
	for (;;)
		__asm__ volatile("cli; hlt");
}

static void announce(const char *method)
{
	out_begin("poweroff");
	out_str("method", method);
	out_end();
}

static void gas_write(const struct gas *g, uint32_t v)
{
	if (g->space == 1 && g->bit_width == 16)
		outw((uint16_t)g->addr, (uint16_t)v);
	else if (g->space == 1)
		outb((uint16_t)g->addr, (uint8_t)v);
	else if (g->space == 0)
		mmio_write8(g->addr, (uint8_t)v);
}

/* Gives a method a few timer ticks to take effect before the next is tried. */
static void settle(void)
{
	uint64_t until = ticks + 5;

	while (ticks < until)
		wait_for_interrupt();
}

void power_off(void)
{
	uint32_t slp_typ = acpi.s5_type >= 0 ? (uint32_t)acpi.s5_type : 5;

	if (acpi.sleep_ctl.space != 0xff) {
		announce("acpi-sleep");
		gas_write(&acpi.sleep_ctl, (slp_typ & 7) << 2 | SLP_EN_HW_REDUCED);
		settle();
	}
	if (acpi.pm1a_cnt.space != 0xff && !acpi.hw_reduced) {
		announce("acpi-pm1a");
		gas_write(&acpi.pm1a_cnt, (slp_typ & 7) << 10 | SLP_EN_PM1);
		settle();
	}
	announce("debug-exit");
	outb(0x501, 0);
	settle();
	announce("i8042-reset");
	outb(0x64, 0xfe);
	settle();
	out_error("poweroff-failed");
}

static uint32_t button_seen;

/* The GED's interrupt as its _CRS gives it (the VMM's: GSI 23, edge, active high). */
void power_button_init(void)
{
	if (!acpi.has_ged)
		return;
	if (ioapic_route(acpi.ged.gsi, acpi.ged.level, acpi.ged.active_low, VEC_POWER) < 0) {
		out_begin("error");
		out_str("what", "no-irq-route");
		out_dec("gsi", acpi.ged.gsi);
		out_end();
	}
}

/* From the idle loop: one line per press, then, when asked, what systemd-logind does by
 * default. Reporting only is the default here: tests of a manager's shutdown timeout need a
 * guest that does not react. */
void power_button_poll(void)
{
	while (button_seen != power_button_presses) {
		button_seen++;
		out_begin("power-button");
		out_dec("gsi", acpi.ged.gsi);
		out_dec("count", button_seen);
		out_end();
		if (opts.power_button_poweroff)
			power_off();
	}
}
