#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "json-stream.h"

struct json_stream {
	char *buf;
	size_t len;
	size_t cap;
	size_t max;
	/* Set after an oversized or invalid message: drop bytes up to a newline. */
	bool skipping;
	bool oversized;
};

struct json_stream *json_stream_new(size_t max_message)
{
	struct json_stream *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->max = max_message ? max_message : JSON_STREAM_MAX_DEFAULT;
	return s;
}

struct json_stream *json_stream_free(struct json_stream *s)
{
	if (s) {
		free(s->buf);
		free(s);
	}
	return NULL;
}

size_t json_stream_pending(const struct json_stream *s)
{
	return s->len;
}

static void consume(struct json_stream *s, size_t n)
{
	/* Nothing to move when all goes (and buf may still be NULL: memmove's is UB). */
	if (n < s->len)
		memmove(s->buf, s->buf + n, s->len - n);
	s->len -= n;
}

/* Drops bytes up to and including the next newline; returns whether one was found. */
static bool skip_to_newline(struct json_stream *s)
{
	char *nl = memchr(s->buf, '\n', s->len);

	if (!nl) {
		s->len = 0;
		return false;
	}
	consume(s, nl - s->buf + 1);
	return true;
}

int json_stream_feed(struct json_stream *s, const char *data, size_t len)
{
	int r = 0;

	while (len > 0) {
		/* Accept at most one byte past the limit, enough to know it was crossed. */
		size_t room = s->max + 1 - s->len;
		size_t n = len < room ? len : room;

		if (s->len + n > s->cap) {
			size_t cap = s->max + 1;
			char *b = realloc(s->buf, cap);

			if (!b)
				return -ENOMEM;
			s->buf = b;
			s->cap = cap;
		}
		memcpy(s->buf + s->len, data, n);
		s->len += n;
		data += n;
		len -= n;
		if (s->len > s->max) {
			/* Too long: forget it and wait for the line to end. */
			s->oversized = true;
			s->skipping = !skip_to_newline(s);
			r = -EMSGSIZE;
		}
	}
	return r;
}

/* Finds the end of the first JSON value in buf; 0 if it is not complete yet. */
static size_t value_end(const char *buf, size_t len)
{
	int depth = 0;
	bool in_string = false, escaped = false;

	for (size_t i = 0; i < len; i++) {
		char c = buf[i];

		if (in_string) {
			/* JSON strings hold no raw newline: end here, so the parser
			 * refuses it and the stream resynchronizes at this line. */
			if (c == '\n')
				return i + 1;
			if (escaped)
				escaped = false;
			else if (c == '\\')
				escaped = true;
			else if (c == '"')
				in_string = false;
			continue;
		}
		if (c == '"')
			in_string = true;
		else if (c == '{' || c == '[')
			depth++;
		else if (c == '}' || c == ']')
			depth--;
		if (depth <= 0 && (c == '}' || c == ']'))
			return i + 1;
		/* A bare scalar ends at whitespace, which the tokener needs to see. */
		if (depth == 0 && !in_string && (c == '\n' || c == '\r' || c == ' ' || c == '\t'))
			return i + 1;
	}
	return 0;
}

static bool only_whitespace(const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!strchr(" \t\r\n", p[i]))
			return false;
	return true;
}

/*
 * An unfinished message that already cannot be JSON ("{foo") is refused now,
 * not after the peer has sent 64 KiB more: its bytes up to the next newline are
 * dropped (all of them if no newline came yet).
 */
static bool broken_prefix(struct json_stream *s)
{
	struct json_tokener *tok = json_tokener_new_ex(64);
	struct json_object *obj;
	bool broken;

	if (!tok)
		return false;
	obj = json_tokener_parse_ex(tok, s->buf, s->len);
	broken = !obj && json_tokener_get_error(tok) != json_tokener_continue;
	json_object_put(obj);
	json_tokener_free(tok);
	if (broken)
		s->skipping = !skip_to_newline(s);
	return broken;
}

/* Length of the valid UTF-8 sequence at p (RFC 3629: no overlong forms, no surrogates, at
 * most U+10FFFF), or 0. */
static size_t utf8_char_len(const unsigned char *p, size_t left)
{
	size_t n = *p < 0x80 ? 1 : *p >= 0xc2 && *p <= 0xdf ? 2 : *p >= 0xe0 && *p <= 0xef ? 3 :
		   *p >= 0xf0 && *p <= 0xf4 ? 4 : 0;

	if (n == 0 || n > left)
		return 0;
	for (size_t i = 1; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	if ((*p == 0xe0 && p[1] < 0xa0) || (*p == 0xed && p[1] > 0x9f) ||
	    (*p == 0xf0 && p[1] < 0x90) || (*p == 0xf4 && p[1] > 0x8f))
		return 0;
	return n;
}

/*
 * A message whose text is not UTF-8, or whose strings hold \u0000, which json-c keeps but
 * every C string cuts ("a\u0000b" would be taken as "a"): refused as a whole, not echoed.
 */
static bool text_acceptable(const char *buf, size_t len)
{
	bool in_string = false, escaped = false;

	for (size_t i = 0; i < len;) {
		size_t n = utf8_char_len((const unsigned char *)buf + i, len - i);

		if (n == 0)
			return false;
		if (in_string && escaped) {
			escaped = false;
			if (buf[i] == 'u' && len - i >= 5 && !memcmp(buf + i + 1, "0000", 4))
				return false;
		} else if (in_string && buf[i] == '\\') {
			escaped = true;
		} else if (buf[i] == '"') {
			in_string = !in_string;
		}
		i += n;
	}
	return true;
}

/*
 * A balanced value that is not JSON ({"execute": } split over two lines) is one error, as
 * with QEMU's streaming parser: drop all of it, not just its first line (whose rest would be
 * a second error). Whatever follows it on its last line is dropped too, as before.
 */
static void drop_bad_value(struct json_stream *s, size_t end)
{
	const char *nl = memchr(s->buf, '\n', end);

	if (nl && (size_t)(nl - s->buf) + 1 < end)
		consume(s, end);
	s->skipping = !skip_to_newline(s);
}

int json_stream_next(struct json_stream *s, struct json_object **ret)
{
	struct json_tokener *tok;
	struct json_object *obj;
	size_t start = 0, end;

	if (s->oversized) {
		s->oversized = false;
		return -EMSGSIZE;
	}
	if (s->skipping) {
		if (!skip_to_newline(s))
			return 0;
		s->skipping = false;
	}
	while (start < s->len && strchr(" \t\r\n", s->buf[start]))
		start++;
	consume(s, start);
	if (s->len == 0)
		return 0;
	end = value_end(s->buf, s->len);
	if (end == 0)
		return broken_prefix(s) ? -EBADMSG : 0;

	if (!text_acceptable(s->buf, end)) {
		consume(s, end);
		return -EILSEQ;
	}
	tok = json_tokener_new_ex(64);
	if (!tok)
		return -ENOMEM;
	obj = json_tokener_parse_ex(tok, s->buf, end);
	if (!obj || !only_whitespace(s->buf + json_tokener_get_parse_end(tok),
			    end - json_tokener_get_parse_end(tok))) {
		json_tokener_free(tok);
		json_object_put(obj);
		drop_bad_value(s, end);
		return -EBADMSG;
	}
	json_tokener_free(tok);
	consume(s, end);
	*ret = obj;
	return 1;
}

char *json_stream_format(struct json_object *obj)
{
	const char *text = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN |
							  JSON_C_TO_STRING_NOSLASHESCAPE);
	size_t len = strlen(text);
	char *line = malloc(len + 3);

	if (!line)
		return NULL;
	memcpy(line, text, len);
	memcpy(line + len, "\r\n", 3);
	return line;
}
