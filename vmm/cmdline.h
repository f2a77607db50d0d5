/*
 * mvirt-vmm's command line, in StratoVirt/QEMU syntax. Parsing only checks
 * syntax and fills struct vmm_config; the builder opens files and devices.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "devices/serial.h"
#include "hotplug.h"

#define CMDLINE_MAX_DEVICES (HOTPLUG_BLK_SLOTS_MAX + HOTPLUG_NET_SLOTS_MAX)
#define CMDLINE_MAX_STRINGS 64
#define VMM_DEFAULT_MEM (256ULL << 20)

struct drive_opt {
	const char *id;
	const char *file;
	bool read_only;
	bool direct;
	int fd;
};

struct netdev_opt {
	const char *id;
	const char *ifname;
	int fd;
};

struct device_opt {
	enum slot_kind kind;
	const char *id;
	const char *backend; /* drive= or netdev=; NULL for a MAC-only NIC */
	const char *serial;
	const char *mac;
};

struct vmm_config {
	uint64_t mem_size;
	unsigned n_vcpus;
	const char *kernel;
	const char *initrd;
	const char *append;
	enum hotplug_model hotplug; /* -machine microvm,hotplug=slots|acpi */
	struct drive_opt drives[HOTPLUG_BLK_SLOTS_MAX];
	unsigned n_drives;
	struct netdev_opt netdevs[HOTPLUG_NET_SLOTS_MAX];
	unsigned n_netdevs;
	struct device_opt devices[CMDLINE_MAX_DEVICES];
	unsigned n_devices;
	const char *qmp_path;
	struct console_config console;
	const char *pidfile;
	const char *log_file; /* -D */
	const char *dump_acpi;
	const char *runas;   /* -runas USER[:GROUP] */
	const char *sandbox; /* -sandbox DIR: the runtime directory left visible */
	bool daemonize;
	bool disable_seccomp;
	bool help;
	bool version;
	/* Copies of option values the fields above point into. */
	char *strings[CMDLINE_MAX_STRINGS];
	unsigned n_strings;
};

/* 0, or -EINVAL after printing a sentence naming the bad option to stderr. */
int cmdline_parse(int argc, char **argv, struct vmm_config *ret);
void vmm_config_done(struct vmm_config *cfg);
void cmdline_usage(const char *prog);
/* "52:54:00:12:34:56" -> bytes: 0 or -EINVAL. */
