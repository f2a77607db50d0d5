#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/aml.h"

/* Opcodes from the ACPI specification, chapter 20 (AML grammar). */
#define AML_ZERO 0x00
#define AML_ONE 0x01
#define AML_NAME_OP 0x08
#define AML_BYTE_PREFIX 0x0a
#define AML_WORD_PREFIX 0x0b
#define AML_DWORD_PREFIX 0x0c
#define AML_STRING_PREFIX 0x0d
#define AML_QWORD_PREFIX 0x0e
#define AML_SCOPE_OP 0x10
#define AML_BUFFER_OP 0x11
#define AML_PACKAGE_OP 0x12
#define AML_METHOD_OP 0x14
#define AML_EXT_OP 0x5b
#define AML_DEVICE_OP 0x82
#define AML_NOTIFY_OP 0x86
#define AML_LOCAL0 0x60
#define AML_ARG0 0x68
#define AML_STORE_OP 0x70
#define AML_LEQUAL_OP 0x93
#define AML_IF_OP 0xa0
#define AML_WHILE_OP 0xa2
#define AML_BREAK_OP 0xa5
#define AML_AND_OP 0x7b
#define AML_RETURN_OP 0xa4
#define AML_EXT_LOAD_TABLE_OP 0x1f
#define AML_EXT_REGION_OP 0x80
#define AML_EXT_FIELD_OP 0x81
#define AML_FIELD_DWORD_ACC 0x03 /* DWordAcc, NoLock, Preserve */
#define AML_METHOD_ARGS_MAX 7
#define AML_ROOT 0x5c
#define AML_PARENT 0x5e
#define AML_DUAL_NAME 0x2e
#define AML_MULTI_NAME 0x2f
#define AML_NAME_SEG 4
#define AML_MAX_SEGS 8

void aml_buf_init(struct aml_buf *b)
{
	*b = (struct aml_buf){ 0 };
}

void aml_buf_done(struct aml_buf *b)
{
	free(b->data);
	*b = (struct aml_buf){ 0 };
}

int aml_buf_error(const struct aml_buf *b)
{
	return b->error;
}

void aml_bytes(struct aml_buf *b, const void *data, size_t len)
{
	/* Nothing to copy: an empty child has data == NULL, and memcpy(NULL, NULL, 0) is
	 * undefined even though it copies nothing. */
	if (b->error || len == 0)
		return;
	if (len > AML_MAX - b->len) {
		b->error = -E2BIG;
		return;
	}
	if (b->len + len > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 256;
		uint8_t *p;

		while (cap < b->len + len)
			cap *= 2;
		p = realloc(b->data, cap);
		if (!p) {
			b->error = -ENOMEM;
			return;
		}
		b->data = p;
		b->cap = cap;
	}
	memcpy(b->data + b->len, data, len);
	b->len += len;
}

static void aml_byte(struct aml_buf *b, uint8_t v)
{
	aml_bytes(b, &v, 1);
}

static void aml_le(struct aml_buf *b, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		aml_byte(b, (uint8_t)(v >> (8 * i)));
}

void aml_pkg_length(struct aml_buf *b, size_t len)
{
	/* The length includes the PkgLength bytes themselves. */
	if (len + 1 < 0x40) {
		aml_byte(b, (uint8_t)(len + 1));
		return;
	}
	for (unsigned n = 2; n <= 4; n++) {
		size_t total = len + n;

		if (total < (1ULL << (4 + 8 * (n - 1)))) {
			aml_byte(b, (uint8_t)(((n - 1) << 6) | (total & 0xf)));
			for (unsigned i = 1; i < n; i++)
				aml_byte(b, (uint8_t)(total >> (4 + 8 * (i - 1))));
			return;
		}
	}
	b->error = -E2BIG;
}

/* ACPI NameSeg characters: a LeadNameChar (A-Z, _) then DigitChar or LeadNameChar. */
static bool aml_seg_valid(const char *seg, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		char c = seg[i];

		if (!((c >= 'A' && c <= 'Z') || c == '_' || (i > 0 && c >= '0' && c <= '9')))
			return false;
	}
	return true;
}

static int aml_segments(const char *path, char segs[AML_MAX_SEGS][AML_NAME_SEG])
{
	unsigned n = 0;

	while (*path) {
		size_t l = strcspn(path, ".");

		if (l < 1 || l > AML_NAME_SEG || n >= AML_MAX_SEGS || !aml_seg_valid(path, l))
			return -EINVAL;
		memset(segs[n], '_', AML_NAME_SEG);
		memcpy(segs[n], path, l);
		n++;
		path += l;
		if (*path == '.' && !*++path)
			return -EINVAL; /* a trailing dot */
	}
	return n;
}

void aml_name_string(struct aml_buf *b, const char *path)
{
	char segs[AML_MAX_SEGS][AML_NAME_SEG];
	size_t prefix = 0;
	int n;

	/* Either one root prefix or parent prefixes, only in front; the checks come first so that
	 * a refused name writes nothing. */
	if (*path == '\\')
		prefix = 1;
	else
		prefix = strspn(path, "^");
	if (prefix > AML_MAX_SEGS) {
		b->error = b->error ?: -EINVAL;
		return;
	}
	n = aml_segments(path + prefix, segs);
	if (n < 0) {
		b->error = b->error ?: n;
		return;
	}
	for (size_t i = 0; i < prefix; i++)
		aml_byte(b, path[i] == '\\' ? AML_ROOT : AML_PARENT);
	if (n == 0)
		aml_byte(b, 0); /* NullName */
	else if (n == 2)
		aml_byte(b, AML_DUAL_NAME);
	else if (n > 2) {
		aml_byte(b, AML_MULTI_NAME);
		aml_byte(b, (uint8_t)n);
	}
	aml_bytes(b, segs, (size_t)n * AML_NAME_SEG);
}

void aml_integer(struct aml_buf *b, uint64_t v)
{
	if (v == 0)
		aml_byte(b, AML_ZERO);
	else if (v == 1)
		aml_byte(b, AML_ONE);
	else if (v <= 0xff) {
		aml_byte(b, AML_BYTE_PREFIX);
		aml_le(b, v, 1);
	} else if (v <= 0xffff) {
		aml_byte(b, AML_WORD_PREFIX);
		aml_le(b, v, 2);
	} else if (v <= 0xffffffff) {
		aml_byte(b, AML_DWORD_PREFIX);
		aml_le(b, v, 4);
	} else {
		aml_byte(b, AML_QWORD_PREFIX);
		aml_le(b, v, 8);
	}
}

void aml_string(struct aml_buf *b, const char *s)
{
	aml_byte(b, AML_STRING_PREFIX);
	aml_bytes(b, s, strlen(s) + 1);
}

static void aml_child(struct aml_buf *b, const struct aml_buf *child)
{
	if (child->error)
		b->error = b->error ?: child->error;
	else
		aml_bytes(b, child->data, child->len);
}

void aml_name(struct aml_buf *b, const char *path, const struct aml_buf *value)
{
	aml_byte(b, AML_NAME_OP);
	aml_name_string(b, path);
	aml_child(b, value);
}

/* Op PkgLength NameString body: Scope and Device. */
static void aml_named_block(struct aml_buf *b, const char *path, const struct aml_buf *body)
{
	struct aml_buf inner;

	aml_buf_init(&inner);
	aml_name_string(&inner, path);
	aml_child(&inner, body);
	aml_pkg_length(b, inner.len);
	aml_child(b, &inner);
	aml_buf_done(&inner);
}

void aml_scope(struct aml_buf *b, const char *path, const struct aml_buf *body)
{
	aml_byte(b, AML_SCOPE_OP);
	aml_named_block(b, path, body);
}

void aml_device(struct aml_buf *b, const char *path, const struct aml_buf *body)
{
	aml_byte(b, AML_EXT_OP);
	aml_byte(b, AML_DEVICE_OP);
	aml_named_block(b, path, body);
}

void aml_method(struct aml_buf *b, const char *path, uint8_t n_args, const struct aml_buf *body)
{
	struct aml_buf inner;

	if (n_args > AML_METHOD_ARGS_MAX) {
		b->error = -EINVAL;
		return;
	}
	aml_buf_init(&inner);
	aml_name_string(&inner, path);
	aml_byte(&inner, n_args); /* MethodFlags: not serialized, sync level 0 */
	aml_child(&inner, body);
	aml_byte(b, AML_METHOD_OP);
	aml_pkg_length(b, inner.len);
	aml_child(b, &inner);
	aml_buf_done(&inner);
}

void aml_notify(struct aml_buf *b, const char *path, uint64_t value)
{
	aml_byte(b, AML_NOTIFY_OP);
	aml_name_string(b, path);
	aml_integer(b, value);
}

void aml_operation_region(struct aml_buf *b, const char *path, enum aml_region_space space,
	uint64_t offset, uint64_t length)
{
	aml_byte(b, AML_EXT_OP);
	aml_byte(b, AML_EXT_REGION_OP);
	aml_name_string(b, path);
	aml_byte(b, (uint8_t)space);
	aml_integer(b, offset);
	aml_integer(b, length);
}

void aml_field_dwords(struct aml_buf *b, const char *region, const char *const *names,
	unsigned n)
{
	struct aml_buf inner;

	aml_buf_init(&inner);
	aml_name_string(&inner, region);
	aml_byte(&inner, AML_FIELD_DWORD_ACC);
	for (unsigned i = 0; i < n; i++) {
		char seg[AML_MAX_SEGS][AML_NAME_SEG];

		/* A NamedField is a bare NameSeg and the field's width in bits. */
		if (aml_segments(names[i], seg) != 1) {
			inner.error = inner.error ?: -EINVAL;
			break;
		}
		aml_bytes(&inner, seg[0], AML_NAME_SEG);
		aml_byte(&inner, 32); /* the width in bits: under 64, one byte holds it */
	}
	aml_byte(b, AML_EXT_OP);
	aml_byte(b, AML_EXT_FIELD_OP);
	aml_pkg_length(b, inner.len);
	aml_child(b, &inner);
	aml_buf_done(&inner);
}

void aml_local(struct aml_buf *b, unsigned n)
{
	if (n > 7)
		b->error = b->error ?: -EINVAL;
	else
		aml_byte(b, (uint8_t)(AML_LOCAL0 + n));
}

void aml_arg(struct aml_buf *b, unsigned n)
{
	if (n > 6)
		b->error = b->error ?: -EINVAL;
	else
		aml_byte(b, (uint8_t)(AML_ARG0 + n));
}

void aml_store(struct aml_buf *b, const struct aml_buf *value, const struct aml_buf *target)
{
	aml_byte(b, AML_STORE_OP);
	aml_child(b, value);
	aml_child(b, target);
}

void aml_lequal(struct aml_buf *b, const struct aml_buf *x, const struct aml_buf *y)
{
	aml_byte(b, AML_LEQUAL_OP);
	aml_child(b, x);
	aml_child(b, y);
}

/* Op PkgLength Predicate TermList: If and While. */
static void aml_conditional(struct aml_buf *b, uint8_t op, const struct aml_buf *predicate,
	const struct aml_buf *body)
{
	struct aml_buf inner;

	aml_buf_init(&inner);
	aml_child(&inner, predicate);
	aml_child(&inner, body);
	aml_byte(b, op);
	aml_pkg_length(b, inner.len);
	aml_child(b, &inner);
	aml_buf_done(&inner);
}

void aml_if(struct aml_buf *b, const struct aml_buf *predicate, const struct aml_buf *body)
{
	aml_conditional(b, AML_IF_OP, predicate, body);
}

void aml_while(struct aml_buf *b, const struct aml_buf *predicate, const struct aml_buf *body)
{
	aml_conditional(b, AML_WHILE_OP, predicate, body);
}

void aml_break(struct aml_buf *b)
{
	aml_byte(b, AML_BREAK_OP);
}

void aml_load_table(struct aml_buf *b, const char *signature, const char *oem_id,
	const char *oem_table_id)
{
	aml_byte(b, AML_EXT_OP);
	aml_byte(b, AML_EXT_LOAD_TABLE_OP);
	aml_string(b, signature);
	aml_string(b, oem_id);
	aml_string(b, oem_table_id);
	aml_string(b, ""); /* RootPath: the root */
	aml_string(b, ""); /* ParameterPath: none */
	aml_integer(b, 0); /* ParameterData */
}

void aml_and(struct aml_buf *b, const struct aml_buf *x, const struct aml_buf *y)
{
	aml_byte(b, AML_AND_OP);
	aml_child(b, x);
	aml_child(b, y);
	aml_byte(b, 0); /* no target: the result is the expression's value */
}

void aml_return(struct aml_buf *b, const struct aml_buf *value)
{
	aml_byte(b, AML_RETURN_OP);
	aml_child(b, value);
}

void aml_package(struct aml_buf *b, uint8_t n_elements, const struct aml_buf *elements)
{
	aml_byte(b, AML_PACKAGE_OP);
	aml_pkg_length(b, 1 + elements->len);
	aml_byte(b, n_elements);
	aml_child(b, elements);
}

void aml_buffer(struct aml_buf *b, const struct aml_buf *bytes)
{
	struct aml_buf inner;

	aml_buf_init(&inner);
	aml_integer(&inner, bytes->len);
	aml_child(&inner, bytes);
	aml_byte(b, AML_BUFFER_OP);
	aml_pkg_length(b, inner.len);
	aml_child(b, &inner);
	aml_buf_done(&inner);
}

void aml_res_memory32_fixed(struct aml_buf *b, uint32_t base, uint32_t size, bool writable)
{
	aml_byte(b, 0x86); /* large item, Memory32Fixed */
	aml_le(b, 9, 2);
	aml_byte(b, writable ? 1 : 0);
	aml_le(b, base, 4);
	aml_le(b, size, 4);
}

void aml_res_interrupt(struct aml_buf *b, uint32_t gsi, bool edge, bool active_low, bool shared)
{
	aml_byte(b, 0x89); /* large item, Extended Interrupt */
	aml_le(b, 6, 2);
	/* Consumer, edge/level, polarity, exclusive/shared. */
	aml_byte(b, (uint8_t)(0x1 | (edge ? 0x2 : 0) | (active_low ? 0x4 : 0) | (shared ? 0x8 : 0)));
	aml_byte(b, 1);
	aml_le(b, gsi, 4);
}

void aml_res_io(struct aml_buf *b, uint16_t base, uint8_t len)
{
	aml_byte(b, 0x47); /* small item, I/O port, 7 bytes */
	aml_byte(b, 1);    /* decodes 16 address lines */
	aml_le(b, base, 2); /* minimum */
	aml_le(b, base, 2); /* maximum: a fixed range */
	aml_byte(b, 1);    /* alignment */
	aml_byte(b, len);
}

void aml_res_irq(struct aml_buf *b, uint8_t irq)
{
	aml_byte(b, 0x22); /* small item, IRQ without flags (edge, active high), 2 bytes */
	aml_le(b, 1u << irq, 2);
}

void aml_res_end(struct aml_buf *b)
{
	aml_byte(b, 0x79);
	aml_byte(b, 0); /* a zero checksum means "not checked" */
}
