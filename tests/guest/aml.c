/* Just enough AML to find virtio-mmio devices the way Linux's ACPI core does: every
 * Device() whose _HID is "LNRO0005", with the Memory32Fixed and Interrupt descriptors of its
 * _CRS buffer, and the SLP_TYPa of \_S5 for power-off. It is a scan, not an interpreter: it
 * accepts the data-object forms VMMs emit (Name(_HID, "..."), Name(_CRS, ResourceTemplate)),
 * not methods that compute them. A device's own objects are looked for up to the next
 * nested Device(), so a child's _HID is never taken for its parent's. */
#include "probe.h"

#define AML_NAME_OP 0x08
#define AML_BUFFER_OP 0x11
#define AML_PACKAGE_OP 0x12
#define AML_STRING_PREFIX 0x0d
#define AML_EXT_OP 0x5b
#define AML_DEVICE_OP 0x82

/* PkgLength at p: returns its value (counting its own bytes) and sets *ret_bytes. */
static uint32_t pkg_length(const uint8_t *p, uint32_t *ret_bytes)
{
	uint32_t extra = p[0] >> 6, len;

	if (extra == 0) {
		*ret_bytes = 1;
		return p[0] & 0x3f;
	}
	len = p[0] & 0x0f;
	for (uint32_t i = 1; i <= extra; i++)
		len |= (uint32_t)p[i] << (4 + 8 * (i - 1));
	*ret_bytes = extra + 1;
	return len;
}

/* An integer data object (ZeroOp, OneOp, BytePrefix, WordPrefix, DWordPrefix, QWordPrefix):
 * returns the bytes it takes, 0 if p holds none. */
static uint32_t aml_integer(const uint8_t *p, const uint8_t *end, uint64_t *ret)
{
	static const uint8_t sizes[] = { [0x0a] = 1, [0x0b] = 2, [0x0c] = 4, [0x0e] = 8 };

	if (p >= end)
		return 0;
	if (p[0] == 0x00 || p[0] == 0x01) {
		*ret = p[0];
		return 1;
	}
	if (p[0] >= sizeof(sizes) || !sizes[p[0]] || p + 1 + sizes[p[0]] > end)
		return 0;
	*ret = 0;
	for (uint32_t i = 0; i < sizes[p[0]]; i++)
		*ret |= (uint64_t)p[1 + i] << (8 * i);
	return 1 + sizes[p[0]];
}

/* Finds Name(<seg>, ...) in [p, end), stopping at a nested Device(); returns the data. */
static const uint8_t *find_name(const uint8_t *p, const uint8_t *end, const char *seg)
{
	for (; p + 5 < end; p++) {
		if (p[0] == AML_EXT_OP && p[1] == AML_DEVICE_OP)
			return NULL;
		if (p[0] == AML_NAME_OP && !memcmp(p + 1, seg, 4))
			return p + 5;
	}
	return NULL;
}

static void crs_irq(struct acpi_dev *d, uint8_t flags, uint32_t gsi)
{
	d->gsi = gsi;
	d->level = !(flags & 0x02);
	d->active_low = flags & 0x04;
	d->has_irq = true;
}

/* Resource descriptors of a _CRS buffer (ACPI 6.4, 6.4.2 and 6.4.3). */
static void crs_parse(const uint8_t *p, const uint8_t *end, struct acpi_dev *d)
{
	while (p < end) {
		uint32_t len;

		if (p[0] & 0x80) { /* large item */
			if (p + 3 > end)
				return;
			len = load_le16(p + 1);
			if (p + 3 + len > end)
				return;
			if (p[0] == 0x86 && len >= 9) { /* Memory32Fixed */
				d->base = load_le32(p + 4);
				d->size = load_le32(p + 8);
			} else if (p[0] == 0x89 && len >= 6 && p[4] >= 1) { /* Interrupt() */
				crs_irq(d, p[3], load_le32(p + 5));
			}
			p += 3 + len;
			continue;
		}
		len = p[0] & 7;
		if ((p[0] >> 3) == 0x0f) /* end tag */
			return;
		if ((p[0] >> 3) == 0x04 && len >= 2 && load_le16(p + 1)) { /* IRQ() */
			uint16_t mask = load_le16(p + 1);
			uint8_t info = len >= 3 ? p[3] : 0x01; /* default: edge, active high */
			uint32_t irq = 0;

			while (!(mask & 1u << irq))
				irq++;
			/* IRQ() encodes level as bit0=0 edge/1, inverse of Interrupt()'s bit1. */
			crs_irq(d, (uint8_t)((info & 1) ? 0x02 : 0x00) | ((info & 8) ? 0x04 : 0), irq);
		}
		p += 1 + len;
	}
}

/* A Device() whose _HID is the 8-character string hid, with its _UID and _CRS. */
static bool device_parse(const uint8_t *body, const uint8_t *end, const char *hid,
		struct acpi_dev *d)
{
	const uint8_t *v = find_name(body, end, "_HID");
	uint32_t n, nb, size_len;
	uint64_t uid = 0, size;

	if (!v || v + 10 > end || v[0] != AML_STRING_PREFIX || memcmp(v + 1, hid, 9))
		return false;
	v = find_name(body, end, "_UID");
	if (v && aml_integer(v, end, &uid))
		d->uid = (uint32_t)uid;
	v = find_name(body, end, "_CRS");
	if (!v || v[0] != AML_BUFFER_OP || v + 2 > end)
		return false;
	n = pkg_length(v + 1, &nb);
	/* BufferOp PkgLength BufferSize ByteList */
	size_len = aml_integer(v + 1 + nb, end, &size);
	if (v + 1 + n > end || !size_len)
		return false;
	crs_parse(v + 1 + nb + size_len, v + 1 + n, d);
	return true;
}

static uint32_t find_devices(const uint8_t *aml, uint32_t len, const char *hid,
		struct acpi_dev *out, uint32_t max)
{
	const uint8_t *end = aml + len;
	uint32_t found = 0;

	for (const uint8_t *p = aml + 36; p + 2 < end && found < max; p++) {
		uint32_t n, nb;

		if (p[0] != AML_EXT_OP || p[1] != AML_DEVICE_OP)
			continue;
		n = pkg_length(p + 2, &nb);
		if (p + 2 + n > end || n < nb + 4)
			continue;
		/* The body starts after the PkgLength; the device's NameString comes first and
		 * find_name() skips over it like any other bytes. */
		memset(&out[found], 0, sizeof(out[found]));
		if (device_parse(p + 2 + nb, p + 2 + n, hid, &out[found]))
			found++;
	}
	return found;
}

uint32_t aml_find_virtio(const uint8_t *aml, uint32_t len, struct acpi_dev *out, uint32_t max)
{
	uint32_t n = find_devices(aml, len, "LNRO0005", out, max), kept = 0;

	for (uint32_t i = 0; i < n; i++)
		if (out[i].base != 0) /* a transport without registers is of no use */
			out[kept++] = out[i];
	return kept;
}

/* The Generic Event Device (ACPI0013) whose interrupt is the power button: 0 or -1. */
int aml_find_ged(const uint8_t *aml, uint32_t len, struct acpi_dev *ret)
{
	return find_devices(aml, len, "ACPI0013", ret, 1) == 1 && ret->has_irq ? 0 : -1;
}

/* Name(\_S5, Package() { SLP_TYPa, ... }): the value to write for soft-off. */
int aml_find_s5(const uint8_t *aml, uint32_t len)
{
	const uint8_t *end = aml + len;
	uint32_t nb;
	uint64_t v;

	for (const uint8_t *p = aml + 36; p + 8 < end; p++) {
		if (p[0] != AML_NAME_OP || memcmp(p + 1, "_S5_", 4) || p[5] != AML_PACKAGE_OP)
			continue;
		pkg_length(p + 6, &nb);
		/* after PkgLength: NumElements, then the first element */
		if (aml_integer(p + 6 + nb + 1, end, &v))
			return (int)v;
		return -1;
	}
	return -1;
}
