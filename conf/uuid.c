/* RFC 4122 UUIDs as domains use them: random (version 4) ones, checks, lower-case form. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <sys/random.h>

#include "domain-conf.h"

int uuid_generate(char *buf)
{
	uint8_t b[16];
	ssize_t n;

	do
		n = getrandom(b, sizeof(b), 0);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(b))
		return n < 0 ? -errno : -EIO;
	b[6] = (b[6] & 0x0f) | 0x40; /* version 4 */
	b[8] = (b[8] & 0x3f) | 0x80; /* RFC 4122 variant */
	snprintf(buf, DOMAIN_UUID_STRING_MAX + 1,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
		 b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
		 b[15]);
	return 0;
}

bool uuid_is_valid(const char *s)
{
	if (!s)
		return false;
	for (size_t i = 0; i < DOMAIN_UUID_STRING_MAX; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
			return false;
	}
	return s[DOMAIN_UUID_STRING_MAX] == '\0';
}

int uuid_normalize(const char *s, char *buf)
{
	if (!uuid_is_valid(s))
		return -EINVAL;
	for (size_t i = 0; i <= DOMAIN_UUID_STRING_MAX; i++)
		buf[i] = (char)tolower((unsigned char)s[i]);
	return 0;
}
