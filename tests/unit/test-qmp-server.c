/*
 * The QMP wire protocol of vmm/qmp/ over socketpairs, with the server on a real
 * event loop in its own thread (as in the VMM) and a recording slot_ops table.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "json-stream.h"
#include "util.h"
#include "vmm-contract.h"
#include "vmm/eventloop.h"
#include "vmm/hotplug.h"
#include "vmm/qmp/qmp.h"
#include "vmm/qmp/qmp-internal.h" /* QMP_FDS_MAX */

#define CLIENTS 3
#define READ_TIMEOUT_MS 10000

struct fake_dev {
	const struct blk_backend *blk;
	const struct net_backend *net;
};

static int attach_blk(void *dev, const struct blk_backend *b, const char *serial)
{
	((struct fake_dev *)dev)->blk = b;
	return 0;
}

static int detach_blk(void *dev)
{
	((struct fake_dev *)dev)->blk = NULL;
	return 0;
}

static int attach_net(void *dev, const struct net_backend *b)
{
	((struct fake_dev *)dev)->net = b;
	return 0;
}

static int detach_net(void *dev)
{
	((struct fake_dev *)dev)->net = NULL;
	return 0;
}

static void net_mac(void *dev, uint8_t ret_mac[6])
{
	memcpy(ret_mac, (uint8_t[]){ 0x52, 0x54, 0, 0x12, 0x34, 0x56 }, 6);
}

static const struct slot_ops ops = { attach_blk, detach_blk, attach_net, detach_net, net_mac,
	NULL };

struct fixture {
	struct event_loop *loop;
	struct hotplug *hp;
	struct qmp_server *server;
	pthread_t thread;
	struct fake_dev blk[HOTPLUG_BLK_SLOTS], net[HOTPLUG_NET_SLOTS];
	int fd[CLIENTS];
	struct json_stream *in[CLIENTS];
	bool paused;
	int quits;
	char dir[64];
};

static int vm_stop(void *opaque)
{
	struct fixture *f = opaque;

	if (f->paused)
		return 1;
	f->paused = true;
	return 0;
}

static int vm_cont(void *opaque)
{
	struct fixture *f = opaque;

	if (!f->paused)
		return 1;
	f->paused = false;
	return 0;
}

static void vm_quit(void *opaque)
{
	__atomic_add_fetch(&((struct fixture *)opaque)->quits, 1, __ATOMIC_SEQ_CST);
}

static const char *vm_status(void *opaque)
{
	return ((struct fixture *)opaque)->paused ? "paused" : "running";
}

static void *loop_thread(void *opaque)
{
	event_loop_run(opaque);
	return NULL;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	void *blk[HOTPLUG_BLK_SLOTS], *net[HOTPLUG_NET_SLOTS];
	struct vm_control vm = { .opaque = f, .stop = vm_stop, .cont = vm_cont, .quit = vm_quit,
		.status = vm_status };
	char *error = NULL;

	for (int i = 0; i < HOTPLUG_BLK_SLOTS; i++)
		blk[i] = &f->blk[i];
	for (int i = 0; i < HOTPLUG_NET_SLOTS; i++)
		net[i] = &f->net[i];
	strcpy(f->dir, "/tmp/test-qmp-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	f->loop = event_loop_new();
	f->hp = hotplug_new(&ops, HOTPLUG_SLOTS, blk, net);
	f->server = qmp_server_new(f->loop, NULL, f->hp, &vm, &error);
	assert_non_null(f->server);
	for (int i = 0; i < CLIENTS; i++) {
		int sv[2];

		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
		assert_int_equal(qmp_server_add_client(f->server, sv[0]), 0);
		f->fd[i] = sv[1];
		f->in[i] = json_stream_new(1 << 20);
	}
	assert_int_equal(pthread_create(&f->thread, NULL, loop_thread, f->loop), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	event_loop_quit(f->loop, 0);
	pthread_join(f->thread, NULL);
	qmp_server_free(f->server);
	hotplug_free(f->hp);
	event_loop_free(f->loop);
	for (int i = 0; i < CLIENTS; i++) {
		safe_close(f->fd[i]);
		json_stream_free(f->in[i]);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static void send_text(struct fixture *f, int c, const char *text)
{
	assert_int_equal(write_full(f->fd[c], text, strlen(text)), 0);
}

/* The next message from the server on client c; fails after READ_TIMEOUT_MS. */
static struct json_object *recv_msg(struct fixture *f, int c)
{
	for (;;) {
		struct json_object *obj = NULL;
		struct pollfd p = { .fd = f->fd[c], .events = POLLIN };
		char buf[4096];
		ssize_t n;

		if (json_stream_next(f->in[c], &obj) == 1)
			return obj;
		assert_int_equal(poll(&p, 1, READ_TIMEOUT_MS), 1);
		n = read(f->fd[c], buf, sizeof(buf));
		assert_true(n > 0);
		assert_int_equal(json_stream_feed(f->in[c], buf, n), 0);
	}
}

static const char *str_at(struct json_object *o, const char *a, const char *b)
{
	struct json_object *v = json_object_object_get(o, a);

	if (b)
		v = json_object_object_get(v, b);
	return v ? json_object_get_string(v) : NULL;
}

static void skip_greeting(struct fixture *f, int c)
{
	_cleanup_json_ struct json_object *g = recv_msg(f, c);

	assert_non_null(json_object_object_get(g, "QMP"));
}

/* Sends text and returns the reply (events before it are skipped). */
static struct json_object *command(struct fixture *f, int c, const char *text)
{
	send_text(f, c, text);
	for (;;) {
		struct json_object *m = recv_msg(f, c);

		if (!json_object_object_get(m, "event"))
			return m;
		json_object_put(m);
	}
}

static void assert_return_empty(struct json_object *m)
{
	struct json_object *ret = json_object_object_get(m, "return");

	if (!ret)
		fail_msg("expected a return, got %s", json_object_to_json_string(m));
	assert_int_equal(json_object_object_length(ret), 0);
}

static void assert_error(struct json_object *m, const char *cls, const char *needle)
{
	const char *desc = str_at(m, "error", "desc");

	if (!desc)
		fail_msg("expected an error, got %s", json_object_to_json_string(m));
	assert_string_equal(str_at(m, "error", "class"), cls);
	if (needle && !strstr(desc, needle))
		fail_msg("error \"%s\" does not name \"%s\"", desc, needle);
}

static void test_greeting(void **state)
{
	struct fixture *f = *state;
	struct pollfd p = { .fd = f->fd[0], .events = POLLIN };
	_cleanup_json_ struct json_object *g = NULL;
	char buf[1024];
	ssize_t n;

	/* The greeting is one line ending with CRLF. */
	assert_int_equal(poll(&p, 1, READ_TIMEOUT_MS), 1);
	n = read(f->fd[0], buf, sizeof(buf) - 1);
	assert_true(n > 2);
	buf[n] = '\0';
	assert_string_equal(buf + n - 2, "\r\n");
	assert_null(memchr(buf, '\n', n - 1));
	g = json_tokener_parse(buf);
	struct json_object *qmp = json_object_object_get(g, "QMP");
	struct json_object *version = json_object_object_get(qmp, "version");

	assert_non_null(json_object_object_get(version, "qemu"));
	assert_true(startswith(str_at(version, "package", NULL), "mvirt-"));
	assert_int_equal(json_object_array_length(json_object_object_get(qmp, "capabilities")), 0);
}

static void test_id_echo(void **state)
{
	static const char *const ids[] = { "42", "-1.5", "\"abc\"", "{\"a\":[1,{\"b\":null}]}",
		"[1,2]", "null", "true" };
	struct fixture *f = *state;
	char text[256];

	skip_greeting(f, 0);
	for (size_t i = 0; i < ELEMENTSOF(ids); i++) {
		_cleanup_json_ struct json_object *want = json_tokener_parse(ids[i]), *m = NULL;

		snprintf(text, sizeof(text), "{\"execute\": \"query-status\", \"id\": %s}\r\n", ids[i]);
		m = command(f, 0, text);
		/* Present even when null: json-c's get_ex tells a null member from none. */
		assert_true(json_object_object_get_ex(m, "id", NULL));
		assert_true(json_object_equal(json_object_object_get(m, "id"), want));
		assert_string_equal(str_at(m, "return", "status"), "running");
	}
	/* Errors echo the id too. */
	{
		_cleanup_json_ struct json_object *m =
			command(f, 0, "{\"execute\": \"nope\", \"id\": {\"x\": 1}}\n");
		assert_error(m, "CommandNotFound", "nope");
		assert_int_equal(json_object_get_int(json_object_object_get(
					 json_object_object_get(m, "id"), "x")), 1);
	}
}

static void test_capabilities_optional(void **state)
{
	struct fixture *f = *state;
	_cleanup_json_ struct json_object *a = NULL, *b = NULL, *c = NULL, *d = NULL, *e = NULL;

	skip_greeting(f, 0);
	a = command(f, 0, "{\"execute\": \"query-version\"}");
	assert_true(startswith(str_at(a, "return", "package"), "mvirt-"));
	c = command(f, 0, "{\"execute\": \"qmp_capabilities\", \"arguments\": {\"enable\": [\"oob\"]}}");
	assert_error(c, "GenericError", "enable");
	b = command(f, 0, "{\"execute\": \"qmp_capabilities\"}");
	assert_return_empty(b);
	d = command(f, 0, "{\"execute\": \"query-commands\"}");
	assert_true(json_object_array_length(json_object_object_get(d, "return")) >= 17);
	e = command(f, 0, "{\"execute\": \"query-slots\"}");
	assert_int_equal(json_object_array_length(json_object_object_get(e, "return")),
		HOTPLUG_BLK_SLOTS + HOTPLUG_NET_SLOTS);
}

/* A second negotiation is refused as QEMU refuses it, with the id echoed. */
static void test_capabilities_twice(void **state)
{
	struct fixture *f = *state;
	_cleanup_json_ struct json_object *a = NULL, *b = NULL, *c = NULL;

	skip_greeting(f, 0);
	a = command(f, 0, "{\"execute\": \"qmp_capabilities\"}");
	assert_return_empty(a);
	b = command(f, 0, "{\"execute\": \"qmp_capabilities\", \"id\": null}");
	assert_error(b, "CommandNotFound", "already complete");
	assert_true(json_object_object_get_ex(b, "id", NULL));
	c = command(f, 0, "{\"execute\": \"query-status\"}");
	assert_string_equal(str_at(c, "return", "status"), "running");
}

static void test_bad_messages(void **state)
{
	static const struct {
		const char *text, *needle;
	} cases[] = {
		{ "{foo\n", "JSON" },
		{ "[1, 2]\n", "object" },
		{ "42\n", "object" },
		{ "{\"id\": 1}\n", "execute" },
		{ "{\"execute\": 5}\n", "execute" },
		{ "{\"execute\": \"stop\", \"extra\": 1}\n", "extra" },
		{ "{\"execute\": \"stop\", \"arguments\": [1]}\n", "arguments" },
		{ "{\"execute\": \"query-status\", \"arguments\": {\"x\": 1}}\n", "\"x\"" },
		{ "{\"execute\": \"device_del\", \"arguments\": {\"id\": 5}}\n", "string" },
		{ "{\"execute\": \"device_del\"}\n", "\"id\"" },
		{ "{\"execute\": \"blockdev-add\", \"arguments\": {\"node-name\": \"a\", \"file\": "
		  "{\"filename\": \"/x\", \"bogus\": 1}}}\n", "file.bogus" },
		{ "{\"execute\": \"blockdev-add\", \"arguments\": {\"node-name\": \"a\", \"file\": "
		  "{\"filename\": \"/x\"}, \"cache\": {\"direct\": \"yes\"}}}\n", "cache.direct" },
		{ "{\"exec-oob\": \"stop\"}\n", "exec-oob" },
	};
	struct fixture *f = *state;

	skip_greeting(f, 0);
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		_cleanup_json_ struct json_object *m = command(f, 0, cases[i].text);

		assert_error(m, "GenericError", cases[i].needle);
	}
	/* The connection is still usable. */
	{
		_cleanup_json_ struct json_object *m =
			command(f, 0, "{\"execute\": \"query-status\", \"id\": 7}\n");
		assert_string_equal(str_at(m, "return", "status"), "running");
	}
}

static void test_oversized_and_truncated(void **state)
{
	struct fixture *f = *state;
	size_t big = 70 * 1024;
	_cleanup_free_ char *text = malloc(big + 64);
	_cleanup_json_ struct json_object *a = NULL, *b = NULL, *c = NULL;

	skip_greeting(f, 0);
	strcpy(text, "{\"execute\": \"query-status\", \"id\": \"");
	memset(text + strlen(text), 'x', big);
	strcpy(text + 35 + big, "\"}\n");
	a = command(f, 0, text);
	assert_error(a, "GenericError", "64 KiB");
	b = command(f, 0, "{\"execute\": \"query-status\", \"id\": \"after-big\"}\n");
	assert_string_equal(str_at(b, "id", NULL), "after-big");
	/* A message cut off inside a string, and one cut off after a key that the
	 * next line shows broken: one error each (as QEMU's streaming parser gives), and the
	 * stream recovers. */
	c = command(f, 0, "{\"execute\": \"query-st\n");
	assert_error(c, "GenericError", "JSON");
	json_object_put(c);
	send_text(f, 0, "{\"execute\" \n");
	c = command(f, 0, "]\n");
	assert_error(c, "GenericError", "JSON");
	json_object_put(b);
	b = command(f, 0, "{\"execute\": \"query-status\", \"id\": \"after-trunc\"}\n");
	assert_string_equal(str_at(b, "id", NULL), "after-trunc");
}

/* Random bytes, then enough blank space to overflow any unfinished message: the
 * server answers the next command, whatever the bytes were. */
static void test_random_bytes(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *blank = malloc(2 * 65536 + 2);
	unsigned seed = 12345;

	memset(blank, ' ', 2 * 65536);
	strcpy(blank + 2 * 65536, "\n");
	skip_greeting(f, 0);
	for (int round = 0; round < 20; round++) {
		char junk[1024], text[128];
		int replies = 0;

		for (size_t i = 0; i < sizeof(junk) - 1; i++)
			junk[i] = (char)(rand_r(&seed) % 255 + 1);
		junk[sizeof(junk) - 1] = '\0';
		send_text(f, 0, junk);
		send_text(f, 0, blank);
		snprintf(text, sizeof(text), "{\"execute\": \"query-status\", \"id\": %d}\n", round);
		send_text(f, 0, text);
		for (;;) {
			_cleanup_json_ struct json_object *m = recv_msg(f, 0);
			struct json_object *id = json_object_object_get(m, "id");

			assert_true(++replies < 1000);
			if (id && json_object_is_type(id, json_type_int) &&
				json_object_get_int(id) == round &&
				json_object_object_get(m, "return"))
				break;
		}
	}
}

static void emit_test_event(void *opaque)
{
	struct fixture *f = opaque;

	qmp_server_emit(f->server, "SHUTDOWN", json_tokener_parse("{\"guest\": true, \"reason\": "
								  "\"guest-shutdown\"}"));
}

static void test_events_to_all(void **state)
{
	struct fixture *f = *state;

	for (int c = 0; c < CLIENTS; c++)
		skip_greeting(f, c);
	assert_int_equal(event_loop_call(f->loop, emit_test_event, f), 0);
	for (int c = 0; c < CLIENTS; c++) {
		_cleanup_json_ struct json_object *m = recv_msg(f, c);
		struct json_object *ts = json_object_object_get(m, "timestamp");

		assert_string_equal(str_at(m, "event", NULL), "SHUTDOWN");
		assert_string_equal(str_at(m, "data", "reason"), "guest-shutdown");
		assert_true(json_object_get_int64(json_object_object_get(ts, "seconds")) > 1600000000);
		assert_non_null(json_object_object_get(ts, "microseconds"));
	}
	/* stop and cont: events to everyone, only when the state changes. */
	{
		_cleanup_json_ struct json_object *r1 = NULL, *e1 = NULL, *r2 = NULL, *e2 = NULL;
		_cleanup_json_ struct json_object *s = NULL, *r3 = NULL, *e3 = NULL;

		send_text(f, 0, "{\"execute\": \"stop\"}");
		e1 = recv_msg(f, 0);
		assert_string_equal(str_at(e1, "event", NULL), "STOP");
		r1 = recv_msg(f, 0);
		assert_return_empty(r1);
		e2 = recv_msg(f, 1);
		assert_string_equal(str_at(e2, "event", NULL), "STOP");
		s = command(f, 1, "{\"execute\": \"query-status\"}");
		assert_string_equal(str_at(s, "return", "status"), "paused");
		r2 = command(f, 1, "{\"execute\": \"stop\"}");
		assert_return_empty(r2);
		r3 = command(f, 1, "{\"execute\": \"cont\"}");
		e3 = recv_msg(f, 2);
		assert_string_equal(str_at(e3, "event", NULL), "STOP");
		json_object_put(e3);
		e3 = recv_msg(f, 2);
		assert_string_equal(str_at(e3, "event", NULL), "RESUME");
	}
}

struct add_call {
	struct fixture *f;
	int fd, r;
	sem_t done;
};

static void add_on_loop(void *opaque)
{
	struct add_call *a = opaque;

	a->r = qmp_server_add_client(a->f->server, a->fd);
	sem_post(&a->done);
}

/* Clients are added on the loop thread, which owns the server. */
static int add_client(struct fixture *f, int fd)
{
	struct add_call a = { .f = f, .fd = fd };

	sem_init(&a.done, 0, 0);
	assert_int_equal(event_loop_call(f->loop, add_on_loop, &a), 0);
	sem_wait(&a.done);
	sem_destroy(&a.done);
	return a.r;
}

static void test_too_many_clients(void **state)
{
	struct fixture *f = *state;
	int sv[QMP_CLIENTS_MAX][2], extra[2];
	char buf[512];
	ssize_t n;

	/* CLIENTS are connected; fill up to the limit, then one more. */
	for (int i = 0; i < QMP_CLIENTS_MAX - CLIENTS; i++) {
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv[i]), 0);
		assert_int_equal(add_client(f, sv[i][0]), 0);
	}
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, extra), 0);
	assert_int_equal(add_client(f, extra[0]), -EUSERS);
	n = read(extra[1], buf, sizeof(buf) - 1);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_non_null(strstr(buf, "Too many QMP clients"));
	assert_int_equal(read(extra[1], buf, sizeof(buf)), 0);
	close(extra[1]);
	for (int i = 0; i < QMP_CLIENTS_MAX - CLIENTS; i++)
		close(sv[i][1]);
}

/* The line of a transcript with @BLOCK@ replaced by block: a new string. */
static char *transcript_line(const char *line, const char *block)
{
	const char *at = strstr(line, "@BLOCK@");
	char *ret = NULL;

	if (!at)
		return strdup(line);
	assert_true(asprintf(&ret, "%.*s%s%s", (int)(at - line), line, block, at + 7) > 0);
	return ret;
}

/* Checks one message against a transcript's "->" line; a timestamp by shape only. */
static void transcript_check(struct json_object *want, struct json_object *got)
{
	struct json_object *stamp = NULL;

	if (json_object_object_get_ex(want, "timestamp", NULL)) {
		assert_true(json_object_object_get_ex(got, "timestamp", &stamp));
		assert_non_null(json_object_object_get(stamp, "seconds"));
		assert_non_null(json_object_object_get(stamp, "microseconds"));
		json_object_object_del(want, "timestamp");
		json_object_object_del(got, "timestamp");
	}
	if (!json_object_equal(want, got))
		fail_msg("expected %s, got %s", json_object_to_json_string(want),
			 json_object_to_json_string(got));
}

/* Plays one step of tests/data/qmp/NAME (the README there says the format) on client c. */
static void transcript_play(struct fixture *f, int c, const char *name, const char *step,
			    const char *block)
{
	const char *top = getenv("top_srcdir");
	char *path = NULL, line[1024];
	bool in_step = false;
	FILE *fp;

	assert_true(asprintf(&path, "%s/tests/data/qmp/%s", top ? top : "..", name) > 0);
	fp = fopen(path, "re");
	assert_non_null(fp);
	free(path);
	while (fgets(line, sizeof(line), fp)) {
		_cleanup_free_ char *text = NULL;

		line[strcspn(line, "\n")] = 0;
		if (startswith(line, "== "))
			in_step = streq(line + 3, step);
		if (!in_step || (!startswith(line, "<- ") && !startswith(line, "-> ")))
			continue;
		text = transcript_line(line + 3, block);
		if (line[0] == '<') {
			send_text(f, c, text);
			send_text(f, c, "\r\n");
		} else {
			_cleanup_json_ struct json_object *want = json_tokener_parse(text);
			_cleanup_json_ struct json_object *got = recv_msg(f, c);

			assert_non_null(want);
			transcript_check(want, got);
		}
	}
	fclose(fp);
}

static void test_guide_disk_sequence(void **state)
{
	struct fixture *f = *state;
	char path[128];
	_cleanup_json_ struct json_object *ev2 = NULL, *slots = NULL, *d = NULL, *e = NULL;
	struct json_object *slot1;
	int fd;

	snprintf(path, sizeof(path), "%s/block", f->dir);
	fd = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0600);
	assert_int_equal(ftruncate(fd, 1 << 20), 0);
	close(fd);
	skip_greeting(f, 0);
	skip_greeting(f, 1);
	transcript_play(f, 0, "guide-disk.qmp", "add", path);
	assert_non_null(f->blk[1].blk);
	slots = command(f, 1, "{\"execute\": \"query-slots\"}");
	slot1 = json_object_array_get_idx(json_object_object_get(slots, "return"), 1);
	assert_string_equal(str_at(slot1, "id", NULL), "drive-0");
	assert_string_equal(str_at(slot1, "addr", NULL), "0x1");
	assert_string_equal(str_at(slot1, "kind", NULL), "blk");
	assert_string_equal(str_at(slot1, "file", NULL), path);
	/* The guide: the event, then the return. */
	transcript_play(f, 0, "guide-disk.qmp", "del", path);
	ev2 = recv_msg(f, 1);
	assert_string_equal(str_at(ev2, "event", NULL), "DEVICE_DELETED");
	assert_null(f->blk[1].blk);
	d = command(f, 0, "{\"execute\": \"device_del\", \"arguments\": {\"id\": \"drive-0\"}}");
	assert_error(d, "DeviceNotFound", "drive-0");
	e = command(f, 0, "{\"execute\": \"device_add\", \"arguments\": {\"id\": \"x\", "
			  "\"driver\": \"e1000\"}}");
	assert_error(e, "GenericError", "e1000");
}

static void test_device_add_arguments(void **state)
{
	struct fixture *f = *state;
	char path[128], text[512];
	int fd;

	snprintf(path, sizeof(path), "%s/d", f->dir);
	fd = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0600);
	assert_int_equal(ftruncate(fd, 4096), 0);
	close(fd);
	skip_greeting(f, 0);
	for (int i = 0; i < 3; i++) {
		_cleanup_json_ struct json_object *m = NULL;

		snprintf(text, sizeof(text), "{\"execute\": \"blockdev-add\", \"arguments\": "
					     "{\"node-name\": \"n%d\", \"file\": {\"filename\": \"%s\"}, "
					     "\"cache\": {\"direct\": false}, \"read-only\": true}}", i, path);
		m = command(f, 0, text);
		assert_return_empty(m);
	}
	{
		_cleanup_json_ struct json_object *a = NULL, *b = NULL, *c = NULL, *d = NULL, *e = NULL;

		/* lun 2 is slot 3; a drive= reference; addr as a number. */
		a = command(f, 0, "{\"execute\": \"device_add\", \"arguments\": {\"id\": \"n0\", "
				  "\"driver\": \"virtio-blk-device\", \"lun\": 2}}");
		assert_return_empty(a);
		assert_non_null(f->blk[3].blk);
		b = command(f, 0, "{\"execute\": \"device_add\", \"arguments\": {\"id\": \"disk\", "
				  "\"drive\": \"n1\", \"driver\": \"virtio-blk-mmio\", \"addr\": 5}}");
		assert_return_empty(b);
		assert_string_equal(f->blk[5].blk->node_name, "n1");
		c = command(f, 0, "{\"execute\": \"device_add\", \"arguments\": {\"id\": \"n2\", "
				  "\"driver\": \"virtio-blk-mmio\", \"addr\": \"0x6\"}}");
		assert_error(c, "GenericError", "0x6");
		d = command(f, 0, "{\"execute\": \"device_add\", \"arguments\": {\"id\": \"n2\", "
				  "\"driver\": \"virtio-blk-mmio\", \"addr\": \"zz\"}}");
		assert_error(d, "GenericError", "zz");
		e = command(f, 0, "{\"execute\": \"device_add\", \"arguments\": {\"id\": \"n2\", "
				  "\"driver\": \"virtio-blk-mmio\", \"mac\": \"52:54:00:12:34:56\"}}");
		assert_error(e, "GenericError", "mac");
	}
}

static void test_getfd(void **state)
{
	struct fixture *f = *state;
	char path[128], cbuf[CMSG_SPACE(sizeof(int))];
	const char *text = "{\"execute\": \"getfd\", \"arguments\": {\"fdname\": \"img\"}}";
	struct iovec iov = { .iov_base = (void *)text, .iov_len = strlen(text) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
		.msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	_cleanup_json_ struct json_object *a = NULL, *b = NULL, *c = NULL, *d = NULL, *e = NULL;
	int fd;

	snprintf(path, sizeof(path), "%s/fd.img", f->dir);
	fd = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0600);
	assert_int_equal(ftruncate(fd, 8192), 0);
	skip_greeting(f, 0);
	a = command(f, 0, "{\"execute\": \"getfd\", \"arguments\": {\"fdname\": \"none\"}}");
	assert_error(a, "GenericError", "SCM_RIGHTS");
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	assert_int_equal(sendmsg(f->fd[0], &mh, 0), (ssize_t)strlen(text));
	close(fd);
	b = recv_msg(f, 0);
	assert_return_empty(b);
	c = command(f, 0, "{\"execute\": \"blockdev-add\", \"arguments\": {\"node-name\": \"fd\", "
			  "\"file\": {\"fd\": \"img\"}, \"cache\": {\"direct\": false}}}");
	assert_return_empty(c);
	/* blockdev-add took the named fd, as QEMU's netdev_add does. */
	d = command(f, 0, "{\"execute\": \"closefd\", \"arguments\": {\"fdname\": \"img\"}}");
	assert_error(d, "GenericError", "img");
	e = command(f, 0, "{\"execute\": \"device_add\", \"arguments\": {\"id\": \"fd\", "
			  "\"driver\": \"virtio-blk-mmio\"}}");
	assert_return_empty(e);
	assert_int_equal(f->blk[0].blk->size, 8192);
}

/* Sends text with fd attached (SCM_RIGHTS) in one sendmsg. */
static void send_with_fd(struct fixture *f, int c, const char *text, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { .iov_base = (void *)text, .iov_len = strlen(text) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
		.msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	assert_int_equal(sendmsg(f->fd[c], &mh, 0), (ssize_t)strlen(text));
}

/* A file of size bytes in the fixture's folder, open read-write. */
static int sized_file(struct fixture *f, const char *name, off_t size)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", f->dir, name);
	fd = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, size), 0);
	return fd;
}

/* Open descriptors of this process (the server runs in it, on the loop thread), counted after
 * a round trip on client 0: the server closes what a command left once its reply is queued,
 * so the reply alone does not say the close happened. */
static int count_fds(struct fixture *f)
{
	_cleanup_json_ struct json_object *m = command(f, 0, "{\"execute\": \"query-status\"}");
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	assert_non_null(json_object_object_get(m, "return"));
	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static struct json_object *getfd_with(struct fixture *f, const char *name, int fd)
{
	char text[160];

	snprintf(text, sizeof(text), "{\"execute\": \"getfd\", \"arguments\": {\"fdname\": \"%s\"}}",
		name);
	send_with_fd(f, 0, text, fd);
	return recv_msg(f, 0);
}

/* mvirtd names the fd of a device "fd-<alias>" (vmm-contract.h): the longest alias must fit. */
static void test_getfd_longest_name(void **state)
{
	struct fixture *f = *state;
	int fd = sized_file(f, "name.img", 4096);
	char name[MVIRT_FDNAME_MAX + 2], text[160];
	_cleanup_json_ struct json_object *a = NULL, *b = NULL, *c = NULL;

	skip_greeting(f, 0);
	memset(name, 'a', sizeof(name) - 1);
	name[sizeof(name) - 1] = 0;
	memcpy(name, MVIRT_FDNAME_PREFIX, strlen(MVIRT_FDNAME_PREFIX));
	a = getfd_with(f, name, fd);
	assert_error(a, "GenericError", "fdname");
	name[MVIRT_FDNAME_MAX] = 0;
	b = getfd_with(f, name, fd);
	assert_return_empty(b);
	snprintf(text, sizeof(text), "{\"execute\": \"closefd\", \"arguments\": {\"fdname\": \"%s\"}}",
		 name);
	c = command(f, 0, text);
	assert_return_empty(c);
	close(fd);
}

/* The disk a blockdev-add + device_add of named fd "img" gives slot 0: its size. */
static uint64_t plugged_size(struct fixture *f)
{
	_cleanup_json_ struct json_object *a = NULL, *b = NULL;

	a = command(f, 0, "{\"execute\": \"blockdev-add\", \"arguments\": {\"node-name\": "
			  "\"fd\", \"file\": {\"fd\": \"img\"}, \"cache\": {\"direct\": false}}}");
	assert_return_empty(a);
	b = command(f, 0, "{\"execute\": \"device_add\", \"arguments\": {\"id\": \"fd\", "
			  "\"driver\": \"virtio-blk-mmio\"}}");
	assert_return_empty(b);
	return f->blk[0].blk->size;
}

/* Every fd that comes with a command that fails or does not take it is closed at once: the
 * next getfd names its own fd, never a stale one. */
static void test_getfd_failures_close(void **state)
{
	struct fixture *f = *state;
	int before, small = sized_file(f, "small.img", 4096), big = sized_file(f, "big.img", 8192);
	char name[32];

	skip_greeting(f, 0);
	before = count_fds(f);
	{ /* a bad name */
		_cleanup_json_ struct json_object *e = getfd_with(f, "", small);

		assert_error(e, "GenericError", "fdname");
	}
	assert_int_equal(count_fds(f), before);
	{ /* a command that takes no fd */
		_cleanup_json_ struct json_object *e = NULL, *m = NULL;

		send_with_fd(f, 0, "{\"execute\": \"query-status\"}", small);
		m = recv_msg(f, 0);
		assert_string_equal(str_at(m, "return", "status"), "running");
		assert_int_equal(count_fds(f), before);
		e = command(f, 0, "{\"execute\": \"getfd\", \"arguments\": {\"fdname\": \"x\"}}");
		assert_error(e, "GenericError", "SCM_RIGHTS");
	}
	{ /* an unknown command and a message that is not JSON */
		_cleanup_json_ struct json_object *e = NULL, *g = NULL;

		send_with_fd(f, 0, "{\"execute\": \"no-such-command\"}", small);
		e = recv_msg(f, 0);
		assert_error(e, "CommandNotFound", "no-such-command");
		send_with_fd(f, 0, "{nonsense\n", small);
		g = recv_msg(f, 0);
		assert_error(g, "GenericError", "JSON");
		assert_int_equal(count_fds(f), before);
	}
	for (int i = 0; i < QMP_FDS_MAX; i++) { /* every named slot taken */
		_cleanup_json_ struct json_object *ok = NULL;

		snprintf(name, sizeof(name), "n%d", i);
		ok = getfd_with(f, name, small);
		assert_return_empty(ok);
	}
	{
		_cleanup_json_ struct json_object *e = getfd_with(f, "img", small);

		assert_error(e, "GenericError", "closefd");
	}
	assert_int_equal(count_fds(f), before + QMP_FDS_MAX);
	{
		_cleanup_json_ struct json_object *c = command(f, 0, "{\"execute\": \"closefd\", "
								  "\"arguments\": {\"fdname\": \"n0\"}}");
		_cleanup_json_ struct json_object *ok = NULL;

		assert_return_empty(c);
		ok = getfd_with(f, "img", big);
		assert_return_empty(ok);
	}
	/* "img" is the 8 KiB file sent last, not the 4 KiB one of the failed getfd. */
	assert_int_equal(plugged_size(f), 8192);
	close(small);
	close(big);
}

/* Named fds are the client's own. One client that fills its table locks
 * nobody else out of getfd, cannot use or close another's names, and its fds close when it
 * leaves: idle clients cannot pin descriptors in the VMM. */
static void test_getfd_per_client(void **state)
{
	struct fixture *f = *state;
	int before, small = sized_file(f, "small.img", 4096), n;
	char name[24], text[160];

	skip_greeting(f, 0);
	skip_greeting(f, 1);
	before = count_fds(f);
	for (int i = 0; i <= QMP_FDS_MAX; i++) {
		_cleanup_json_ struct json_object *m = NULL;

		snprintf(name, sizeof(name), "theirs%d", i);
		snprintf(text, sizeof(text),
			 "{\"execute\": \"getfd\", \"arguments\": {\"fdname\": \"%s\"}}", name);
		send_with_fd(f, 1, text, small);
		m = recv_msg(f, 1);
		if (i < QMP_FDS_MAX)
			assert_return_empty(m);
		else
			assert_error(m, "GenericError", "closefd");
	}
	{ /* client 0 (the daemon) still names its own, and does not see client 1's */
		_cleanup_json_ struct json_object *ok = getfd_with(f, "img", small), *e = NULL;

		assert_return_empty(ok);
		e = command(f, 0, "{\"execute\": \"closefd\", \"arguments\": {\"fdname\": "
				  "\"theirs0\"}}");
		assert_error(e, "GenericError", "theirs0");
	}
	assert_int_equal(count_fds(f), before + QMP_FDS_MAX + 1);
	/* Client 1 leaves: its socket (both ends) and every fd it named close. */
	f->fd[1] = safe_close(f->fd[1]);
	for (n = 0; n < 200 && count_fds(f) != before - 1; n++)
		usleep(10 * 1000);
	assert_int_equal(count_fds(f), before - 1);
	assert_int_equal(plugged_size(f), 4096);
	close(small);
}

/* An fd sent with two messages belongs to the one its bytes end in: a getfd ahead of it in
 * the same send does not take it. */
static void test_getfd_owner(void **state)
{
	struct fixture *f = *state;
	int big = sized_file(f, "big.img", 8192);
	_cleanup_json_ struct json_object *a = NULL, *b = NULL;

	skip_greeting(f, 0);
	send_with_fd(f, 0, "{\"execute\": \"getfd\", \"arguments\": {\"fdname\": \"early\"}}\r\n"
			   "{\"execute\": \"getfd\", \"arguments\": {\"fdname\": \"img\"}}\r\n", big);
	close(big);
	a = recv_msg(f, 0);
	assert_error(a, "GenericError", "SCM_RIGHTS");
	b = recv_msg(f, 0);
	assert_return_empty(b);
	assert_int_equal(plugged_size(f), 8192);
}

/* A client of the socket at path: its first message (the greeting, or a refusal). */
static int connect_and_read(const char *path, char *buf, size_t size)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t n;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    poll(&p, 1, READ_TIMEOUT_MS) != 1 || (n = read(fd, buf, size - 1)) <= 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	buf[n] = '\0';
	return fd;
}

/* The last client slot is kept for the VMM's owner (mvirtd): the VMM's own user
 * cannot hold every connection and lock the daemon out. */
static void test_last_slot_kept_for_owner(void **state)
{
	struct fixture *f = *state;
	struct event_loop *loop = event_loop_new();
	struct qmp_server *srv;
	char path[128], buf[512], *error = NULL;
	int fds[QMP_CLIENTS_MAX], status;
	pthread_t thread;
	mode_t old;
	pid_t pid;

	if (geteuid() != 0)
		skip();
	snprintf(path, sizeof(path), "%s/qmp.sock", f->dir);
	assert_int_equal(chmod(f->dir, 0755), 0);
	old = umask(0);
	srv = qmp_server_new(loop, path, f->hp, NULL, &error);
	umask(old);
	assert_non_null(srv);
	assert_int_equal(pthread_create(&thread, NULL, loop_thread, loop), 0);
	for (int i = 0; i < QMP_CLIENTS_MAX - 1; i++) {
		fds[i] = connect_and_read(path, buf, sizeof(buf));
		assert_true(fds[i] >= 0);
		assert_non_null(strstr(buf, "\"QMP\""));
	}
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) { /* another user: refused the last slot */
		int fd;

		if (setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0)
			_exit(2);
		fd = connect_and_read(path, buf, sizeof(buf));
		_exit(fd >= 0 && strstr(buf, "Too many QMP clients") ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	/* The owner (root here) still gets in. */
	fds[QMP_CLIENTS_MAX - 1] = connect_and_read(path, buf, sizeof(buf));
	assert_true(fds[QMP_CLIENTS_MAX - 1] >= 0);
	assert_non_null(strstr(buf, "\"QMP\""));
	for (int i = 0; i < QMP_CLIENTS_MAX; i++)
		close(fds[i]);
	event_loop_quit(loop, 0);
	pthread_join(thread, NULL);
	qmp_server_free(srv);
	event_loop_free(loop);
}

/* An id with \u0000 or bytes that are not UTF-8 gets an error without
 * the id (nothing raw is echoed), and the client goes on. */
static void test_nul_and_bad_utf8_refused(void **state)
{
	struct fixture *f = *state;
	static const char *const bad[] = {
		"{\"execute\": \"query-status\", \"id\": \"a\\u0000b\"}\r\n",
		"{\"execute\": \"query-status\", \"id\": \"\xff\xfe\"}\r\n",
		"{\"execute\": \"query-st\\u0000atus\"}\r\n",
	};

	skip_greeting(f, 0);
	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		_cleanup_json_ struct json_object *e = command(f, 0, bad[i]), *ok = NULL;

		assert_error(e, "GenericError", "UTF-8");
		assert_null(json_object_object_get(e, "id"));
		ok = command(f, 0, "{\"execute\": \"query-status\", \"id\": \"next\"}");
		assert_string_equal(str_at(ok, "id", NULL), "next");
	}
}

static void test_quit(void **state)
{
	struct fixture *f = *state;
	_cleanup_json_ struct json_object *r = NULL, *e = NULL;

	skip_greeting(f, 0);
	send_text(f, 0, "{\"execute\": \"quit\", \"id\": \"q\"}");
	r = recv_msg(f, 0);
	assert_return_empty(r);
	e = recv_msg(f, 0);
	assert_string_equal(str_at(e, "event", NULL), "SHUTDOWN");
	assert_string_equal(str_at(e, "data", "reason"), "host-qmp-quit");
	/* The loop thread calls quit after it has written the event: wait, do not race it. */
	for (int i = 0; i < READ_TIMEOUT_MS && !__atomic_load_n(&f->quits, __ATOMIC_SEQ_CST); i++)
		usleep(1000);
	assert_int_equal(__atomic_load_n(&f->quits, __ATOMIC_SEQ_CST), 1);
}

/* A flooding client is throttled, not dropped: every command is answered, in
 * order, and another client is served meanwhile. */
static void test_flood(void **state)
{
	struct fixture *f = *state;
	const int n = 2500;
	_cleanup_free_ char *text = malloc(n * 64);
	size_t len = 0;

	skip_greeting(f, 0);
	skip_greeting(f, 1);
	for (int i = 0; i < n; i++)
		len += sprintf(text + len, "{\"execute\":\"query-status\",\"id\":%d}\n", i);
	send_text(f, 0, text);
	{
		_cleanup_json_ struct json_object *m = command(f, 1, "{\"execute\": \"query-status\"}");
		assert_string_equal(str_at(m, "return", "status"), "running");
	}
	for (int i = 0; i < n; i++) {
		_cleanup_json_ struct json_object *m = recv_msg(f, 0);

		assert_int_equal(json_object_get_int(json_object_object_get(m, "id")), i);
	}
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_greeting),
		T(test_id_echo),
		T(test_capabilities_optional),
		T(test_capabilities_twice),
		T(test_bad_messages),
		T(test_oversized_and_truncated),
		T(test_random_bytes),
		T(test_events_to_all),
		T(test_too_many_clients),
		T(test_guide_disk_sequence),
		T(test_device_add_arguments),
		T(test_getfd),
		T(test_getfd_failures_close),
		T(test_getfd_owner),
		T(test_getfd_per_client),
		T(test_nul_and_bad_utf8_refused),
		T(test_last_slot_kept_for_owner),
		T(test_getfd_longest_name),
		T(test_quit),
		T(test_flood),
	};

	return cmocka_run_group_tests_name("qmp-server", tests, NULL, NULL);
}
