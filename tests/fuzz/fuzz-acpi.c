/* libFuzzer target: the ACPI tables and the AML encoder with fuzzed inputs. The first part of
 * the input is a machine (vCPU count, virtio-mmio slots with their addresses, sizes and GSIs,
 * more slots than ACPI_MAX_VIRTIO too); the rest are names and strings handed to the AML
 * encoder. What acpi_build() accepts must come out whole: every table inside the blob, every
 * checksum zero, and a DSDT whose AML a small length walker can follow to its exact end. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/acpi.h"
#include "arch/x86/aml.h"

#define HEADER_LEN 36
#define SLOT_BYTES 16 /* base 8, size 4, gsi 4 */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

/* PkgLength (ACPI 6.5, 20.2.4): the end of the package it opens, or 0 when it overruns. */
static size_t pkg_end(const uint8_t *a, size_t at, size_t end)
{
	size_t n = a[at] >> 6, len;

	if (at + 1 + n > end)
		return 0;
	len = n ? a[at] & 0x0f : a[at] & 0x3f;
	for (size_t i = 0; i < n; i++)
		len |= (size_t)a[at + 1 + i] << (4 + 8 * i);
	return len == 0 || at + len > end ? 0 : at + len;
}

/* A NameString: its end, or 0. */
static size_t name_end(const uint8_t *a, size_t at, size_t end)
{
	while (at < end && (a[at] == '\\' || a[at] == '^'))
		at++;
	if (at >= end)
		return 0;
	if (a[at] == 0)
		return at + 1;
	if (a[at] == 0x2e)
		return at + 9 <= end ? at + 9 : 0;
	if (a[at] == 0x2f)
		return at + 2 <= end && at + 2 + 4 * (size_t)a[at + 1] <= end ?
			at + 2 + 4 * (size_t)a[at + 1] : 0;
	return at + 4 <= end ? at + 4 : 0;
}

static size_t data_end(const uint8_t *a, size_t at, size_t end)
{
	static const uint8_t fixed[256] = { [0x00] = 1, [0x01] = 1, [0xff] = 1, [0x0a] = 2,
		[0x0b] = 3, [0x0c] = 5, [0x0e] = 9 };

	if (at >= end)
		return 0;
	if (fixed[a[at]])
		return at + fixed[a[at]] <= end ? at + fixed[a[at]] : 0;
	if (a[at] == 0x0d) {
		const uint8_t *nul = memchr(a + at, 0, end - at);

		return nul ? (size_t)(nul - a) + 1 : 0;
	}
	if (a[at] == 0x11 || a[at] == 0x12) /* Buffer, Package */
		return at + 1 < end ? pkg_end(a, at + 1, end) : 0;
	return 0;
}

/* The terms the encoder writes: Scope, Device, Method, Name, Notify. True when they fill
 * [at, end) exactly. */
static bool terms_walk(const uint8_t *a, size_t at, size_t end, int depth)
{
	while (at < end) {
		size_t body, next;
		bool method = false;

		if (depth > 8)
			return false;
		if (a[at] == 0x08 || a[at] == 0x86) { /* Name, Notify: NameString then data */
			at = name_end(a, at + 1, end);
			at = at ? data_end(a, at, end) : 0;
			if (!at)
				return false;
			continue;
		}
		if (a[at] == 0x10)
			at += 1;
		else if (a[at] == 0x14)
			at += 1, method = true;
		else if (a[at] == 0x5b && at + 1 < end && a[at + 1] == 0x82)
			at += 2;
		else
			return false;
		if (at >= end || !(next = pkg_end(a, at, end)))
			return false;
		body = name_end(a, at + 1 + (a[at] >> 6), next);
		if (body && method)
			body = body < next ? body + 1 : 0; /* MethodFlags */
		if (!body || !terms_walk(a, body, next, depth + 1))
			return false;
		at = next;
	}
	return at == end;
}

static void tables_check(const struct acpi_tables *t)
{
	const uint8_t *rsdp = t->blob + t->offset[ACPI_TABLE_RSDP];
	const uint8_t *dsdt = t->blob + t->offset[ACPI_TABLE_DSDT];

	for (int i = 0; i < _ACPI_TABLE_MAX; i++) {
		if (t->offset[i] > t->len || t->size[i] > t->len - t->offset[i])
			abort();
		if (i != ACPI_TABLE_RSDP && sum(t->blob + t->offset[i], t->size[i]) != 0)
			abort();
	}
	if (sum(rsdp, 20) != 0 || sum(rsdp, 36) != 0)
		abort();
	if (!terms_walk(dsdt, HEADER_LEN, t->size[ACPI_TABLE_DSDT], 0))
		abort();
}

static void machine_fuzz(const uint8_t *data, size_t size)
{
	static struct acpi_tables t;
	struct acpi_config cfg = { 0 };
	unsigned want;

	cfg.n_vcpus = data[0];
	want = data[1] % (ACPI_MAX_VIRTIO + 4);
	for (unsigned i = 0; i < want && i < ACPI_MAX_VIRTIO && 2 + (i + 1) * SLOT_BYTES <= size;
		i++) {
		const uint8_t *s = data + 2 + i * SLOT_BYTES;

		memcpy(&cfg.virtio[i].base, s, 8);
		memcpy(&cfg.virtio[i].size, s + 8, 4);
		memcpy(&cfg.virtio[i].gsi, s + 12, 4);
	}
	cfg.n_virtio = want;
	memset(&t, 0, sizeof(t));
	if (acpi_build(&cfg, &t) == 0)
		tables_check(&t);
}

/* Names and strings from the input, through the encoder: a bounded buffer, an error state,
 * and what was accepted reads back whole: one NameString, or Device(Name(text, "text")). */
static void encoder_fuzz(const char *text)
{
	struct aml_buf name, dev, body, str;

	aml_buf_init(&name);
	aml_buf_init(&dev);
	aml_buf_init(&body);
	aml_buf_init(&str);
	aml_name_string(&name, text);
	/* The encoder refuses characters ACPI does not allow in a NameSeg, so whatever it
	 * accepted must read back as exactly one NameString. */
	if (!aml_buf_error(&name) &&
		name_end(name.data, 0, name.len) != name.len)
		abort();
	aml_string(&str, text);
	aml_name(&body, text, &str);
	aml_device(&dev, text, &body);
	if (dev.len > AML_MAX || body.len > AML_MAX)
		abort();
	if (!aml_buf_error(&dev) && !terms_walk(dev.data, 0, dev.len, 0))
		abort();
	aml_buf_done(&name);
	aml_buf_done(&dev);
	aml_buf_done(&body);
	aml_buf_done(&str);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t cut;
	char *text;

	if (size < 2)
		return 0;
	cut = 2 + (size_t)(data[1] % (ACPI_MAX_VIRTIO + 4)) * SLOT_BYTES;
	machine_fuzz(data, size);
	if (cut >= size)
		return 0;
	text = strndup((const char *)data + cut, size - cut);
	if (text) {
		encoder_fuzz(text);
		free(text);
	}
	return 0;
}
