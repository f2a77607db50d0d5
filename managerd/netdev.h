/*
 * Host network plumbing for guest NICs: Linux bridges and TAP devices, made
 * with ioctls and rtnetlink only (never by running ip or brctl).
 *
 * TAP ownership: a TAP is created without TUNSETPERSIST and its fd is handed
 * to the VMM with QMP getfd. The kernel then removes the TAP by itself when the
 * last fd closes (VMM's netdev_del, VMM exit, or our rollback closing the fd),
 * so nothing can leak when the daemon or the VMM dies.
 */
#pragma once

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "mac.h"


/* 0 if name is a usable interface name (1..15 chars of [A-Za-z0-9_.-], not "." or ".."),
 * else -EINVAL. Checked before any system call sees the name. */
int netdev_name_validate(const char *name);
/* Same, but allows one "%d" for kernel-chosen numbering ("mvtap%d"). */
int netdev_name_pattern_validate(const char *name);

/* The host side's MAC for a guest MAC, as libvirt does: first byte 0xFE (0xFA if it is 0xFE). */
void netdev_tap_mac(const uint8_t guest[MAC_LEN], uint8_t ret[MAC_LEN]);

/* 1 if an interface of that name exists, 0 if not, -errno. */
int netdev_exists(const char *name);
/* 1 if name is a bridge, 0 if it is not or is absent. */
int netdev_is_bridge(const char *name);
int netdev_get_mtu(const char *name, unsigned *ret);
int netdev_get_mac(const char *name, uint8_t ret[MAC_LEN]);
int netdev_set_up(const char *name, bool up);
/* The name of the bridge name is enslaved to ("" if none). */
int netdev_get_master(const char *name, char ret[IFNAMSIZ]);

/* Makes sure bridge exists. Creates it only if create is true (-ENODEV otherwise);
 * *ret_created says whether it did. Brings it up only if it made it now or ours says mvirtd
 * made it earlier: an administrator's bridge is never changed (up/down, MTU). */
int netdev_bridge_ensure(const char *bridge, bool create, bool ours, bool *ret_created);
/* Number of interfaces enslaved to bridge, or -errno. */
int netdev_bridge_port_count(const char *bridge);
int netdev_bridge_delete(const char *bridge);
/* Deletes the link name (RTM_DELLINK): a TAP goes even while another process holds its fd. */
int netdev_link_delete(const char *name);

/*
 * Creates a TAP (IFF_TAP|IFF_NO_PI|IFF_VNET_HDR) called name (which may be a
 * "%d" pattern; NULL means "mvtap%d"), sets its MAC from guest_mac, takes the
 * bridge's MTU, enslaves it to bridge (if not NULL) and brings it up.
 * -EEXIST if a device called name already exists. On failure nothing is left.
 * On success the caller owns *ret_fd and the TAP lives as long as that fd.
 */
int netdev_tap_create(const char *name, const uint8_t guest_mac[MAC_LEN],
		      const char *bridge, char ret_name[IFNAMSIZ], int *ret_fd);

/*
 * Opens the TAP name that already exists (type='ethernet': the user made it and owns its
 * host side) with IFF_TAP|IFF_NO_PI|IFF_VNET_HDR, so the VMM gets a descriptor instead of
 * opening /dev/net/tun itself. -ENODEV if there is no interface called name; the
 * TUNSETIFF -errno if it is not a TAP or was made without IFF_VNET_HDR.
 */
int netdev_tap_attach(const char *name, int *ret_fd);
