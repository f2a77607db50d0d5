/* -sandbox and -runas: see privilege.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <pwd.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "i18n.h"
#include "log.h"
#include "privilege.h"
#include "util.h"

#define OLD_ROOT "/.old-root"

static int id_parse(const char *s, unsigned long *ret)
{
	char *end;

	errno = 0;
	*ret = strtoul(s, &end, 10);
	return *s && !*end && !errno && *ret < UINT_MAX ? 0 : -EINVAL;
}

int runas_resolve(const char *spec, struct runas *ret)
{
	char user[256];
	const char *colon = strchr(spec, ':');
	size_t n = colon ? (size_t)(colon - spec) : strlen(spec);
	struct passwd *pw;
	unsigned long id;

	if (n == 0 || n >= sizeof(user) || (colon && !colon[1]))
		return log_error_errno(-EINVAL, _("The -runas value '%s' is not USER or USER:GROUP."),
			spec);
	memcpy(user, spec, n);
	user[n] = '\0';
	pw = getpwnam(user);
	if (pw) {
		ret->uid = pw->pw_uid;
		ret->gid = pw->pw_gid;
	} else if (id_parse(user, &id) == 0 && colon) {
		ret->uid = (uid_t)id;
	} else {
		return log_error_errno(-ESRCH, _("The user '%s' (-runas) does not exist; give an "
						 "existing user, or a number with :GROUP."), user);
	}
	if (colon) {
		struct group *gr = getgrnam(colon + 1);

		if (gr)
			ret->gid = gr->gr_gid;
		else if (id_parse(colon + 1, &id) == 0)
			ret->gid = (gid_t)id;
		else
			return log_error_errno(-ESRCH, _("The group '%s' (-runas) does not exist; "
							 "give an existing group or a number."),
				colon + 1);
	}
	if (ret->uid == 0)
		return log_error_errno(-EINVAL, _("The -runas user '%s' is root; give an "
						  "unprivileged user such as nobody."), user);
	/* Group root owns files a VMM must not write (and may read): as bad as user root. */
	if (ret->gid == 0)
		return log_error_errno(-EINVAL, _("The -runas group of '%s' is root (group 0); give "
						  "an unprivileged group such as nogroup."), spec);
	return 0;
}

static int path_join(char *buf, size_t size, const char *a, const char *b)
{
	int n = snprintf(buf, size, "%s%s", a, b);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* Directories of path, one by one, under the new root (mkdir -p, mode 0755). */
static int mkdir_parents(const char *root, const char *path)
{
	char buf[2 * PATH_MAX];
	int r = path_join(buf, sizeof(buf), root, path);

	if (r < 0)
		return r;
	for (char *p = buf + strlen(root) + 1; ; p++) {
		if (*p != '/' && *p)
			continue;
		char c = *p;

		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -errno;
		if (!c)
			return 0;
		*p = c;
	}
}

/* The steps after unshare: the tmpfs root is mounted over the runtime directory itself (a
 * path that surely exists), which dir_fd still reaches to bind it back at its own path. */
static int sandbox_build(const char *dir, int dir_fd)
{
	char src[64];
	char target[2 * PATH_MAX];
	int r;

	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return -errno;
	if (mount("mvirt-sandbox", dir, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  "mode=0755,size=64k") < 0)
		return -errno;
	r = mkdir_parents(dir, dir);
	if (r < 0)
		return r;
	r = mkdir_parents(dir, OLD_ROOT);
	if (r < 0)
		return r;
	snprintf(src, sizeof(src), "/proc/self/fd/%d", dir_fd);
	r = path_join(target, sizeof(target), dir, dir);
	if (r < 0)
		return r;
	/* Not MS_REC: the tmpfs now mounted on the directory would come along and hide it. */
	if (mount(src, target, NULL, MS_BIND, NULL) < 0)
		return -errno;
	r = path_join(target, sizeof(target), dir, OLD_ROOT);
	if (r < 0)
		return r;
	if (syscall(SYS_pivot_root, dir, target) < 0)
		return -errno;
	if (chdir("/") < 0 || umount2(OLD_ROOT, MNT_DETACH) < 0 || rmdir(OLD_ROOT) < 0)
		return -errno;
	/* Nothing more is created in the root: make it read-only. */
	if (mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV |
			  MS_NOEXEC, NULL) < 0)
		return -errno;
	return 0;
}

int sandbox_enter(const char *runtime_dir)
{
	char dir[PATH_MAX];
	_cleanup_close_ int fd = -1;
	int r;

	if (!realpath(runtime_dir, dir))
		return log_error_errno(errno, _("The runtime directory %s (-sandbox) cannot be "
						"used: %m."), runtime_dir);
	if (streq(dir, "/"))
		return log_error_errno(-EINVAL, _("The runtime directory (-sandbox) is /, which "
						  "would hide nothing; give the VM's own directory."));
	if (unshare(CLONE_NEWNS) < 0)
		return log_error_errno(errno, _("Cannot enter a new mount namespace for -sandbox "
						"(it needs CAP_SYS_ADMIN): %m."));
	/* Opened in the new namespace: a bind mount's source must be one of its own mounts. */
	fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return log_error_errno(errno, _("Cannot open the runtime directory %s (-sandbox): "
						"%m."), dir);
	r = sandbox_build(dir, fd);
	if (r < 0)
		return log_error_errno(r, _("Cannot build the sandbox around %s: %m."), dir);
	log_debug("Sandboxed: only %s is visible.", dir);
	return 0;
}

/* Empties the bounding and ambient sets, then (after setuid) every set of this thread. */
static int caps_clear_all(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3] = { 0 };

	if (syscall(SYS_capset, &h, d) < 0)
		return -errno;
	return 0;
}

int runas_apply(const struct runas *who)
{
	int r;

	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
		return log_error_errno(errno, _("Cannot clear the ambient capabilities: %m."));
	for (int cap = 0; cap <= CAP_LAST_CAP; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
			return log_error_errno(errno, _("Cannot drop capability %d from the bounding "
							"set (-runas needs CAP_SETPCAP): %m."), cap);
	if (setgroups(1, &who->gid) < 0 || setresgid(who->gid, who->gid, who->gid) < 0)
		return log_error_errno(errno, _("Cannot change to group %u (-runas): %m."),
			(unsigned)who->gid);
	if (setresuid(who->uid, who->uid, who->uid) < 0)
		return log_error_errno(errno, _("Cannot change to user %u (-runas): %m."),
			(unsigned)who->uid);
	r = caps_clear_all();
	if (r < 0)
		return log_error_errno(r, _("Cannot clear the capabilities after -runas: %m."));
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return log_error_errno(errno, _("Cannot set no_new_privs: %m."));
	log_info("Running as uid %u, gid %u, with no capabilities.", (unsigned)who->uid,
		(unsigned)who->gid);
	return 0;
}
