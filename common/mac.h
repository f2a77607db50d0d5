/*
 * Ethernet MAC addresses as both programs write them: mvirtd puts them in XML, in
 * `-device virtio-net-device,mac=` and in the TAP's address; mvirt-vmm reads them from its
 * command line and reports them in query-slots. One parser and one formatter, so the two
 * programs cannot disagree on what a MAC looks like.
 */
#pragma once

#include <stdint.h>

#define MAC_LEN 6
/* "52:54:00:12:34:56" and its NUL: the size of a buffer for mac_format(). */
#define MAC_STR_SIZE 18

/* "52:54:00:12:34:56" (either case, exactly two hex digits a byte) → bytes; -EINVAL if
 * malformed (ret untouched). Unicast is not checked here. */
int mac_parse(const char *s, uint8_t ret[MAC_LEN]);
/* Bytes → "52:54:00:12:34:56" (lower case). */
void mac_format(const uint8_t mac[MAC_LEN], char ret[MAC_STR_SIZE]);
