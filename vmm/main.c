/* mvirt-vmm: one KVM microVM per process. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder.h"
#include "cmdline.h"
#include "eventloop.h"
#include "i18n.h"
#include "log.h"
#include "privilege.h"
#include "seccomp-rules.h"
#include "util.h"

/*
 * -daemonize: the parent waits until the child has built the VM and reports
 * its result as the exit status, so a caller sees errors, not a child that
 * dies later. Returns the pipe's write end in the child.
 */
static int daemonize_start(void)
{
	int p[2];
	pid_t pid;
	uint8_t status = 1;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid > 0) {
		close(p[1]);
		if (read(p[0], &status, 1) != 1)
			status = 1;
		_exit(status);
	}
	close(p[0]);
	if (setsid() < 0)
		return -errno;
	return p[1];
}

static void daemonize_finish(int fd, int status)
{
	uint8_t s = status ? 1 : 0;
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (null >= 0 && status == 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
	}
	safe_close(null);
	(void)!write(fd, &s, 1);
	safe_close(fd);
}

/*
 * The pid file, the -D log and the console log are opened as root, before privileges drop, in
 * a folder that mvirtd gives to the VMM's user: open_owned_file() (openat + O_NOFOLLOW in the
 * folder, then the file checked) never follows a symlink or writes through a hard link planted
 * there; mvirtd removes such entries before it starts the VMM.
 */
static int pidfile_write(const char *path)
{
	char buf[32];
	_cleanup_close_ int fd = open_owned_file(path, O_WRONLY | O_TRUNC, 0644);

	if (fd < 0)
		return log_error_errno(fd, _("Cannot write the pid file %s: %m."), path);
	snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	return write_full(fd, buf, strlen(buf));
}

static int log_open(const char *path)
{
	int fd = open_owned_file(path, O_WRONLY | O_APPEND, 0644);

	if (fd < 0)
		return log_error_errno(fd, _("Cannot open the log file %s (-D): %m."), path);
	log_set_fd(fd);
	return 0;
}

/* After everything the command line names is open, before the first guest instruction. */
static int privileges_drop(const struct vmm_config *cfg, const struct runas *who)
{
	int r = 0;

	if (cfg->sandbox) {
		r = sandbox_enter(cfg->sandbox);
		if (r >= 0)
			hotplug_set_sandbox(cfg->sandbox);
	}
	if (r >= 0 && cfg->runas)
		r = runas_apply(who);
	return r;
}

static int run(const struct vmm_config *cfg)
{
	_cleanup_(event_loop_freep) struct event_loop *loop = NULL;
	_cleanup_(vmm_freep) struct vmm *vmm = NULL;
	struct runas who = { 0 };
	int daemon_fd = -1, r;

	if (cfg->log_file && log_open(cfg->log_file) < 0)
		return 1;
	/* A console or QMP client that goes away mid-write is an EPIPE to handle, not the end of
	 * the VM. Before any thread exists, so all of them inherit it. */
	signal(SIGPIPE, SIG_IGN);
	/* Names are looked up while /etc is still visible. */
	if (cfg->runas && runas_resolve(cfg->runas, &who) < 0)
		return 1;
	if (cfg->daemonize) {
		daemon_fd = daemonize_start();
		if (daemon_fd < 0)
			return log_error_errno(daemon_fd, "Failed to daemonize: %m"), 1;
	}
	loop = event_loop_new();
	r = loop ? vmm_build(cfg, loop, &vmm) : -ENOMEM;
	if (r >= 0 && cfg->pidfile)
		r = pidfile_write(cfg->pidfile);
	if (r >= 0)
		r = privileges_drop(cfg, &who);
	if (daemon_fd >= 0)
		daemonize_finish(daemon_fd, r < 0);
	if (r < 0)
		return 1;
	r = vmm_run(vmm);
	vmm = vmm_free(vmm);
	if (cfg->pidfile)
		unlink(cfg->pidfile);
	return r < 0 ? 1 : r;
}

int main(int argc, char **argv)
{
	struct vmm_config cfg;
	int r;

	i18n_init();
	log_set_ident("mvirt-vmm");
	r = cmdline_parse(argc, argv, &cfg);
	if (r < 0) {
		vmm_config_done(&cfg);
		return 2;
	}
	if (cfg.help)
		cmdline_usage(argv[0]);
	else if (cfg.version)
		printf("mvirt-vmm %s\n", PACKAGE_VERSION);
	else if (cfg.dump_acpi)
		r = vmm_dump_acpi(&cfg, cfg.dump_acpi) < 0 ? 1 : 0;
	else
		r = run(&cfg);
	vmm_config_done(&cfg);
#if defined(__SANITIZE_ADDRESS__)
	/* LeakSanitizer's exit check stops every thread with ptrace, which the filter refuses
	 * (SIGSYS, a crash at every exit): a filtered VMM of the sanitizer build leaves without
	 * it. Runs with -disable-seccomp, and the unit tests, keep the leak check. */
	if (seccomp_installed()) {
		fflush(NULL);
		_exit(r);
	}
#endif
	return r;
}
