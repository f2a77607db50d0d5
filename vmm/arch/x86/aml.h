/*
 * A small AML (ACPI Machine Language) encoder: enough to describe the
 * virtio-mmio slots (LNRO0005 devices with _HID, _UID, _CRS), the serial port,
 * \_S5 and the Generic Event Device in the DSDT, and for the dynamic hot-plug
 * model a method that reads a register in a loop and loads or unloads one
 * table per device (OperationRegion, Field, While, If, LoadTable). A buffer grows up to AML_MAX bytes; after any failure it stays in an
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

/* Statements and expressions for method bodies. A TermArg is an encoded buffer (see
 * aml_local, aml_arg, aml_integer, aml_name_string); a SuperName likewise. */
enum aml_region_space {
	AML_SYSTEM_MEMORY = 0,
	AML_SYSTEM_IO = 1,
};
/* OperationRegion(path, space, offset, length) */
void aml_operation_region(struct aml_buf *b, const char *path, enum aml_region_space space,
	uint64_t offset, uint64_t length);
/* Field(region, DWordAcc, NoLock, Preserve) { name[i], 32, ... }: 32-bit fields in order. */
void aml_field_dwords(struct aml_buf *b, const char *region, const char *const *names,
	unsigned n);
void aml_local(struct aml_buf *b, unsigned n); /* Local0..Local7 */
void aml_arg(struct aml_buf *b, unsigned n);   /* Arg0..Arg6 */
/* Store(value, target): both encoded (value a TermArg, target a SuperName). */
void aml_store(struct aml_buf *b, const struct aml_buf *value, const struct aml_buf *target);
/* LEqual(a, b) as an expression. */
void aml_lequal(struct aml_buf *b, const struct aml_buf *x, const struct aml_buf *y);
void aml_if(struct aml_buf *b, const struct aml_buf *predicate, const struct aml_buf *body);
void aml_while(struct aml_buf *b, const struct aml_buf *predicate, const struct aml_buf *body);
void aml_break(struct aml_buf *b);
/* LoadTable(signature, oem_id, oem_table_id, "", "", Zero) as a statement: loads the table
 * of the XSDT with those ids into the namespace. (There is no taking it out again: ACPICA's
 * Load and LoadTable return a Boolean now, not the DDB handle Unload would need.) */
void aml_load_table(struct aml_buf *b, const char *signature, const char *oem_id,
	const char *oem_table_id);
/* And(x, y) and Return(value), for expressions and method bodies. */
void aml_and(struct aml_buf *b, const struct aml_buf *x, const struct aml_buf *y);
void aml_return(struct aml_buf *b, const struct aml_buf *value);

/* Resource descriptors, for a ResourceTemplate buffer. */
void aml_res_memory32_fixed(struct aml_buf *b, uint32_t base, uint32_t size, bool writable);
/* Extended Interrupt: edge or level, active high or low; shared when other devices use the
 * same GSI. */
void aml_res_interrupt(struct aml_buf *b, uint32_t gsi, bool edge, bool active_low, bool shared);
/* IO(Decode16, base, base, 1, len): a fixed range of I/O ports. */
void aml_res_io(struct aml_buf *b, uint16_t base, uint8_t len);
/* IRQNoFlags(){irq}: an ISA interrupt (0-15), edge-triggered, active high. */
void aml_res_irq(struct aml_buf *b, uint8_t irq);
void aml_res_end(struct aml_buf *b);
