/*
 * Splits a byte stream into JSON messages, as a QMP peer must: a message may
 * arrive in pieces, several may arrive in one read, and whitespace (QMP ends
 * each one with CRLF) separates them. Both the VMM's QMP server and the
 * daemon's QMP client use it.
 */
#pragma once

#include <json-c/json.h>
#include <stddef.h>

#include "cleanup.h"

/* QMP messages larger than this are refused: a stated limit, not an accident. */
#define JSON_STREAM_MAX_DEFAULT (64 * 1024)

struct json_stream;

struct json_stream *json_stream_new(size_t max_message);
struct json_stream *json_stream_free(struct json_stream *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct json_stream *, json_stream_free);

/* Appends received bytes. -EMSGSIZE if the unfinished message outgrows the limit;
 * the stream then drops it and resynchronizes at the next newline. */
int json_stream_feed(struct json_stream *s, const char *data, size_t len);

/*
 * Takes the next complete message out of the stream.
 * Returns 1 with *ret set (the caller owns it), 0 when more bytes are needed,
 * -EBADMSG for bytes that are not JSON (they are dropped up to the next newline,
 * so the peer can go on), -EMSGSIZE once for a message that was too long, -EILSEQ for a
 * message (dropped whole) that is not UTF-8 or has a string holding \u0000.
 */
int json_stream_next(struct json_stream *s, struct json_object **ret);

/* Bytes received but not yet returned as messages. */
size_t json_stream_pending(const struct json_stream *s);

/* Formats obj as one line ending with CRLF; the caller frees the string. */
char *json_stream_format(struct json_object *obj);

static inline void json_object_putp(struct json_object **p)
{
	if (*p)
		json_object_put(*p);
}
#define _cleanup_json_ _cleanup_(json_object_putp)
