/*
 * How a guest ends the VM: the FADT's SLEEP_CONTROL_REG (an I/O port; writing
 * SLP_TYP = \_S5's value with SLP_EN powers off) and the i8042 reset command
 * (0xfe to port 0x64), which a microVM treats as the end of the VM too.
 */
#pragma once

struct vm;
struct vcpus;

/* vcpus is where the exit is reported; it may be set after registration. */
struct power {
	struct vcpus *vcpus;
};

int power_register(struct vm *vm, struct power *p);
