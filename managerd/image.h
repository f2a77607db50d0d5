/*
 * Disk images as mvirtd opens them for the VMM (privilege separation): the VMM may run as an
 * unprivileged user in a sandbox that sees no image, so the daemon opens each image itself
 * and passes the descriptor (on the command line or with QMP getfd). Before that, the path
 * is checked against the configured image folders, and block or character devices are
 * refused unless allowed: a definition must not be a way to read any file root can read.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* --image-dir may be given this many times. */
#define IMAGE_DIRS_MAX 16

struct image_policy {
	const char *dirs[IMAGE_DIRS_MAX];
	size_t n_dirs;
	bool allow_devices;  /* block and character devices may be images */
};

/*
 * Opens path for a disk (O_RDONLY if readonly, O_DIRECT if direct, O_CLOEXEC) after
 * checking it: its real path (symlinks resolved, checked again on the open descriptor)
 * lies inside one of the policy's folders (-EINVAL otherwise), it is a regular file, or a
 * block/character device when allowed (-EINVAL otherwise). Other failures are the open's
 * -errno. Returns the fd; *ret_error gets a sentence naming the path.
 */
int image_open(const struct image_policy *p, const char *path, bool readonly, bool direct,
	       char **ret_error);
/* 0 if path's real path lies inside one of the folders, -EINVAL (with the sentence) if not,
 * the -errno of resolving it otherwise. */
int image_path_check(const struct image_policy *p, const char *path, char **ret_error);
/*
 * The check made when a definition is accepted (DefineXML, AttachDevice with
 * --config), for disks, kernel and initrd alike: as image_path_check(), but a file that does
 * not exist yet is judged by its folder (or by the path as written), since it may be made
 * before Start, which checks again on the open descriptor. 0 or -EINVAL with the sentence.
 */
int image_def_check(const struct image_policy *p, const char *path, char **ret_error);
