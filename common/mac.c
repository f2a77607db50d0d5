#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "mac.h"

static int hex_digit(char c)
{
	return isdigit((unsigned char)c) ? c - '0' : tolower((unsigned char)c) - 'a' + 10;
}

int mac_parse(const char *s, uint8_t ret[MAC_LEN])
{
	uint8_t mac[MAC_LEN];

	if (!s || strlen(s) != MAC_STR_SIZE - 1)
		return -EINVAL;
	for (int i = 0; i < MAC_LEN; i++) {
		const char *p = s + i * 3;

		if (!isxdigit((unsigned char)p[0]) || !isxdigit((unsigned char)p[1]))
			return -EINVAL;
		if (i < MAC_LEN - 1 && p[2] != ':')
			return -EINVAL;
		mac[i] = (uint8_t)(hex_digit(p[0]) << 4 | hex_digit(p[1]));
	}
	memcpy(ret, mac, sizeof(mac));
	return 0;
}

void mac_format(const uint8_t mac[MAC_LEN], char ret[MAC_STR_SIZE])
{
	snprintf(ret, MAC_STR_SIZE, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2],
		 mac[3], mac[4], mac[5]);
}
