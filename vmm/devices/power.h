/*
 * How a guest ends the VM: the FADT's SLEEP_CONTROL_REG (an I/O port; writing
 * SLP_TYP = \_S5's value with SLP_EN powers off) and the i8042 reset command
 * (0xfe to port 0x64), which a microVM treats as the end of the VM too; and
 * the other way round, the ACPI power button the host presses (QMP
 * system_powerdown) through the DSDT's Generic Event Device.
 */
#pragma once

struct vm;
struct vcpus;

/* vcpus is where the exit is reported; it may be set after registration. */
struct power {
	struct vcpus *vcpus;
	struct vm *vm;
	unsigned presses; /* power button presses since boot, for the log */
};

int power_register(struct vm *vm, struct power *p);
/* Presses the ACPI power button: an edge on the GED's GSI (LAYOUT_GED_GSI); 0 or -errno. */
int power_button_press(struct power *p);
