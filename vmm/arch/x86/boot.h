/*
 * Loading a kernel and preparing the boot CPU: a PVH ELF (Xen note, 32-bit
 * entry, EBX = hvm_start_info), an ELF with a 64-bit entry (RSI =
 * boot_params), or a bzImage through the 64-bit boot protocol.
 */
#pragma once

#include <stdint.h>

#include "arch/x86/e820.h"

/* Largest kernel and initrd image the VMM reads into memory. */
#define BOOT_KERNEL_MAX (512ULL << 20)
#define BOOT_INITRD_MAX (1ULL << 30)

enum boot_mode {
	BOOT_MODE_PVH,     /* 32-bit protected mode, no paging, EBX = start info */
	BOOT_MODE_LINUX64, /* long mode, identity map of 4 GiB, RSI = boot_params */
};

struct boot_entry {
	enum boot_mode mode;
	uint64_t rip;
	uint64_t info; /* start info or boot_params address */
};

struct boot_config {
	const char *kernel;
	const char *initrd; /* or NULL */
	const char *cmdline;
	uint64_t rsdp;
};

struct guest_mem;

/* Errors are logged as sentences naming the file at fault. */
int boot_load(struct guest_mem *mem, const struct boot_config *cfg, struct boot_entry *ret);
int boot_setup_vcpu(int vcpu_fd, const struct boot_entry *entry);
