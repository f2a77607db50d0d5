/*
 * A small AML (ACPI Machine Language) encoder: enough to describe the
 * virtio-mmio slots (LNRO0005 devices with _HID, _UID, _CRS), the serial port,
 * \_S5 and the power button's Generic Event Device (a method that notifies) in
 * the DSDT. A buffer grows up to AML_MAX bytes; after any failure it stays in an
 * error state that aml_buf_error() reports, so callers check once at the end.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AML_MAX (64 * 1024)

struct aml_buf {
	uint8_t *data;
	size_t len;
	size_t cap;
	int error; /* 0 or -errno */
};

void aml_buf_init(struct aml_buf *b);
void aml_buf_done(struct aml_buf *b);
int aml_buf_error(const struct aml_buf *b);

void aml_bytes(struct aml_buf *b, const void *data, size_t len);
/* PkgLength of a body of len bytes (the encoding counts its own bytes). */
void aml_pkg_length(struct aml_buf *b, size_t len);
/* "\\_SB_.VR00", "_HID", "\\_S5": root prefix and dotted 1-4 character segments. */
void aml_name_string(struct aml_buf *b, const char *path);
void aml_integer(struct aml_buf *b, uint64_t v);
void aml_string(struct aml_buf *b, const char *s);

/* Name(path, value): value is a buffer holding one encoded data object. */
void aml_name(struct aml_buf *b, const char *path, const struct aml_buf *value);
void aml_scope(struct aml_buf *b, const char *path, const struct aml_buf *body);
void aml_device(struct aml_buf *b, const char *path, const struct aml_buf *body);
/* Method(path, n_args) { body }: n_args at most 7, not serialized. */
void aml_method(struct aml_buf *b, const char *path, uint8_t n_args, const struct aml_buf *body);
/* Notify(path, value), a statement for a method body. */
void aml_notify(struct aml_buf *b, const char *path, uint64_t value);
void aml_package(struct aml_buf *b, uint8_t n_elements, const struct aml_buf *elements);
/* Buffer(){bytes}, as ResourceTemplate produces. */
void aml_buffer(struct aml_buf *b, const struct aml_buf *bytes);

/* Resource descriptors, for a ResourceTemplate buffer. */
void aml_res_memory32_fixed(struct aml_buf *b, uint32_t base, uint32_t size, bool writable);
void aml_res_interrupt(struct aml_buf *b, uint32_t gsi, bool edge, bool active_low);
/* IO(Decode16, base, base, 1, len): a fixed range of I/O ports. */
void aml_res_io(struct aml_buf *b, uint16_t base, uint8_t len);
/* IRQNoFlags(){irq}: an ISA interrupt (0-15), edge-triggered, active high. */
void aml_res_irq(struct aml_buf *b, uint8_t irq);
void aml_res_end(struct aml_buf *b);
