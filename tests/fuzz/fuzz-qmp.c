/* libFuzzer target: bytes from a QMP client, as the VMM's server reads them. The first byte
 * picks the size of the pieces the stream arrives in; every message that comes out is formatted
 * back, and each {"execute": NAME, "arguments": ...} naming a known command goes through that
 * command's argument table (qmp_args_check), which is what the server does before a handler
 * runs. Nothing here needs a VM. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>

#include "json-stream.h"
#include "qmp/qmp-internal.h"

#define FUZZ_MESSAGE_MAX 4096
/* More messages out of one input than bytes in it would mean the stream loops. */
#define FUZZ_NEXT_MAX(size) ((size) + 16)

static void check_request(struct json_object *msg)
{
	struct qmp_request r = { 0 };
	struct json_object *name, *args = NULL;
	const struct qmp_command *cmd;

	free(json_stream_format(msg));
	if (!json_object_is_type(msg, json_type_object) ||
		!json_object_object_get_ex(msg, "execute", &name) ||
		!json_object_is_type(name, json_type_string))
		return;
	cmd = qmp_command_find(json_object_get_string(name));
	if (!cmd)
		return;
	json_object_object_get_ex(msg, "arguments", &args);
	if (args && !json_object_is_type(args, json_type_object))
		return; /* the server refuses it before the table */
	if (qmp_args_check(&r, json_object_get_string(name), cmd->args, args) == 0 && args) {
		(void)qmp_arg_str(args, "id");
		(void)qmp_arg_bool(args, "read-only", false);
	}
	free(r.error);
}

static void drain(struct json_stream *s, size_t *budget)
{
	struct json_object *msg;
	int r;

	while ((r = json_stream_next(s, &msg)) != 0) {
		if (*budget == 0)
			abort(); /* json_stream_next keeps answering: a loop */
		(*budget)--;
		if (r == 1) {
			check_request(msg);
			json_object_put(msg);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_cleanup_(json_stream_freep) struct json_stream *s = json_stream_new(FUZZ_MESSAGE_MAX);
	size_t chunk, budget = FUZZ_NEXT_MAX(size);

	if (!s || size == 0)
		return 0;
	chunk = data[0] % 64 + 1;
	data++, size--;
	for (size_t off = 0; off < size; off += chunk) {
		size_t n = size - off < chunk ? size - off : chunk;

		(void)json_stream_feed(s, (const char *)data + off, n);
		drain(s, &budget);
		if (json_stream_pending(s) > 2 * FUZZ_MESSAGE_MAX + 64)
			abort(); /* the stated limit did not hold */
	}
	return 0;
}
