/*
 * What mvirtd (and mvirtctl) and mvirt-vmm must agree on, written once. The VMM's own
 * names (HOTPLUG_*) are defined from these; the daemon's (CONF_*, STORE_*) stay beside
 * the XML schema they come from and are tied to these with _Static_assert, so a change
 * on one side that the other does not follow fails to build.
 */
#pragma once

/* Hot-plug slots the VMM creates at boot (DESIGN.md, "How hotplug works"): disks are
 * vda..vdf, NICs eth0 and eth1. */
#define MVIRT_BLK_SLOTS 6
#define MVIRT_NET_SLOTS 2
/* The dynamic model (-machine microvm,hotplug=acpi; <hotplug model='acpi'/> in a domain):
 * slots the guest learns of only when a device is plugged in, so there can be many. */
#define MVIRT_ACPI_BLK_SLOTS 32
#define MVIRT_ACPI_NET_SLOTS 8
/* The models' names, as -machine microvm,hotplug= takes them and <hotplug model=> writes
 * them. */
#define MVIRT_HOTPLUG_SLOTS "slots"
#define MVIRT_HOTPLUG_ACPI "acpi"

/* Longest QMP id (device id, node-name, netdev id) in characters, without the NUL. The
 * daemon uses a device's alias as its id, so no alias may be longer. */
#define MVIRT_ID_MAX 63
/* The daemon names the fd it passes with getfd for a device "fd-<alias>"; the VMM takes
 * getfd names up to MVIRT_FDNAME_MAX characters. */
#define MVIRT_FDNAME_PREFIX "fd-"
#define MVIRT_FDNAME_MAX (MVIRT_ID_MAX + (int)sizeof(MVIRT_FDNAME_PREFIX) - 1)

/* The files of one running domain in <runtime-dir>/<name>/: the daemon passes them to the
 * VMM (-qmp, -serial, -pidfile) and mvirtctl console connects to the console socket. */
#define MVIRT_RUNTIME_QMP_SOCKET "qmp.sock"
#define MVIRT_RUNTIME_CONSOLE_SOCKET "console.sock"
#define MVIRT_RUNTIME_CONSOLE_LOG "console.log"
#define MVIRT_RUNTIME_PIDFILE "vmm.pid"
