/* Launching one mvirt-vmm per running domain and finding out whether one still lives. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "domain-conf.h"
#include "domain.h"
#include "i18n.h"
#include "image.h"
#include "job.h"
#include "log.h"
#include "manager.h"
#include "qmp-client.h"
#include "util.h"
#include "vmm-contract.h"
#include "vmm-process.h"

/* Every argument mvirtd passes fits this; the VMM has 6 + 2 slots and a few options. */
#define VMM_ARGS_MAX 64
#define VMM_ARG_LEN (CONF_PATH_MAX + 64)

struct argv_buf {
	char *argv[VMM_ARGS_MAX + 1];
	int n;
};

static void argv_buf_free(struct argv_buf *a)
{
	for (int i = 0; i < a->n; i++)
		free(a->argv[i]);
}

static int arg_add(struct argv_buf *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int arg_add(struct argv_buf *a, const char *fmt, ...)
{
	va_list ap;
	int r;

	if (a->n >= VMM_ARGS_MAX)
		return -E2BIG;
	va_start(ap, fmt);
	r = vasprintf(&a->argv[a->n], fmt, ap);
	va_end(ap);
	if (r < 0)
		return -ENOMEM;
	a->argv[++a->n] = NULL;
	return 0;
}

/* The descriptors the VMM inherits: the root disk, the kernel and the initrd. */
struct vmm_fds {
	int root, kernel, initrd;
};

static void vmm_fds_close(struct vmm_fds *f)
{
	safe_close(f->root);
	safe_close(f->kernel);
	safe_close(f->initrd);
}

/*
 * The kernel and initrd are read by the VMM as root before it drops privileges, and the initrd
 * lands in guest memory: they follow the image folders like disks. mvirtd opens
 * them and the VMM reads the open file through /proc/self/fd/N, never the path.
 */
static int boot_file_open(struct domain *d, const struct image_policy *images, bool kernel,
			  const char *path, int *ret_fd, char **ret_error)
{
	_cleanup_free_ char *err = NULL;

	*ret_fd = image_open(images, path, true, false, &err);
	if (*ret_fd >= 0)
		return 0;
	if (kernel)
		return error_set_first(ret_error, *ret_fd,
			_("Cannot start domain %s with its kernel: %s"), d->name, err);
	return error_set_first(ret_error, *ret_fd,
		_("Cannot start domain %s with its initrd: %s"), d->name, err);
}

/*
 * The root disk goes on the command line as a descriptor mvirtd opened (fd=N, inherited by
 * the VMM): the VMM's user may not read the image, and its sandbox does not show it.
 */
static int build_root_disk(struct domain *d, const struct image_policy *images,
			   struct argv_buf *a, int *root_fd, char **ret_error)
{
	int root = domain_def_root_disk(d->def), r = 0;
	const struct disk_def *disk;
	_cleanup_free_ char *err = NULL;

	if (root < 0)
		return 0;
	disk = &d->def->disks[root];
	*root_fd = image_open(images, disk->source, disk->readonly, disk_def_is_direct(disk), &err);
	if (*root_fd < 0)
		return error_set_first(ret_error, *root_fd,
			_("Cannot start domain %s with its root disk: "
			  "%s"),
			d->name, err);
	r = arg_add(a, "-drive") ?: arg_add(a, "fd=%d,id=%s,readonly=%s,direct=%s", *root_fd,
					    disk->alias, disk->readonly ? "on" : "off",
					    disk_def_is_direct(disk) ? "on" : "off");
	r = r ?: arg_add(a, "-device") ?: arg_add(a, "virtio-blk-device,drive=%s,id=%s",
						     disk->alias, disk->alias);
	return r;
}

/* -runas and -sandbox: what the VMM may still do once the command line is open. */
static int build_privilege(struct domain *d, const struct manager_config *cfg,
			   struct argv_buf *a)
{
	int r = 0;

	if (cfg->sandbox)
		r = arg_add(a, "-sandbox") ?: arg_add(a, "%s", d->rundir);
	if (!r && cfg->vmm_user)
		r = arg_add(a, "-runas") ?: arg_add(a, "%s", cfg->vmm_user);
	return r;
}

static int build_argv(struct domain *d, const struct manager_config *cfg, struct argv_buf *a,
		      struct vmm_fds *fds, char **ret_error)
{
	const struct domain_def *def = d->def;
	const char *rd = d->rundir;
	int r;

	r = boot_file_open(d, &cfg->images, true, def->kernel, &fds->kernel, ret_error);
	if (!r && !isempty(def->initrd))
		r = boot_file_open(d, &cfg->images, false, def->initrd, &fds->initrd, ret_error);
	r = r ?: arg_add(a, "%s", cfg->vmm_path);
	r = r ?: arg_add(a, "-machine") ?: arg_add(a, "microvm,hotplug=%s",
						   domain_hotplug_to_string(def->hotplug));
	r = r ?: arg_add(a, "-kernel") ?: arg_add(a, "/proc/self/fd/%d", fds->kernel);
	if (!r && fds->initrd >= 0)
		r = arg_add(a, "-initrd") ?: arg_add(a, "/proc/self/fd/%d", fds->initrd);
	if (!r && !isempty(def->cmdline))
		r = arg_add(a, "-append") ?: arg_add(a, "%s", def->cmdline);
	r = r ?: arg_add(a, "-m") ?: arg_add(a, "%lluM", (unsigned long long)(def->memory_kib / 1024));
	r = r ?: arg_add(a, "-smp") ?: arg_add(a, "%u", def->vcpus ? def->vcpus : 1);
	r = r ?: build_root_disk(d, &cfg->images, a, &fds->root, ret_error);
	/* The slot model's NIC slots have their MACs from boot; the dynamic model's NICs get
	 * theirs at device_add. */
	for (int i = 0; !r && def->hotplug == DOMAIN_HOTPLUG_SLOTS && i < CONF_NIC_SLOTS; i++) {
		char mac[MAC_STR_SIZE];

		mac_format(d->nic_macs[i], mac);
		r = arg_add(a, "-device") ?: arg_add(a, "virtio-net-device,mac=%s", mac);
	}
	r = r ?: arg_add(a, "-qmp") ?: arg_add(a, "unix:%s/" MVIRT_RUNTIME_QMP_SOCKET
						    ",server,nowait", rd);
	r = r ?: arg_add(a, "-serial") ?: arg_add(a, "unix:%s/" MVIRT_RUNTIME_CONSOLE_SOCKET
						       ",logfile=%s/" MVIRT_RUNTIME_CONSOLE_LOG, rd, rd);
	r = r ?: arg_add(a, "-pidfile") ?: arg_add(a, "%s/" MVIRT_RUNTIME_PIDFILE, rd);
	r = r ?: arg_add(a, "-D") ?: arg_add(a, "%s/vmm.log", rd);
	return r ?: build_privilege(d, cfg, a);
}

static void child_exec(struct argv_buf *a, int log_fd, const struct vmm_fds *fds)
{
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	/* The fds the VMM inherits: the root disk's (fd=N), the kernel's and the initrd's. */
	int inherited[] = { fds->root, fds->kernel, fds->initrd };
	sigset_t all;

	/* The daemon blocks signals for its signalfd; the VMM must start with none blocked. */
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	/* Its own session: a terminal's ^C or the daemon's process group dying leaves it. */
	setsid();
	if (null >= 0)
		dup2(null, STDIN_FILENO);
	dup2(log_fd, STDOUT_FILENO);
	dup2(log_fd, STDERR_FILENO);
	for (size_t i = 0; i < ELEMENTSOF(inherited); i++)
		if (inherited[i] >= 0)
			fcntl(inherited[i], F_SETFD, 0);
	execv(a->argv[0], a->argv);
	dprintf(log_fd, "mvirtd: cannot run %s: %s\n", a->argv[0], strerror(errno));
	_exit(127);
}

/*
 * Where the files of a running domain live, and why they are safe. The runtime
 * folder is root's and no one else may write to it (checked here at every start), so the
 * domain's folder in it cannot be swapped for a link. The domain's folder itself belongs to
 * the VMM's user, who may plant links in it: mvirtd reaches it only through a descriptor
 * (mkdirat, openat with O_NOFOLLOW, fchown, fchmod), removes any entry that is not a plain
 * file of root's before the VMM starts, and opens vmm.log with openat_owned_file(), which
 * neither follows a symlink nor writes through a hard link. The VMM opens console.log and
 * vmm.pid (as root, before it drops privileges) the same way.
 */
static int runtime_dir_open(const char *dir, char **ret_error)
{
	_cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct stat st;

	if (fd < 0 || fstat(fd, &st) < 0)
		return error_set_first(ret_error, -errno,
			_("Cannot open the runtime folder %s: %s."), dir, strerror(errno));
	if (st.st_uid != geteuid() || (st.st_mode & 022))
		return error_set_first(ret_error, -EPERM,
			_("The runtime folder %s may be changed by users other than "
			  "mvirtd's; make it belong to root with mode 0700 or 0755."),
			dir);
	return TAKE_FD(fd);
}

static void clean_rundir(int rdfd)
{
	static const char *const gone[] = { MVIRT_RUNTIME_QMP_SOCKET, MVIRT_RUNTIME_CONSOLE_SOCKET,
					    MVIRT_RUNTIME_PIDFILE };
	static const char *const kept[] = { "vmm.log", MVIRT_RUNTIME_CONSOLE_LOG };

	for (size_t i = 0; i < ELEMENTSOF(gone); i++)
		unlinkat(rdfd, gone[i], 0);
	for (size_t i = 0; i < ELEMENTSOF(kept); i++)
		if (owned_file_clean(rdfd, kept[i]) < 0)
			log_warning("Cannot remove %s from the runtime folder of a domain: %m.",
				    kept[i]);
}

/* The VMM's runtime folder: its user must be able to remove its sockets at exit. Returns
 * the folder's descriptor. */
static int rundir_prepare(struct domain *d, const struct manager_config *cfg, char **ret_error)
{
	_cleanup_close_ int rtfd = -1, rdfd = -1;
	struct stat st;

	rtfd = runtime_dir_open(cfg->runtime_dir, ret_error);
	if (rtfd < 0)
		return rtfd;
	if (!*d->name || strchr(d->name, '/') || streq(d->name, ".") || streq(d->name, ".."))
		return error_set_first(ret_error, -EINVAL,
			_("The domain name '%s' cannot name a runtime folder."), d->name);
	if (mkdirat(rtfd, d->name, 0700) < 0 && errno != EEXIST)
		return error_set_first(ret_error, -errno,
			_("Cannot create the runtime folder %s: %s."), d->rundir, strerror(errno));
	rdfd = openat(rtfd, d->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (rdfd < 0 || fstat(rdfd, &st) < 0)
		return error_set_first(ret_error, -errno,
			_("Cannot create the runtime folder %s: %s."), d->rundir, strerror(errno));
	/* mvirtd (root) still reaches the sockets in it; nobody else but the VMM's user. */
	if (cfg->vmm_user && (fchown(rdfd, cfg->vmm_uid, cfg->vmm_gid) < 0 ||
			      fchmod(rdfd, 0700) < 0))
		return error_set_first(ret_error, -errno,
			_("Cannot give the runtime folder %s to the VMM's user %s: %s."), d->rundir,
			cfg->vmm_user, strerror(errno));
	clean_rundir(rdfd);
	return TAKE_FD(rdfd);
}

int vmm_spawn(struct domain *d, const struct manager_config *cfg, char **ret_error)
{
	_cleanup_(argv_buf_free) struct argv_buf a = { 0 };
	_cleanup_(vmm_fds_close) struct vmm_fds fds = { -1, -1, -1 };
	_cleanup_close_ int log_fd = -1, rdfd = -1;
	pid_t pid;
	int r;

	rdfd = rundir_prepare(d, cfg, ret_error);
	if (rdfd < 0)
		return rdfd;
	r = build_argv(d, cfg, &a, &fds, ret_error);
	if (r < 0)
		return r;
	/* Root writes here, in the VMM user's folder: see the note above runtime_dir_open(). */
	log_fd = openat_owned_file(rdfd, "vmm.log", O_WRONLY | O_APPEND, 0600);
	if (log_fd < 0)
		return error_set_first(ret_error, log_fd, _("Cannot open %s/vmm.log: %s."),
			d->rundir, strerror(-log_fd));
	pid = fork();
	if (pid < 0)
		return error_set_first(ret_error, -errno,
			_("Cannot start mvirt-vmm: %s."), strerror(errno));
	if (pid == 0)
		child_exec(&a, log_fd, &fds);
	d->pid = pid;
	d->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (d->pidfd < 0 || proc_pid_start_time(pid, &d->start_time) < 0)
		log_warning("Cannot track mvirt-vmm process %d: %m.", (int)pid);
	log_info("Started mvirt-vmm for %s as process %d.", d->name, (int)pid);
	return 0;
}

void vmm_exit_record(struct domain *d, const siginfo_t *si)
{
	bool exited = si->si_code == CLD_EXITED;

	d->exit_signal = exited ? 0 : si->si_status;
	d->exit_status = exited ? si->si_status : 128 + si->si_status;
}

void vmm_exit_reason(struct domain *d)
{
	char *buf = d->state_reason;
	size_t size = sizeof(d->state_reason);

	if (d->exit_signal == SIGSYS)
		snprintf(buf, size, _("mvirt-vmm was killed for a forbidden system call (seccomp); "
				      "see the kernel's audit log and %s/vmm.log."), d->rundir);
	else if (d->exit_signal == SIGKILL)
		/* mvirtd's own SIGKILLs (Destroy, a failed start) are not crashes. */
		snprintf(buf, size, _("mvirt-vmm was killed with SIGKILL by something other than "
				      "mvirtd, such as the kernel's out-of-memory killer or an "
				      "administrator; see the kernel log."));
	else if (d->exit_signal > 0)
		snprintf(buf, size, _("mvirt-vmm was killed by signal %d (%s); see %s/vmm.log."),
			 d->exit_signal, strsignal(d->exit_signal), d->rundir);
	else if (d->exit_status > 0)
		snprintf(buf, size, _("mvirt-vmm exited with status %d; see %s/vmm.log."),
			 d->exit_status, d->rundir);
	else
		/* A VMM started by an earlier mvirtd is not this one's child: no status. */
		snprintf(buf, size, _("mvirt-vmm ended and its exit status is unknown, since an "
				      "earlier mvirtd started it; see %s/vmm.log."), d->rundir);
}

int vmm_qmp_connect(struct domain *d, const char *path, int timeout_ms)
{
	struct ucred cred = { 0 };
	socklen_t len = sizeof(cred);
	int r;

	r = qmp_client_connect(path, timeout_ms, &d->qmp);
	if (r < 0 || d->pid <= 0)
		return r;
	/* qmp.sock lies in the VMM user's folder, where a link to another VMM's socket may be
	 * planted: only the domain's own VMM is talked to. */
	if (getsockopt(qmp_client_fd(d->qmp), SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 ||
	    cred.pid != d->pid) {
		log_warning("The QMP socket %s of domain %s is served by process %d, not by its "
			    "mvirt-vmm %d; it is not used.", path, d->name, (int)cred.pid,
			    (int)d->pid);
		d->qmp = qmp_client_free(d->qmp);
		return -EPERM;
	}
	return 0;
}

/* 1 if the process behind pidfd has exited (and reaps it, recording its status). */
static int vmm_exited(struct domain *d)
{
	siginfo_t si = { 0 };
	struct pollfd p = { .fd = d->pidfd, .events = POLLIN };

	if (d->pidfd < 0 || poll(&p, 1, 0) <= 0)
		return 0;
	if (waitid(P_PIDFD, (id_t)d->pidfd, &si, WEXITED | WNOHANG) == 0 && si.si_pid)
		vmm_exit_record(d, &si);
	return 1;
}

int vmm_wait_qmp(struct domain *d, int timeout_ms, char **ret_error)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/" MVIRT_RUNTIME_QMP_SOCKET, d->rundir);
	for (int waited = 0; waited < timeout_ms; waited += 20) {
		if (vmm_exited(d)) {
			vmm_exit_reason(d);
			return error_set_first(ret_error, -ECHILD,
				_("mvirt-vmm for domain %s ended before it served QMP: %s"),
				d->name, d->state_reason);
		}
		if (access(path, F_OK) == 0 && vmm_qmp_connect(d, path, 2000) == 0)
			return 0;
		job_blocking_begin();
		usleep(20 * 1000);
		job_blocking_end();
	}
	return error_set_first(ret_error, -ETIMEDOUT,
		_("mvirt-vmm for domain %s did not open its QMP socket %s within %d ms; "
		  "see %s/vmm.log."),
		d->name, path, timeout_ms, d->rundir);
}

/* A zombie still has its /proc entry and start time, but is as dead as a missing one. */
static bool proc_is_zombie(pid_t pid)
{
	char path[64], buf[512];
	_cleanup_close_ int fd = -1;
	const char *paren;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return true;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return true;
	buf[n] = 0;
	/* The command name may hold spaces and parentheses: the state follows the last ')'. */
	paren = strrchr(buf, ')');
	return !paren || paren[1] != ' ' || paren[2] == 'Z' || paren[2] == 'X';
}

int vmm_check_alive(pid_t pid, uint64_t start_time)
{
	uint64_t now_start;

	if (pid <= 0 || proc_pid_start_time(pid, &now_start) < 0)
		return -ESRCH;
	if (now_start != start_time || proc_is_zombie(pid))
		return -ESRCH;
	return 0;
}
