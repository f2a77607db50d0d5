/* The allowlists really filter: each case runs in a child that installs one. */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include <linux/kvm.h>

#include "seccomp-rules.h"

/* Runs fn in a child under the allowlist of kind; returns the child's wait status. */
static int run_filtered(enum seccomp_thread kind, void (*fn)(void))
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		if (seccomp_install(kind) < 0)
			_exit(100);
		fn();
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static void open_a_socket(void)
{
	/* A VMM never creates sockets after start: the QMP socket exists before the filter. */
	socket(AF_INET, SOCK_STREAM, 0);
}

static void allowed_calls(void)
{
	char c = 'x';

	/* Writes, and malloc big enough to mmap, are what every thread does. */
	if (write(STDERR_FILENO, &c, 0) < 0)
		_exit(1);
	free(malloc(1 << 20));
}

static void emulation_failure_dump(void)
{
	/* vcpu_log_state(): what a vCPU calls to say where the guest failed. No session of the
	 * integration tests gets there, so the audit test cannot see these calls. */
	ioctl(-1, KVM_GET_REGS, NULL);
	ioctl(-1, KVM_GET_SREGS, NULL);
	ioctl(-1, KVM_TRANSLATE, NULL);
}

static void test_vcpu_may_dump_its_state(void **state)
{
	int status = run_filtered(SECCOMP_THREAD_VCPU, emulation_failure_dump);

	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_forbidden_call_kills_the_process(void **state)
{
	for (int kind = 0; kind < _SECCOMP_THREAD_MAX; kind++) {
		int status = run_filtered(kind, open_a_socket);

		assert_true(WIFSIGNALED(status));
		assert_int_equal(WTERMSIG(status), SIGSYS);
	}
}

static void test_allowed_calls_run(void **state)
{
	for (int kind = 0; kind < _SECCOMP_THREAD_MAX; kind++) {
		int status = run_filtered(kind, allowed_calls);

		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
}

static void test_lists_stay_small(void **state)
{
	/* StratoVirt claims fewer than 55 system calls; a list that grows needs a reason. */
	assert_true(seccomp_rule_count(SECCOMP_THREAD_VCPU) < 40);
	assert_true(seccomp_rule_count(SECCOMP_THREAD_MAIN) < 70);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_forbidden_call_kills_the_process),
		cmocka_unit_test(test_allowed_calls_run),
		cmocka_unit_test(test_lists_stay_small),
		cmocka_unit_test(test_vcpu_may_dump_its_state),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
