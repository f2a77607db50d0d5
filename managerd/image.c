/* Opening disk images for the VMM inside the configured folders (see image.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "i18n.h"
#include "image.h"
#include "util.h"

/* Whether the resolved path real lies inside the folder dir (resolved too). */
static bool path_inside(const char *real, const char *dir)
{
	_cleanup_free_ char *d = realpath(dir, NULL);
	size_t n;

	/* A folder that does not exist (yet) holds nothing. */
	if (!d)
		return false;
	n = strlen(d);
	if (n == 1) /* "/" */
		return true;
	return strncmp(real, d, n) == 0 && real[n] == '/';
}

static int outside_error(const struct image_policy *p, const char *path, char **ret_error)
{
	char dirs[IMAGE_DIRS_MAX * (PATH_MAX / 16)] = "";

	for (size_t i = 0; i < p->n_dirs; i++)
		snprintf(dirs + strlen(dirs), sizeof(dirs) - strlen(dirs), "%s%s", i ? ", " : "",
			 p->dirs[i]);
	return error_set_first(ret_error, -EINVAL,
		_("The image %s is outside the folders mvirtd may open images from (%s); "
		  "move it there or start mvirtd with --image-dir for its folder."),
		path, dirs);
}

static int real_inside(const struct image_policy *p, const char *path, const char *real,
		       char **ret_error)
{
	for (size_t i = 0; i < p->n_dirs; i++)
		if (path_inside(real, p->dirs[i]))
			return 0;
	return outside_error(p, path, ret_error);
}

int image_path_check(const struct image_policy *p, const char *path, char **ret_error)
{
	_cleanup_free_ char *real = realpath(path, NULL);

	if (!real)
		return error_set_first(ret_error, -errno, _("mvirtd cannot open the image %s: %s."),
			path, strerror(errno));
	return real_inside(p, path, real, ret_error);
}

/* The path the open descriptor fd really names (a symlink swapped after the check shows). */
static int fd_real_path(int fd, char *buf, size_t size)
{
	char link[64];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, buf, size - 1);
	if (n < 0)
		return -errno;
	if ((size_t)n >= size - 1)
		return -ENAMETOOLONG;
	buf[n] = 0;
	return 0;
}

static int image_check_fd(const struct image_policy *p, const char *path, int fd,
			  char **ret_error)
{
	char real[PATH_MAX];
	struct stat st;
	int r;

	if (fstat(fd, &st) < 0)
		return error_set_first(ret_error, -errno, _("mvirtd cannot open the image %s: %s."),
			path, strerror(errno));
	if ((S_ISBLK(st.st_mode) || S_ISCHR(st.st_mode)) && !p->allow_devices)
		return error_set_first(ret_error, -EINVAL,
			_("The image %s is a device, which mvirtd does not pass to guests "
			  "unless started with --allow-devices."),
			path);
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode) && !S_ISCHR(st.st_mode))
		return error_set_first(ret_error, -EINVAL,
			_("The image %s is neither a regular file nor a device."), path);
	r = fd_real_path(fd, real, sizeof(real));
	if (r < 0)
		return error_set_first(ret_error, r, _("mvirtd cannot open the image %s: %s."),
			path, strerror(-r));
	return real_inside(p, path, real, ret_error);
}

int image_open(const struct image_policy *p, const char *path, bool readonly, bool direct,
	       char **ret_error)
{
	_cleanup_close_ int fd = -1;
	int r;

	/* Checked before the open too: opening some devices has effects of its own. */
	r = image_path_check(p, path, ret_error);
	if (r < 0)
		return r;
	fd = open(path, (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return error_set_first(ret_error, -errno, _("mvirtd cannot open the image %s: %s."),
			path, strerror(errno));
	r = image_check_fd(p, path, fd, ret_error);
	if (r < 0)
		return r;
	/* O_NONBLOCK kept a FIFO from blocking the open; the VMM does blocking I/O. O_DIRECT is
	 * a status flag of the open file the VMM shares. */
	if (fcntl(fd, F_SETFL, direct ? O_DIRECT : 0) < 0) {
		if (errno == EINVAL)
			return error_set_first(ret_error, -EINVAL,
				_("The file system of image %s does not support direct I/O; "
				  "set <driver cache='writeback'/> on the disk."),
				path);
		return error_set_first(ret_error, -errno, _("mvirtd cannot open the image %s: %s."),
			path, strerror(errno));
	}
	return TAKE_FD(fd);
}

/* path is lexically inside dir: a prefix at a '/' and no ".." component to climb out. */
static bool path_lexically_inside(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	while (n > 1 && dir[n - 1] == '/')
		n--;
	if (strncmp(path, dir, n) != 0 || (path[n] != '/' && n > 1))
		return false;
	return !strstr(path, "/../") && !(strlen(path) >= 3 && streq(path + strlen(path) - 3, "/.."));
}

int image_def_check(const struct image_policy *p, const char *path, char **ret_error)
{
	_cleanup_free_ char *real = realpath(path, NULL), *dir = NULL, *real_dir = NULL;
	_cleanup_free_ char *joined = NULL;
	const char *slash;

	if (real)
		return real_inside(p, path, real, ret_error);
	/* Not there (yet): its folder decides, or where it is written, if that is missing too. */
	slash = strrchr(path, '/');
	dir = slash && slash != path ? strndup(path, (size_t)(slash - path)) : strdup("/");
	if (!dir)
		return -ENOMEM;
	real_dir = realpath(dir, NULL);
	if (real_dir) {
		if (asprintf(&joined, "%s%s", streq(real_dir, "/") ? "" : real_dir,
			     slash ? slash : "/") < 0)
			return -ENOMEM;
		return real_inside(p, path, joined, ret_error);
	}
	for (size_t i = 0; i < p->n_dirs; i++)
		if (path_lexically_inside(path, p->dirs[i]))
			return 0;
	return outside_error(p, path, ret_error);
}
