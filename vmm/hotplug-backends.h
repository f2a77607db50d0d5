/*
 * The host side of hot-plug: opening a disk image or a TAP (or adopting a descriptor passed
 * with getfd) with the checks and sentences a user can act on, under the sandbox's rules
 * (hotplug_set_sandbox). The slot rules in hotplug.c decide what to open; these functions
 * only open it, and need the files and devices they name (the unit tests of the slot rules
 * use real files and, as root, real TAPs in a private network namespace).
 */
#pragma once

#include <stdint.h>
#include <sys/stat.h>

#include "hotplug.h"

/* The fd of the image spec names (its fd duplicated, or its path opened), or -errno with
 * *ret_error set. */
int backend_image_open(const struct blockdev_spec *spec, char **ret_error);
/* The size in bytes of an open image (a regular file or a block device); what names it in
 * sentences. 0 or -errno. */
int backend_image_size(int fd, const struct stat *st, const char *what, uint64_t *ret,
	char **ret_error);
/* A non-blocking fd of the existing TAP ifname, with IFF_VNET_HDR, or -errno. */
int backend_tap_open(const char *ifname, char **ret_error);
/* A duplicate of src, which must be such a TAP (passed with getfd for netdev id); its name in
 * ret_ifname (IFNAMSIZ bytes). */
int backend_tap_adopt(int src, const char *id, char *ret_ifname, char **ret_error);
