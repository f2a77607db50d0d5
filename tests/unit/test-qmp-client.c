/*
 * qmp-client.c against a real QMP server: QEMU's (`-M none`), which speaks the
 * protocol mvirt-vmm serves. Skips when $QEMU is not set or absent.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "json-stream.h"
#include "qmp-client.h"

struct fixture {
	pid_t pid;
	char dir[64];
	char sock[128];
	struct qmp_client *qmp;
};

static int connect_retry(struct fixture *f)
{
	for (int i = 0; i < 200; i++) {
		if (qmp_client_connect(f->sock, 5000, &f->qmp) == 0)
			return 0;
		usleep(50 * 1000);
	}
	return -ETIMEDOUT;
}

static int setup(void **state)
{
	const char *qemu = getenv("QEMU");
	struct fixture *f;
	char qmp_arg[160];

	if (!qemu || access(qemu, X_OK) < 0)
		return 0;
	f = calloc(1, sizeof(*f));
	assert_non_null(f);
	strcpy(f->dir, "/tmp/mvirt-qmp-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->sock, sizeof(f->sock), "%s/qmp.sock", f->dir);
	snprintf(qmp_arg, sizeof(qmp_arg), "unix:%s,server,nowait", f->sock);
	f->pid = fork();
	assert_true(f->pid >= 0);
	if (f->pid == 0) {
		int null = open("/dev/null", O_RDWR);

		dup2(null, 0);
		dup2(null, 1);
		execl(qemu, qemu, "-M", "none", "-nodefaults", "-display", "none", "-qmp", qmp_arg,
		      (char *)NULL);
		_exit(127);
	}
	assert_int_equal(connect_retry(f), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	if (!f)
		return 0;
	qmp_client_free(f->qmp);
	kill(f->pid, SIGKILL);
	waitpid(f->pid, NULL, 0);
	unlink(f->sock);
	rmdir(f->dir);
	free(f);
	return 0;
}

#define FIXTURE(state)                                                                             \
	({                                                                                         \
		if (!*(state))                                                                     \
			skip();                                                                    \
		(struct fixture *)*(state);                                                        \
	})

static void test_query_status(void **state)
{
	struct fixture *f = FIXTURE(state);
	_cleanup_json_ struct json_object *ret = NULL;
	struct json_object *status = NULL;

	assert_int_equal(qmp_client_execute(f->qmp, "query-status", NULL, -1, 5000, &ret, NULL), 0);
	assert_true(json_object_object_get_ex(ret, "status", &status));
}

static void test_error_reply(void **state)
{
	struct fixture *f = FIXTURE(state);
	_cleanup_(qmp_error_done) struct qmp_error err = {};

	assert_int_equal(qmp_client_execute(f->qmp, "no-such-command", NULL, -1, 5000, NULL, &err),
			 -EREMOTEIO);
	assert_int_equal(err.error_class, QMP_ERROR_COMMAND_NOT_FOUND);
	assert_int_equal(qmp_error_to_errno(err.error_class), -EOPNOTSUPP);
	assert_non_null(err.desc);
	assert_non_null(strstr(err.desc, "no-such-command"));
	assert_null(strstr(err.desc, "CommandNotFound"));
}

/* The class is read from the wire, not from the sentence: DeviceNotFound means -ENODEV. */
static void test_device_not_found(void **state)
{
	struct fixture *f = FIXTURE(state);
	_cleanup_json_ struct json_object *args = json_object_new_object();
	_cleanup_(qmp_error_done) struct qmp_error err = {};

	json_object_object_add(args, "id", json_object_new_string("no-such-device"));
	assert_int_equal(qmp_client_execute(f->qmp, "device_del", args, -1, 5000, NULL, &err),
			 -EREMOTEIO);
	assert_int_equal(err.error_class, QMP_ERROR_DEVICE_NOT_FOUND);
	assert_int_equal(qmp_error_to_errno(err.error_class), -ENODEV);
}

static void test_getfd_closefd(void **state)
{
	struct fixture *f = FIXTURE(state);
	_cleanup_json_ struct json_object *args = json_object_new_object();
	_cleanup_(qmp_error_done) struct qmp_error err = {};
	int p[2];

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	json_object_object_add(args, "fdname", json_object_new_string("tap0"));
	assert_int_equal(qmp_client_execute(f->qmp, "getfd", args, p[0], 5000, NULL, NULL), 0);
	close(p[0]);
	close(p[1]);
	/* The server really holds it: closefd succeeds once, then knows no such fd. */
	assert_int_equal(qmp_client_execute(f->qmp, "closefd", args, -1, 5000, NULL, NULL), 0);
	assert_int_equal(qmp_client_execute(f->qmp, "closefd", args, -1, 5000, NULL, &err),
			 -EREMOTEIO);
	assert_int_equal(err.error_class, QMP_ERROR_GENERIC);
	assert_int_equal(qmp_error_to_errno(err.error_class), -EIO);
	/* getfd without a passed fd is refused by the server. */
	assert_int_equal(qmp_client_execute(f->qmp, "getfd", args, -1, 5000, NULL, NULL),
			 -EREMOTEIO);
}

static void test_events_queued(void **state)
{
	struct fixture *f = FIXTURE(state);
	_cleanup_json_ struct json_object *ev = NULL, *ev2 = NULL;

	/* STOP and RESUME arrive around the replies; they are queued in order. */
	assert_int_equal(qmp_client_execute(f->qmp, "stop", NULL, -1, 5000, NULL, NULL), 0);
	assert_int_equal(qmp_client_execute(f->qmp, "cont", NULL, -1, 5000, NULL, NULL), 0);
	assert_int_equal(qmp_client_wait_event(f->qmp, "RESUME", NULL, 5000, &ev), 1);
	assert_string_equal(qmp_event_name(ev), "RESUME");
	assert_int_equal(qmp_client_next_event(f->qmp, &ev2), 1);
	assert_string_equal(qmp_event_name(ev2), "STOP");
	/* Nothing else is queued and nothing comes: a timeout, not an error. */
	assert_int_equal(qmp_client_wait_event(f->qmp, "DEVICE_DELETED", "x", 100, &ev2), 0);
}

static void test_quit_then_eof(void **state)
{
	struct fixture *f = FIXTURE(state);
	_cleanup_json_ struct json_object *ev = NULL;
	int r;

	assert_int_equal(qmp_client_execute(f->qmp, "quit", NULL, -1, 5000, NULL, NULL), 0);
	assert_int_equal(qmp_client_wait_event(f->qmp, "SHUTDOWN", NULL, 5000, &ev), 1);
	for (int i = 0; i < 100; i++) {
		r = qmp_client_process(f->qmp);
		if (r < 0)
			break;
		usleep(20 * 1000);
	}
	assert_int_equal(r, -ECONNRESET);
	assert_int_equal(qmp_client_execute(f->qmp, "query-status", NULL, -1, 1000, NULL, NULL) < 0,
			 1);
}

static void test_connect_refused(void **state)
{
	struct qmp_client *c = NULL;

	assert_true(qmp_client_connect("/nonexistent/qmp.sock", 100, &c) < 0);
	assert_null(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_connect_refused),
		cmocka_unit_test_setup_teardown(test_query_status, setup, teardown),
		cmocka_unit_test_setup_teardown(test_error_reply, setup, teardown),
		cmocka_unit_test_setup_teardown(test_device_not_found, setup, teardown),
		cmocka_unit_test_setup_teardown(test_getfd_closefd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_events_queued, setup, teardown),
		cmocka_unit_test_setup_teardown(test_quit_then_eof, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
