/*
 * The SQLite store on real database files in a temporary folder: migration from version 1,
 * CRUD, uniqueness, cascade, device state transitions, persistence, a lock held by another
 * connection, a read-only file. PRAGMA integrity_check runs after every test.
 */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include <sqlite3.h>

#include "managerd/store.h"
#include "util.h"

#define U1 "11111111-2222-4333-8444-555555555555"
#define U2 "22222222-2222-4333-8444-555555555555"

struct fixture {
	char dir[64];
	char path[96];
	struct store *s;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	strcpy(f->dir, "/tmp/mvirt-test-store-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/mvirt.db", f->dir);
	if (store_open(f->path, &f->s, NULL) < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *err = NULL;
	char cmd[128];
	int r = 0;

	if (f->s && store_integrity_check(f->s, &err) < 0) {
		print_error("integrity: %s\n", err);
		r = -1;
	}
	store_close(f->s);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		r = -1;
	free(f);
	return r;
}

static void add_domain(struct store *s, const char *uuid, const char *name)
{
	struct store_domain d = { .definition = (char *)"<domain/>" };

	strcpy(d.uuid, uuid);
	strcpy(d.name, name);
	assert_int_equal(store_domain_insert(s, &d, NULL), 0);
}

static void test_domains(void **state)
{
	struct fixture *f = *state;
	struct store_domain d = { .definition = (char *)"<x/>" }, got = {};
	_cleanup_free_ char *err = NULL;
	struct store_domain *list = NULL;
	size_t n;

	assert_int_equal(store_schema_version(f->s), STORE_SCHEMA_VERSION);
	add_domain(f->s, U1, "b-vm");
	strcpy(d.uuid, U2);
	strcpy(d.name, "b-vm");
	assert_int_equal(store_domain_insert(f->s, &d, &err), -EEXIST);
	assert_string_equal(err, "A domain named b-vm already exists.");
	strcpy(d.uuid, U1);
	strcpy(d.name, "other");
	assert_int_equal(store_domain_insert(f->s, &d, &err), -EEXIST);
	assert_non_null(strstr(err, "UUID " U1));
	add_domain(f->s, U2, "a-vm");
	assert_int_equal(store_domain_update(f->s, U2, "b-vm", "<y/>", &err), -EEXIST);
	assert_int_equal(store_domain_update(f->s, U2, "a-vm2", "<y/>", NULL), 0);
	assert_int_equal(store_domain_set_autostart(f->s, U2, true, NULL), 0);
	assert_int_equal(store_domain_set_desired_state(f->s, U2, STORE_DESIRED_RUNNING, NULL), 0);
	assert_int_equal(store_domain_get_by_name(f->s, "a-vm2", &got, NULL), 0);
	assert_string_equal(got.uuid, U2);
	assert_string_equal(got.definition, "<y/>");
	assert_true(got.autostart);
	assert_int_equal(got.desired_state, STORE_DESIRED_RUNNING);
	store_domain_clear(&got);
	assert_int_equal(store_domain_list(f->s, &list, &n, NULL), 0);
	assert_int_equal(n, 2);
	assert_string_equal(list[0].name, "a-vm2");
	store_domain_array_free(list, n);
	assert_int_equal(store_domain_get(f->s, "33333333-2222-4333-8444-555555555555", &got, &err),
			 -ENOENT);
	assert_int_equal(store_domain_delete(f->s, U1, NULL), 0);
	assert_int_equal(store_domain_delete(f->s, U1, &err), -ENOENT);
	assert_non_null(strstr(err, "No domain with UUID"));
}

static void test_devices_and_cascade(void **state)
{
	struct fixture *f = *state;
	struct store_device dev = { .domain_uuid = U1, .alias = "disk-vdb", .kind = "disk",
				    .definition = (char *)"<disk/>", .slot = 1, .live = true,
				    .state = STORE_DEVICE_ATTACHING };
	struct store_runtime rt = { .domain_uuid = U1, .vmm_pid = getpid(),
				    .qmp_socket = "/run/mvirt/a/qmp.sock" }, rt2;
	_cleanup_free_ char *err = NULL;
	struct store_device *list = NULL, got;
	size_t n;

	assert_int_equal(store_device_insert(f->s, &dev, &err), -ENOENT);
	add_domain(f->s, U1, "vm");
	assert_int_equal(store_device_insert(f->s, &dev, NULL), 0);
	assert_int_equal(store_device_insert(f->s, &dev, &err), -EEXIST);
	strcpy(dev.alias, "disk-other");
	assert_int_equal(store_device_insert(f->s, &dev, &err), -EEXIST); /* slot 1 is taken */
	strcpy(dev.kind, "interface");
	dev.created = STORE_DEVICE_TAP_CREATED;
	strcpy(dev.host_ifname, "mvtap0");
	assert_int_equal(store_device_insert(f->s, &dev, NULL), 0);
	assert_int_equal(store_device_set_state(f->s, U1, "disk-vdb", STORE_DEVICE_DETACHING,
						&err),
			 -EINVAL);
	assert_non_null(strstr(err, "is attaching and cannot become detaching"));
	assert_int_equal(store_device_set_state(f->s, U1, "disk-vdb", STORE_DEVICE_ATTACHED, NULL),
			 0);
	assert_int_equal(store_device_set_state(f->s, U1, "disk-vdb", STORE_DEVICE_DETACHING, NULL),
			 0);
	assert_int_equal(store_device_set_state(f->s, U1, "disk-vdb", STORE_DEVICE_ATTACHED, NULL),
			 0);
	assert_int_equal(store_device_get(f->s, U1, "disk-other", &got, NULL), 0);
	assert_int_equal(got.created, STORE_DEVICE_TAP_CREATED);
	assert_string_equal(got.host_ifname, "mvtap0");
	got.slot = -1;
	got.state = STORE_DEVICE_ATTACHED;
	assert_int_equal(store_device_update(f->s, &got, NULL), 0);
	store_device_clear(&got);
	assert_int_equal(store_device_list(f->s, U1, &list, &n, NULL), 0);
	assert_int_equal(n, 2);
	assert_string_equal(list[0].alias, "disk-vdb");
	assert_int_equal(list[1].slot, -1);
	store_device_array_free(list, n);

	assert_int_equal(proc_pid_start_time(getpid(), &rt.vmm_start_time), 0);
	assert_true(rt.vmm_start_time > 0);
	assert_int_equal(store_runtime_set(f->s, &rt, NULL), 0);
	assert_int_equal(store_runtime_get(f->s, U1, &rt2, NULL), 0);
	assert_int_equal(rt2.vmm_start_time, rt.vmm_start_time);
	/* Undefine removes devices and runtime with the domain. */
	assert_int_equal(store_domain_delete(f->s, U1, NULL), 0);
	assert_int_equal(store_device_get(f->s, U1, "disk-vdb", &got, NULL), -ENOENT);
	assert_int_equal(store_runtime_get(f->s, U1, &rt2, NULL), -ENOENT);
}

static void test_migrate_and_reopen(void **state)
{
	struct fixture *f = *state;
	char path[128];
	struct store *old = NULL;
	struct store_runtime rt = { .domain_uuid = U1, .vmm_pid = 1, .qmp_socket = "/q" };
	struct store_domain got;

	snprintf(path, sizeof(path), "%s/v1.db", f->dir);
	assert_int_equal(store_open_version(path, 1, &old, NULL), 0);
	assert_int_equal(store_schema_version(old), 1);
	add_domain(old, U1, "kept");
	old = store_close(old);
	assert_int_equal(store_open(path, &old, NULL), 0);
	assert_int_equal(store_schema_version(old), STORE_SCHEMA_VERSION);
	assert_int_equal(store_domain_get(old, U1, &got, NULL), 0);
	assert_string_equal(got.name, "kept");
	store_domain_clear(&got);
	assert_int_equal(store_runtime_set(old, &rt, NULL), 0);
	assert_int_equal(store_integrity_check(old, NULL), 0);
	old = store_close(old);
	assert_int_equal(store_open(path, &old, NULL), 0);
	assert_int_equal(store_runtime_get(old, U1, &rt, NULL), 0);
	store_close(old);
}

/* The bridges mvirtd created, remembered across restarts (schema version 3). */
static void test_bridges(void **state)
{
	struct fixture *f = *state;
	struct store_device br = {
		.domain_uuid = U1, .alias = "net-br", .kind = "interface", .slot = 0,
		.definition = (char *)"<interface type='bridge'>\n  <mac address='52:54:00:00:00:01'/>"
				      "\n  <source bridge='oldbr0'/>\n  <target dev='vnet0'/>\n"
				      "</interface>\n",
		.created = STORE_DEVICE_TAP_CREATED | STORE_DEVICE_BRIDGE_CREATED,
		.state = STORE_DEVICE_ATTACHED,
	}, eth = br, got;
	char (*names)[STORE_IFNAME_MAX + 1] = NULL;
	char path[128];
	struct store *s = NULL;
	size_t n = 0;

	strcpy(eth.alias, "net-eth");
	eth.slot = 1;
	eth.created = 0;
	eth.definition = (char *)"<interface type='ethernet'>\n  <mac address='52:54:00:00:00:02'/>"
				 "\n  <target dev='usertap'/>\n</interface>\n";
	snprintf(path, sizeof(path), "%s/br.db", f->dir);
	assert_int_equal(store_open_version(path, 2, &s, NULL), 0);
	/* Version 2's devices: a bridge made for one (created & 2), a user's TAP for another. */
	add_domain(s, U1, "vm");
	assert_int_equal(store_device_insert(s, &br, NULL), 0);
	assert_int_equal(store_device_insert(s, &eth, NULL), 0);
	s = store_close(s);
	assert_int_equal(store_open(path, &s, NULL), 0);
	assert_int_equal(store_bridge_created(s, "oldbr0"), 1);
	assert_int_equal(store_device_get(s, U1, "net-eth", &got, NULL), 0);
	assert_non_null(strstr(got.definition, "<target managed='no' dev='usertap'/>"));
	store_device_clear(&got);
	assert_int_equal(store_device_get(s, U1, "net-br", &got, NULL), 0);
	assert_null(strstr(got.definition, "managed"));
	store_device_clear(&got);
	assert_int_equal(store_bridge_delete(s, "oldbr0", NULL), 0);
	assert_int_equal(store_bridge_created(s, "mvbr0"), 0);
	assert_int_equal(store_bridge_add(s, "mvbr0", NULL), 0);
	assert_int_equal(store_bridge_add(s, "mvbr0", NULL), 0);
	assert_int_equal(store_bridge_add(s, "mvbr1", NULL), 0);
	assert_int_equal(store_bridge_add(s, "sixteen-chars-xx", NULL), -EINVAL);
	s = store_close(s);
	assert_int_equal(store_open(path, &s, NULL), 0);
	assert_int_equal(store_bridge_created(s, "mvbr0"), 1);
	assert_int_equal(store_bridge_list(s, &names, &n, NULL), 0);
	assert_int_equal(n, 2);
	assert_string_equal(names[0], "mvbr0");
	assert_string_equal(names[1], "mvbr1");
	free(names);
	assert_int_equal(store_bridge_delete(s, "mvbr0", NULL), 0);
	assert_int_equal(store_bridge_delete(s, "mvbr0", NULL), 0);
	assert_int_equal(store_bridge_created(s, "mvbr0"), 0);
	store_close(s);
}

static void test_locked(void **state)
{
	struct fixture *f = *state;
	sqlite3 *other = NULL;
	_cleanup_free_ char *err = NULL;

	assert_int_equal(sqlite3_open(f->path, &other), SQLITE_OK);
	assert_int_equal(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
	store_set_busy_timeout(f->s, 50);
	struct store_domain d = { .uuid = U1, .name = "x", .definition = (char *)"<x/>" };
	assert_int_equal(store_domain_insert(f->s, &d, &err), -EBUSY);
	assert_non_null(strstr(err, "is locked by another program"));
	sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(other);
	assert_int_equal(store_domain_insert(f->s, &d, NULL), 0);
}

static void test_read_only(void **state)
{
	struct fixture *f = *state;
	pid_t pid;
	int status;

	/* Root ignores file modes, so the check runs in a child that gives up root. */
	assert_int_equal(chmod(f->dir, 0755), 0);
	assert_int_equal(chmod(f->path, 0444), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct store *s = NULL;
		char *err = NULL;
		int r;

		if (geteuid() == 0 && (setgid(65534) < 0 || setuid(65534) < 0))
			_exit(2);
		r = store_open(f->path, &s, &err);
		_exit(r == -EROFS && err && strstr(err, "is read-only") ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(chmod(f->path, 0644), 0);
}

/* The names are stored in the database: every state has one and reads back as itself. */
static void test_state_names(void **state)
{
	for (int i = 0; i < _STORE_DESIRED_MAX; i++)
		assert_int_equal(store_desired_state_from_string(store_desired_state_to_string(i)), i);
	for (int i = 0; i < _STORE_DEVICE_STATE_MAX; i++)
		assert_int_equal(store_device_state_from_string(store_device_state_to_string(i)), i);
	assert_string_equal(store_device_state_to_string(STORE_DEVICE_DETACHING), "detaching");
	assert_null(store_desired_state_to_string(_STORE_DESIRED_MAX));
	assert_int_equal(store_desired_state_from_string("Running"), _STORE_DESIRED_INVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_state_names),
		cmocka_unit_test_setup_teardown(test_domains, setup, teardown),
		cmocka_unit_test_setup_teardown(test_devices_and_cascade, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrate_and_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bridges, setup, teardown),
		cmocka_unit_test_setup_teardown(test_locked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_only, setup, teardown),
	};

	return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
