#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hotplug-backends.h"
#include "i18n.h"
#include "util.h"

static const char *sandbox_dir; /* -sandbox: the one directory still visible */

void hotplug_set_sandbox(const char *dir)
{
	sandbox_dir = dir;
}

static bool sandbox_hides(const char *path)
{
	size_t n = sandbox_dir ? strlen(sandbox_dir) : 0;

	return sandbox_dir && !(strncmp(path, sandbox_dir, n) == 0 && path[n] == '/' &&
				!strstr(path + n, "/../"));
}

int backend_image_open(const struct blockdev_spec *spec, char **ret_error)
{
	int flags = (spec->read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC | (spec->direct ? O_DIRECT : 0);
	int fd;

	if (spec->fd >= 0) {
		int fl = fcntl(spec->fd, F_GETFL);

		if (fl < 0)
			return error_set(ret_error, -errno, _("The file descriptor %d given for node \"%s\" "
							 "is not open; pass it again with getfd."),
				spec->fd, spec->node_name);
		if ((fl & O_ACCMODE) == O_RDONLY && !spec->read_only)
			return error_set(ret_error, -EBADF,
				_("The file descriptor given for node \"%s\" is open read-only; set "
				  "\"read-only\": true or pass a read-write descriptor."),
				spec->node_name);
		fd = fcntl(spec->fd, F_DUPFD_CLOEXEC, 3);
		if (fd < 0)
			return error_set(ret_error, -errno, _("Could not duplicate the file descriptor for "
							 "node \"%s\": %s."), spec->node_name, strerror(errno));
		return fd;
	}
	if (isempty(spec->path))
		return error_set(ret_error, -EINVAL, _("Node \"%s\" names no image; give "
						  "\"file\": {\"filename\": PATH} or a file descriptor."),
			spec->node_name);
	if (sandbox_hides(spec->path))
		return error_set(ret_error, -EACCES, _("mvirt-vmm runs in a sandbox (-sandbox) that shows "
						  "only %s, so it cannot open the image %s; pass it "
						  "with getfd and give \"file\": {\"fd\": NAME}."),
			sandbox_dir, spec->path);
	fd = open(spec->path, flags);
	if (fd >= 0)
		return fd;
	if (errno == ENOENT)
		return error_set(ret_error, -ENOENT, _("The image %s does not exist; create it or give "
						  "the path of an existing file."), spec->path);
	if (errno == EINVAL && spec->direct)
		return error_set(ret_error, -EINVAL, _("The file system holding %s does not support "
						  "direct I/O; set \"cache\": {\"direct\": false}."),
			spec->path);
	if (spec->read_only && (errno == EACCES || errno == EPERM))
		return error_set(ret_error, -errno, _("The image %s cannot be read (%s); fix its "
						 "permissions."), spec->path, strerror(errno));
	if (errno == EACCES || errno == EROFS || errno == EPERM)
		return error_set(ret_error, -errno, _("The image %s cannot be opened read-write (%s); fix "
						 "its permissions or set \"read-only\": true."),
			spec->path, strerror(errno));
	return error_set(ret_error, -errno, _("Could not open the image %s: %s."), spec->path,
		strerror(errno));
}

int backend_image_size(int fd, const struct stat *st, const char *what, uint64_t *ret,
	char **ret_error)
{
	if (S_ISREG(st->st_mode)) {
		*ret = st->st_size;
		return 0;
	}
	if (S_ISBLK(st->st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, ret) < 0)
			return error_set(ret_error, -errno, _("Could not read the size of the block device "
							 "%s: %s."), what, strerror(errno));
		return 0;
	}
	return error_set(ret_error, -EINVAL, _("The image %s is neither a regular file nor a block "
					  "device; give a disk image."), what);
}

/* A TAP must exist before netdev_add: TUNSETIFF would otherwise create one silently. The
 * header size (TUNSETVNETHDRSZ) is set by virtio_net_attach(), which owns the header. */
int backend_tap_open(const char *ifname, char **ret_error)
{
	_cleanup_close_ int fd = -1;
	struct ifreq ifr = { 0 };

	if (strlen(ifname) >= IFNAMSIZ)
		return error_set(ret_error, -ENAMETOOLONG, _("The interface name \"%s\" is longer than %d "
							"characters; give the name of a TAP device."),
			ifname, IFNAMSIZ - 1);
	if (sandbox_dir)
		return error_set(ret_error, -EACCES, _("mvirt-vmm runs in a sandbox (-sandbox) without "
						  "/dev/net/tun, so it cannot open the TAP \"%s\" by "
						  "name; pass it with getfd and give \"fd\": NAME."),
			ifname);
	if (if_nametoindex(ifname) == 0)
		return error_set(ret_error, -ENODEV, _("The TAP device \"%s\" does not exist; create it "
						  "(ip tuntap add %s mode tap) and bring it up first."),
			ifname, ifname);
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return error_set(ret_error, -errno, _("Could not open /dev/net/tun for TAP \"%s\": %s."),
			ifname, strerror(errno));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	memcpy(ifr.ifr_name, ifname, strlen(ifname));
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		if (errno == EBUSY)
			return error_set(ret_error, -EBUSY, _("The TAP device \"%s\" is in use by another "
							 "program or VM; give a free TAP device."), ifname);
		/* The kernel refuses an existing interface that is not a TAP with EINVAL. */
		if (errno == EINVAL)
			return error_set(ret_error, -ENOTTY, _("The interface \"%s\" is not a TAP device; "
							  "give the name of a TAP device."), ifname);
		if (errno == EPERM)
			return error_set(ret_error, -EPERM, _("Not allowed to attach to the TAP device \"%s\"; "
							 "create it owned by this user or run as root."),
				ifname);
		return error_set(ret_error, -errno, _("Could not attach to the TAP device \"%s\": %s."),
			ifname, strerror(errno));
	}
	return TAKE_FD(fd);
}

/* An fd from getfd must be a TAP that already carries virtio-net headers. */
int backend_tap_adopt(int src, const char *id, char *ret_ifname, char **ret_error)
{
	_cleanup_close_ int fd = -1;
	struct ifreq ifr = { 0 };

	if (ioctl(src, TUNGETIFF, &ifr) < 0)
		return error_set(ret_error, -ENOTTY, _("The file descriptor given for netdev \"%s\" is not "
						  "a TAP device; pass an fd of /dev/net/tun after "
						  "TUNSETIFF."), id);
	if (!(ifr.ifr_flags & IFF_TAP) || !(ifr.ifr_flags & IFF_NO_PI) ||
		!(ifr.ifr_flags & IFF_VNET_HDR))
		return error_set(ret_error, -EINVAL, _("The TAP \"%s\" given for netdev \"%s\" was not "
						  "opened with IFF_TAP, IFF_NO_PI and IFF_VNET_HDR; "
						  "open it with those flags."), ifr.ifr_name, id);
	fd = fcntl(src, F_DUPFD_CLOEXEC, 3);
	if (fd < 0)
		return error_set(ret_error, -errno, _("Could not duplicate the TAP fd for netdev \"%s\": "
						 "%s."), id, strerror(errno));
	if (fd_set_nonblock(fd, true) < 0)
		return error_set(ret_error, -errno, _("Could not prepare the TAP \"%s\" for netdev \"%s\": "
						 "%s."), ifr.ifr_name, id, strerror(errno));
	memcpy(ret_ifname, ifr.ifr_name, IFNAMSIZ);
	ret_ifname[IFNAMSIZ - 1] = '\0';
	return TAKE_FD(fd);
}
