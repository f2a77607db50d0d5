#include "config.h"

#include <string.h>

#include "arch/x86/layout.h"
#include "devices/power.h"
#include "kvm.h"
#include "log.h"
#include "vcpu.h"

#define SLP_EN 0x20
#define SLP_TYP_SHIFT 2
#define SLP_TYP_MASK 0x7
#define I8042_CMD_RESET 0xfe

static void sleep_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
	struct power *p = opaque;

	if (!is_write) {
		memset(data, 0, len); /* SLEEP_STATUS_REG: never woken */
		return;
	}
	if (off == 0 && (data[0] & SLP_EN) &&
		((data[0] >> SLP_TYP_SHIFT) & SLP_TYP_MASK) == LAYOUT_S5_SLP_TYP) {
		log_info("The guest powered off.");
		vcpus_request_exit(p->vcpus, VM_EXIT_POWEROFF);
	}
}

static void i8042_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len,
	bool is_write)
{
	struct power *p = opaque;

	if (!is_write) {
		memset(data, 0, len); /* status: no data, input buffer empty */
		return;
	}
	if (data[0] == I8042_CMD_RESET) {
		log_info("The guest asked for a reset through the i8042.");
		vcpus_request_exit(p->vcpus, VM_EXIT_RESET);
	}
}

int power_button_press(struct power *p)
{
	int r;

	r = vm_irq_line(p->vm, LAYOUT_GED_GSI, true);
	if (r >= 0)
		r = vm_irq_line(p->vm, LAYOUT_GED_GSI, false);
	if (r < 0)
		return log_error_errno(r, "Failed to raise the power button's GSI %u: %m",
			LAYOUT_GED_GSI);
	p->presses++;
	log_info("Power button pressed (%u since boot; GSI %u).", p->presses, LAYOUT_GED_GSI);
	return 0;
}

int power_register(struct vm *vm, struct power *p)
{
	int r;

	p->vm = vm;
	r = vm_bus_add(vm, BUS_PIO, LAYOUT_SLEEP_CTL_PORT, 2, sleep_io, p);
	if (r < 0)
		return r;
	return vm_bus_add(vm, BUS_PIO, LAYOUT_I8042_PORT, 1, i8042_io, p);
}
