/* Small freestanding helpers: the C library functions GCC may call, CRC-32, number parsing
 * and a bump allocator over zeroed .bss. */
#include "probe.h"

void *memset(void *s, int c, size_t n)
{
	uint8_t *p = s;

	while (n--)
		*p++ = (uint8_t)c;
	return s;
}

void *memcpy(void *d, const void *s, size_t n)
{
	uint8_t *dp = d;
	const uint8_t *sp = s;

	while (n--)
		*dp++ = *sp++;
	return d;
}

void *memmove(void *d, const void *s, size_t n)
{
	uint8_t *dp = d;
	const uint8_t *sp = s;

	if (dp < sp)
		return memcpy(d, s, n);
	while (n--)
		dp[n] = sp[n];
	return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const uint8_t *pa = a, *pb = b;

	for (; n; n--, pa++, pb++)
		if (*pa != *pb)
			return *pa - *pb;
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

bool str_starts(const char *s, const char *prefix)
{
	while (*prefix)
		if (*s++ != *prefix++)
			return false;
	return true;
}

/* CRC-32 (IEEE 802.3, reflected 0xEDB88320), as zlib.crc32 computes it. A 16-entry table
 * (two lookups a byte) instead of 256 entries: no table to build at CPL0, ~6 k instructions
 * a sector. */
static const uint32_t crc_nibble[16] = {
	0x00000000, 0x1db71064, 0x3b6e20c8, 0x26d930ac, 0x76dc4190, 0x6b6b51f4, 0x4db26158,
	0x5005713c, 0xedb88320, 0xf00f9344, 0xd6d6a3e8, 0xcb61b38c, 0x9b64c2b0, 0x86d3d2d4,
	0xa00ae278, 0xbdbdf21c,
};

uint32_t crc32(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint32_t c = 0xffffffff;

	while (len--) {
		c ^= *p++;
		c = (c >> 4) ^ crc_nibble[c & 15];
		c = (c >> 4) ^ crc_nibble[c & 15];
	}
	return ~c;
}

uint16_t load_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

uint32_t load_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

uint64_t load_le64(const uint8_t *p)
{
	return load_le32(p) | (uint64_t)load_le32(p + 4) << 32;
}

static int digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return 99;
}

bool parse_uint(const char **s, uint64_t *ret)
{
	const char *p = *s;
	unsigned base = 10;
	uint64_t v = 0;
	int d;

	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		base = 16;
		p += 2;
	}
	if (digit_value(*p) >= (int)base)
		return false;
	while ((d = digit_value(*p)) < (int)base) {
		v = v * base + (unsigned)d;
		p++;
	}
	*s = p;
	*ret = v;
	return true;
}

/* Dotted quad into a host-order value (10.0.0.2 is 0x0a000002). */
bool parse_ipv4(const char **s, uint32_t *ret)
{
	const char *p = *s;
	uint32_t ip = 0;
	uint64_t part;

	for (int i = 0; i < 4; i++) {
		if (i > 0 && *p++ != '.')
			return false;
		if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
			return false;
		if (!parse_uint(&p, &part) || part > 255)
			return false;
		ip = ip << 8 | (uint32_t)part;
	}
	*s = p;
	*ret = ip;
	return true;
}

/* Queues and buffers come from here. The pool is .bss, zeroed by the loader; nothing is
 * ever freed, and the pool's size bounds what the probe can set up. */
static uint8_t pool[1024 * 1024] __attribute__((aligned(4096)));
static size_t pool_used;

void *pool_alloc(size_t size, size_t align)
{
	size_t at = ALIGN_UP(pool_used, align);

	if (at + size > sizeof(pool))
		return NULL;
	pool_used = at + size;
	return pool + at;
}
