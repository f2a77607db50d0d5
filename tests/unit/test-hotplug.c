/*
 * The slot rules of vmm/hotplug.c with a recording slot_ops table: real image
 * files in a temporary folder, real TAPs in a private network namespace (the
 * TAP cases run only as root, where unshare(CLONE_NEWNET) works).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "util.h"
#include "vmm/hotplug.h"

struct fake_dev {
	int index;
	const struct blk_backend *blk;
	const struct net_backend *net;
	int attaches, detaches;
	int fail_attach; /* -errno to return from the next attach */
	uint8_t mac[6];
};

static int fake_attach_blk(void *dev, const struct blk_backend *b, const char *serial)
{
	struct fake_dev *d = dev;

	if (d->fail_attach)
		return d->fail_attach;
	assert_null(d->blk);
	assert_true(fcntl(b->fd, F_GETFD) >= 0);
	d->blk = b;
	d->attaches++;
	return 0;
}

static int fake_detach_blk(void *dev)
{
	struct fake_dev *d = dev;

	assert_non_null(d->blk);
	d->blk = NULL;
	d->detaches++;
	return 0;
}

static int fake_attach_net(void *dev, const struct net_backend *b)
{
	struct fake_dev *d = dev;

	if (d->fail_attach)
		return d->fail_attach;
	assert_null(d->net);
	d->net = b;
	d->attaches++;
	return 0;
}

static int fake_detach_net(void *dev)
{
	struct fake_dev *d = dev;

	assert_non_null(d->net);
	d->net = NULL;
	d->detaches++;
	return 0;
}

static void fake_net_mac(void *dev, uint8_t ret_mac[6])
{
	memcpy(ret_mac, ((struct fake_dev *)dev)->mac, 6);
}

static void fake_net_set_mac(void *dev, const uint8_t mac[6])
{
	memcpy(((struct fake_dev *)dev)->mac, mac, 6);
}

static const struct slot_ops fake_ops = {
	.attach_blk = fake_attach_blk,
	.detach_blk = fake_detach_blk,
	.attach_net = fake_attach_net,
	.detach_net = fake_detach_net,
	.net_mac = fake_net_mac,
	.net_set_mac = fake_net_set_mac,
};

/* The dynamic model's guest bus: records what the guest was told. */
struct fake_bus {
	int announced[2][HOTPLUG_BLK_SLOTS_MAX];
	int withdrawn[2][HOTPLUG_BLK_SLOTS_MAX];
	bool unseen; /* withdraw answers "the guest never saw it" */
	bool retired[2][HOTPLUG_BLK_SLOTS_MAX]; /* slots the guest gave a device back from */
	char deleted[8][HOTPLUG_ID_MAX];
	int n_deleted;
};

static int fake_announce(void *bus, enum slot_kind kind, int slot)
{
	((struct fake_bus *)bus)->announced[kind][slot]++;
	return 0;
}

static int fake_withdraw(void *bus, enum slot_kind kind, int slot)
{
	struct fake_bus *b = bus;

	b->withdrawn[kind][slot]++;
	return b->unseen ? 1 : 0;
}

static bool fake_slot_usable(void *bus, enum slot_kind kind, int slot)
{
	return !((struct fake_bus *)bus)->retired[kind][slot];
}

static const struct guest_bus_ops fake_bus_ops = { fake_announce, fake_withdraw,
	fake_slot_usable };

static void fake_deleted(void *opaque, const char *id)
{
	struct fake_bus *b = opaque;

	assert_true(b->n_deleted < 8);
	snprintf(b->deleted[b->n_deleted++], HOTPLUG_ID_MAX, "%s", id);
}

struct fixture {
	char dir[64];
	struct fake_dev blk[HOTPLUG_BLK_SLOTS_MAX], net[HOTPLUG_NET_SLOTS_MAX];
	struct fake_bus bus;
	struct hotplug *hp;
	char *error;
};

static int setup_model(void **state, enum hotplug_model model)
{
	struct fixture *f = calloc(1, sizeof(*f));
	void *blk[HOTPLUG_BLK_SLOTS_MAX], *net[HOTPLUG_NET_SLOTS_MAX];

	strcpy(f->dir, "/tmp/test-hotplug-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	for (int i = 0; i < HOTPLUG_BLK_SLOTS_MAX; i++) {
		f->blk[i].index = i;
		blk[i] = &f->blk[i];
	}
	for (int i = 0; i < HOTPLUG_NET_SLOTS_MAX; i++) {
		f->net[i].index = i;
		memcpy(f->net[i].mac, (uint8_t[]){ 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 + i }, 6);
		net[i] = &f->net[i];
	}
	f->hp = hotplug_new(&fake_ops, model, blk, net);
	assert_non_null(f->hp);
	hotplug_set_deleted_fn(f->hp, fake_deleted, &f->bus);
	if (model == HOTPLUG_ACPI)
		hotplug_set_guest_bus(f->hp, &fake_bus_ops, &f->bus);
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return setup_model(state, HOTPLUG_SLOTS);
}

static int setup_acpi(void **state)
{
	return setup_model(state, HOTPLUG_ACPI);
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	hotplug_free(f->hp);
	free(f->error);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* Creates DIR/name of size bytes whose first byte is fill; returns the path (static buffer). */
static const char *image(struct fixture *f, const char *name, off_t size)
{
	static char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", f->dir, name);
	fd = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, size), 0);
	close(fd);
	return path;
}

static void clear_error(struct fixture *f)
{
	free(f->error);
	f->error = NULL;
}

static int blockdev(struct fixture *f, const char *node, const char *path, bool ro)
{
	struct blockdev_spec spec = { .node_name = node, .path = path, .fd = -1, .read_only = ro };

	clear_error(f);
	return hotplug_blockdev_add(f->hp, &spec, &f->error);
}

static int device(struct fixture *f, enum slot_kind kind, const char *id, int slot)
{
	struct device_spec spec = { .kind = kind, .id = id, .slot = slot };

	clear_error(f);
	return hotplug_device_add(f->hp, &spec, &f->error);
}

static int del(struct fixture *f, const char *id)
{
	clear_error(f);
	return hotplug_device_del(f->hp, id, &f->error);
}

/* The error sentence names the value at fault. */
static void assert_error_names(struct fixture *f, const char *value)
{
	assert_non_null(f->error);
	if (!strstr(f->error, value))
		fail_msg("error \"%s\" does not name \"%s\"", f->error, value);
}

static void test_guide_disk_sequence(void **state)
{
	struct fixture *f = *state;
	struct slot_info info;

	assert_int_equal(blockdev(f, "drive-0", image(f, "a.img", 1 << 20), false), 0);
	assert_int_equal(device(f, SLOT_BLK, "drive-0", 1), 0);
	assert_int_equal(f->blk[1].blk->size, 1 << 20);
	assert_string_equal(f->blk[1].blk->node_name, "drive-0");
	assert_int_equal(hotplug_slot_info(f->hp, SLOT_BLK, 1, &info), 0);
	assert_string_equal(info.id, "drive-0");
	assert_false(info.root);
	assert_non_null(info.blk);
	assert_int_equal(hotplug_slot_info(f->hp, SLOT_BLK, 0, &info), 0);
	assert_null(info.id);
	assert_null(info.blk);

	assert_int_equal(del(f, "drive-0"), 0);
	assert_null(f->blk[1].blk);
	assert_int_equal(f->blk[1].detaches, 1);
	/* The backend went with the device: the same id can be added again. */
	assert_int_equal(blockdev(f, "drive-0", image(f, "a.img", 1 << 20), false), 0);
	assert_int_equal(device(f, SLOT_BLK, "drive-0", 1), 0);
	assert_int_equal(f->blk[1].attaches, 2);
}

static void test_id_must_match_node_name(void **state)
{
	struct fixture *f = *state;
	struct device_spec spec = { .kind = SLOT_BLK, .id = "disk-a", .backend = "drive-0",
		.slot = -1 };

	assert_int_equal(blockdev(f, "drive-0", image(f, "a.img", 4096), false), 0);
	assert_int_equal(device(f, SLOT_BLK, "drive-1", 2), -ENOENT);
	assert_error_names(f, "drive-1");
	assert_int_equal(f->blk[2].attaches, 0);
	/* An explicit drive= reference, as QEMU takes it. */
	assert_int_equal(hotplug_device_add(f->hp, &spec, &f->error), 0);
	assert_non_null(f->blk[0].blk);
	/* A backend can fill only one slot. */
	spec.id = "disk-b";
	assert_int_equal(hotplug_device_add(f->hp, &spec, &f->error), -EBUSY);
	assert_error_names(f, "disk-a");
}

static void test_duplicates(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(blockdev(f, "d0", image(f, "a.img", 4096), false), 0);
	assert_int_equal(blockdev(f, "d0", image(f, "b.img", 4096), false), -EEXIST);
	assert_error_names(f, "d0");
	assert_int_equal(device(f, SLOT_BLK, "d0", -1), 0);
	assert_int_equal(blockdev(f, "d1", image(f, "b.img", 4096), false), 0);
	assert_int_equal(device(f, SLOT_BLK, "d0", -1), -EEXIST);
	assert_error_names(f, "d0");
}

static void test_slots_fill_and_overflow(void **state)
{
	struct fixture *f = *state;
	char name[16];

	for (int i = 0; i < HOTPLUG_BLK_SLOTS + 1; i++) {
		snprintf(name, sizeof(name), "d%d", i);
		assert_int_equal(blockdev(f, name, image(f, name, 512 * (i + 1)), false), 0);
	}
	/* No addr: the first free slot, in order. */
	assert_int_equal(device(f, SLOT_BLK, "d3", 3), 0);
	for (int i = 0; i < HOTPLUG_BLK_SLOTS; i++) {
		if (i == 3)
			continue;
		snprintf(name, sizeof(name), "d%d", i);
		assert_int_equal(device(f, SLOT_BLK, name, -1), 0);
		assert_string_equal(f->blk[i].blk->node_name, name);
	}
	/* The seventh disk. */
	assert_int_equal(device(f, SLOT_BLK, "d6", -1), -ENOSPC);
	assert_error_names(f, "d6");
	assert_int_equal(device(f, SLOT_BLK, "d6", 2), -EBUSY);
	assert_error_names(f, "0x2");
	assert_error_names(f, "d2");
	assert_int_equal(device(f, SLOT_BLK, "d6", 6), -ERANGE);
	assert_error_names(f, "0x6");
	/* A freed slot takes the next disk. */
	assert_int_equal(del(f, "d4"), 0);
	assert_int_equal(device(f, SLOT_BLK, "d6", -1), 0);
	assert_string_equal(f->blk[4].blk->node_name, "d6");
}

static void test_missing_file(void **state)
{
	struct fixture *f = *state;
	char path[PATH_MAX];
	struct slot_info info;

	snprintf(path, sizeof(path), "%s/nope.img", f->dir);
	assert_int_equal(blockdev(f, "d0", path, false), -ENOENT);
	assert_error_names(f, path);
	/* Nothing was kept: the name is free. */
	assert_int_equal(blockdev(f, "d0", image(f, "a.img", 4096), false), 0);
	assert_int_equal(hotplug_slot_info(f->hp, SLOT_BLK, 0, &info), 0);
	assert_null(info.blk);
}

static void test_shared_image(void **state)
{
	struct fixture *f = *state;
	char hard[PATH_MAX + 8], path[PATH_MAX];

	snprintf(path, sizeof(path), "%s", image(f, "a.img", 4096));
	snprintf(hard, sizeof(hard), "%s/hard.img", f->dir);
	assert_int_equal(link(path, hard), 0);
	assert_int_equal(blockdev(f, "rw", path, false), 0);
	/* The same inode under another name, read-write or read-only. */
	assert_int_equal(blockdev(f, "rw2", hard, false), -EBUSY);
	assert_error_names(f, "rw");
	assert_int_equal(blockdev(f, "ro", hard, true), -EBUSY);
	assert_int_equal(hotplug_blockdev_del(f->hp, "rw", &f->error), 0);
	/* Read-only users may share it. */
	assert_int_equal(blockdev(f, "ro1", path, true), 0);
	assert_int_equal(blockdev(f, "ro2", hard, true), 0);
	assert_int_equal(blockdev(f, "rw3", hard, false), -EBUSY);
	assert_error_names(f, "ro1");
}

static void test_root_image(void **state)
{
	struct fixture *f = *state;
	struct device_spec root = { .kind = SLOT_BLK, .id = "root", .slot = 0, .boot = true };
	char sym[PATH_MAX + 8], path[PATH_MAX];
	struct slot_info info;

	snprintf(path, sizeof(path), "%s", image(f, "root.img", 8192));
	snprintf(sym, sizeof(sym), "%s/sym.img", f->dir);
	assert_int_equal(symlink(path, sym), 0);
	assert_int_equal(blockdev(f, "root", path, true), 0);
	assert_int_equal(hotplug_device_add(f->hp, &root, &f->error), 0);
	assert_int_equal(hotplug_slot_info(f->hp, SLOT_BLK, 0, &info), 0);
	assert_true(info.root);
	assert_true(info.boot);
	/* Neither plugged again, even read-only and through a symlink, nor unplugged. */
	assert_int_equal(blockdev(f, "again", sym, true), -EBUSY);
	assert_error_names(f, sym);
	assert_non_null(strstr(f->error, "root"));
	assert_int_equal(del(f, "root"), -EPERM);
	assert_error_names(f, "root");
	assert_non_null(f->blk[0].blk);
	assert_int_equal(hotplug_blockdev_del(f->hp, "root", &f->error), -EBUSY);
}

static void test_unknown_and_backend_del(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(del(f, "ghost"), -ENOENT);
	assert_error_names(f, "ghost");
	assert_int_equal(hotplug_blockdev_del(f->hp, "ghost", &f->error), -ENOENT);
	assert_int_equal(hotplug_netdev_del(f->hp, "ghost", &f->error), -ENOENT);
	assert_int_equal(blockdev(f, "d0", image(f, "a.img", 4096), false), 0);
	assert_int_equal(hotplug_blockdev_del(f->hp, "d0", &f->error), 0);
	assert_int_equal(device(f, SLOT_BLK, "d0", -1), -ENOENT);
}

/*
 * QEMU's unplug order (device_del, then blockdev-del / netdev_del) and StratoVirt's
 * (device_del alone) both succeed; the backend's fd is closed at device_del either way.
 */
static void test_backend_del_after_device_del(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(blockdev(f, "drive-1", image(f, "a.img", 4096), false), 0);
	assert_int_equal(device(f, SLOT_BLK, "drive-1", 1), 0);
	assert_int_equal(del(f, "drive-1"), 0);
	assert_null(f->blk[1].blk);
	/* Another backend opened in between does not take the name's place. */
	assert_int_equal(blockdev(f, "drive-2", image(f, "b.img", 4096), false), 0);
	assert_int_equal(hotplug_blockdev_del(f->hp, "drive-1", &f->error), 0);
	assert_int_equal(hotplug_blockdev_del(f->hp, "drive-2", &f->error), 0);
	/* Once deleted, the name is unknown again. */
	assert_int_equal(hotplug_blockdev_del(f->hp, "drive-1", &f->error), -ENOENT);
	clear_error(f);
	/* StratoVirt's order: device_del only, then the same names again. */
	assert_int_equal(blockdev(f, "drive-1", image(f, "a.img", 4096), false), 0);
	assert_int_equal(device(f, SLOT_BLK, "drive-1", 1), 0);
	assert_int_equal(del(f, "drive-1"), 0);
	assert_int_equal(blockdev(f, "drive-1", image(f, "a.img", 4096), false), 0);
	assert_int_equal(device(f, SLOT_BLK, "drive-1", 1), 0);
	assert_non_null(f->blk[1].blk);
	/* A plugged backend still cannot be deleted. */
	assert_int_equal(hotplug_blockdev_del(f->hp, "drive-1", &f->error), -EBUSY);
	clear_error(f);
	/* Every backend slot can be filled again: device_del left none taken. */
	for (int i = 0; i < 2 * HOTPLUG_BLK_SLOTS - 1; i++) {
		char name[16], file[32];

		snprintf(name, sizeof(name), "n%d", i);
		snprintf(file, sizeof(file), "n%d.img", i);
		assert_int_equal(blockdev(f, name, image(f, file, 4096), true), 0);
	}
	/* And no more: twice the slots in the slot model. */
	assert_int_equal(blockdev(f, "one-too-many", image(f, "x.img", 4096), true), -ENOSPC);
	assert_error_names(f, "12");
}

/* The dynamic model: 32 disks, each announced to the guest; unplug waits for the guest. */
static void test_acpi_many_disks_and_guest_release(void **state)
{
	struct fixture *f = *state;
	struct slot_info info;

	for (int i = 0; i < MVIRT_ACPI_BLK_SLOTS; i++) {
		char name[16], file[32];

		snprintf(name, sizeof(name), "d%d", i);
		snprintf(file, sizeof(file), "d%d.img", i);
		assert_int_equal(blockdev(f, name, image(f, file, 4096), false), 0);
		assert_int_equal(device(f, SLOT_BLK, name, -1), 0);
		assert_int_equal(f->bus.announced[SLOT_BLK][i], 1);
	}
	assert_int_equal(hotplug_slot_count(f->hp, SLOT_BLK), 32);
	assert_int_equal(blockdev(f, "d32", image(f, "d32.img", 4096), false), 0);
	assert_int_equal(device(f, SLOT_BLK, "d32", -1), -ENOSPC);
	assert_error_names(f, "32");
	assert_int_equal(device(f, SLOT_BLK, "d32", 0x20), -ERANGE);
	assert_error_names(f, "0x1f");

	/* device_del asks; the slot stays taken and no DEVICE_DELETED until the guest lets go. */
	assert_int_equal(del(f, "d5"), 1);
	assert_int_equal(f->bus.withdrawn[SLOT_BLK][5], 1);
	assert_int_equal(f->bus.n_deleted, 0);
	assert_int_equal(f->blk[5].detaches, 0);
	assert_int_equal(hotplug_slot_info(f->hp, SLOT_BLK, 5, &info), 0);
	assert_string_equal(info.id, "d5");
	assert_true(info.leaving);
	/* Asking twice is refused with a sentence; nothing is asked again. */
	assert_int_equal(del(f, "d5"), -EINPROGRESS);
	assert_error_names(f, "d5");
	assert_int_equal(f->bus.withdrawn[SLOT_BLK][5], 1);
	/* A release for a slot nobody was asked about changes nothing. */
	hotplug_device_released(f->hp, SLOT_BLK, 6);
	assert_int_equal(f->bus.n_deleted, 0);
	hotplug_device_released(f->hp, SLOT_BLK, 5);
	assert_int_equal(f->blk[5].detaches, 1);
	assert_int_equal(f->bus.n_deleted, 1);
	assert_string_equal(f->bus.deleted[0], "d5");
	assert_int_equal(hotplug_slot_info(f->hp, SLOT_BLK, 5, &info), 0);
	assert_null(info.id);
	/* The guest keeps the description of a slot it gave back: that slot stays unusable. */
	f->bus.retired[SLOT_BLK][5] = true;
	assert_int_equal(device(f, SLOT_BLK, "d32", -1), -ENOSPC);
	assert_int_equal(device(f, SLOT_BLK, "d32", 5), -EBUSY);
	assert_error_names(f, "retired");
	assert_int_equal(hotplug_slot_info(f->hp, SLOT_BLK, 5, &info), 0);
	assert_true(info.retired);
	/* A slot the guest never saw is free at once. */
	f->bus.retired[SLOT_BLK][5] = false;
	assert_int_equal(device(f, SLOT_BLK, "d32", -1), 0);
	assert_int_equal(f->bus.announced[SLOT_BLK][5], 2);
}

/* A device the guest never saw (its announcement still queued) leaves at once. */
static void test_acpi_unseen_device_leaves_at_once(void **state)
{
	struct fixture *f = *state;

	f->bus.unseen = true;
	assert_int_equal(blockdev(f, "d0", image(f, "a.img", 4096), false), 0);
	assert_int_equal(device(f, SLOT_BLK, "d0", -1), 0);
	assert_int_equal(del(f, "d0"), 0);
	assert_int_equal(f->bus.n_deleted, 1);
	assert_int_equal(f->blk[0].detaches, 1);
}

static void test_attach_failure_changes_nothing(void **state)
{
	struct fixture *f = *state;
	struct slot_info info;

	assert_int_equal(blockdev(f, "d0", image(f, "a.img", 4096), false), 0);
	f->blk[0].fail_attach = -EIO;
	assert_int_equal(device(f, SLOT_BLK, "d0", 0), -EIO);
	assert_error_names(f, "d0");
	assert_int_equal(hotplug_slot_info(f->hp, SLOT_BLK, 0, &info), 0);
	assert_null(info.id);
	f->blk[0].fail_attach = 0;
	assert_int_equal(device(f, SLOT_BLK, "d0", 0), 0);
}

static void test_backend_fd_given(void **state)
{
	struct fixture *f = *state;
	struct blockdev_spec spec = { .node_name = "fd0", .fd = -1, .read_only = false };
	int fd = open(image(f, "a.img", 65536), O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	spec.fd = fd;
	/* A read-only descriptor cannot back a read-write disk. */
	assert_int_equal(hotplug_blockdev_add(f->hp, &spec, &f->error), -EBADF);
	clear_error(f);
	spec.read_only = true;
	assert_int_equal(hotplug_blockdev_add(f->hp, &spec, &f->error), 0);
	assert_int_equal(device(f, SLOT_BLK, "fd0", 5), 0);
	assert_int_equal(f->blk[5].blk->size, 65536);
	assert_int_not_equal(f->blk[5].blk->fd, fd);
	close(fd);
}

static void test_too_long_id(void **state)
{
	struct fixture *f = *state;
	char id[HOTPLUG_ID_MAX + 1];

	memset(id, 'x', sizeof(id) - 1);
	id[sizeof(id) - 1] = '\0';
	assert_int_equal(blockdev(f, id, image(f, "a.img", 4096), false), -ENAMETOOLONG);
	assert_int_equal(blockdev(f, "", image(f, "a.img", 4096), false), -EINVAL);
}

/* Creates a persistent TAP in this process's private network namespace. */
static void tap_create(const char *name)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR };
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

	assert_true(fd >= 0);
	strcpy(ifr.ifr_name, name);
	assert_int_equal(ioctl(fd, TUNSETIFF, &ifr), 0);
	assert_int_equal(ioctl(fd, TUNSETPERSIST, 1), 0);
	close(fd);
}

static bool have_netns;

static int netdev(struct fixture *f, const char *id, const char *ifname, int fd)
{
	struct netdev_spec spec = { .id = id, .ifname = ifname, .fd = fd };

	clear_error(f);
	return hotplug_netdev_add(f->hp, &spec, &f->error);
}

static void test_nic_rules(void **state)
{
	struct fixture *f = *state;
	struct device_spec spec = { .kind = SLOT_NET, .id = "net-0", .slot = 0 };
	struct slot_info info;

	if (!have_netns)
		skip();
	tap_create("tap0");
	tap_create("tap1");
	tap_create("tap2");
	assert_int_equal(netdev(f, "net-0", "nosuch0", -1), -ENODEV);
	assert_error_names(f, "nosuch0");
	assert_int_equal(if_nametoindex("nosuch0"), 0);
	assert_int_equal(netdev(f, "net-0", "lo", -1), -ENOTTY);
	assert_error_names(f, "lo");
	assert_int_equal(netdev(f, "net-0", "tap0", -1), 0);
	assert_int_equal(netdev(f, "net-0", "tap1", -1), -EEXIST);
	assert_int_equal(netdev(f, "net-x", "tap0", -1), -EBUSY);
	assert_error_names(f, "tap0");

	/* The MAC is the slot's, fixed at boot. */
	spec.mac = "52:54:00:12:34:99";
	assert_int_equal(hotplug_device_add(f->hp, &spec, &f->error), -EINVAL);
	assert_error_names(f, "52:54:00:12:34:56");
	clear_error(f);
	spec.mac = "52:54:00:12:34:5";
	assert_int_equal(hotplug_device_add(f->hp, &spec, &f->error), -EINVAL);
	clear_error(f);
	spec.mac = "52:54:00:12:34:56";
	assert_int_equal(hotplug_device_add(f->hp, &spec, &f->error), 0);
	assert_string_equal(f->net[0].net->ifname, "tap0");
	assert_int_equal(hotplug_slot_info(f->hp, SLOT_NET, 0, &info), 0);
	assert_memory_equal(info.mac, f->net[0].mac, 6);
	assert_string_equal(info.net->id, "net-0");

	assert_int_equal(netdev(f, "net-1", "tap1", -1), 0);
	assert_int_equal(device(f, SLOT_NET, "net-1", 2), -ERANGE);
	assert_error_names(f, "0x2");
	assert_int_equal(device(f, SLOT_NET, "net-1", -1), 0);
	assert_int_equal(netdev(f, "net-2", "tap2", -1), 0);
	/* The third NIC. */
	assert_int_equal(device(f, SLOT_NET, "net-2", -1), -ENOSPC);
	assert_error_names(f, "net-2");
	assert_int_equal(hotplug_netdev_del(f->hp, "net-0", &f->error), -EBUSY);
	clear_error(f);
	assert_int_equal(hotplug_netdev_del(f->hp, "net-2", &f->error), 0);
	assert_int_equal(del(f, "net-0"), 0);
	assert_int_equal(f->net[0].detaches, 1);
	/* QEMU's order: netdev_del after device_del succeeds (the TAP was closed already). */
	assert_int_equal(hotplug_netdev_del(f->hp, "net-0", &f->error), 0);
	assert_int_equal(hotplug_netdev_del(f->hp, "net-0", &f->error), -ENOENT);
	clear_error(f);
	/* The TAP is free again once its netdev is gone. */
	assert_int_equal(netdev(f, "net-0", "tap0", -1), 0);
	assert_int_equal(device(f, SLOT_NET, "net-0", 0), 0);
}

/* In the dynamic model a NIC takes the MAC asked for; a multicast MAC is refused. */
static void test_acpi_nic_takes_the_mac_asked_for(void **state)
{
	struct fixture *f = *state;
	struct device_spec spec = { .kind = SLOT_NET, .id = "net-a", .slot = -1,
		.mac = "03:00:00:aa:bb:cc" };
	struct slot_info info;

	if (!have_netns)
		skip();
	assert_int_equal(hotplug_slot_count(f->hp, SLOT_NET), 8);
	tap_create("tapa0");
	assert_int_equal(netdev(f, "net-a", "tapa0", -1), 0);
	assert_int_equal(hotplug_device_add(f->hp, &spec, &f->error), -EINVAL);
	assert_error_names(f, "03:00:00:aa:bb:cc");
	clear_error(f);
	spec.mac = "02:00:00:aa:bb:cc";
	assert_int_equal(hotplug_device_add(f->hp, &spec, &f->error), 0);
	assert_int_equal(f->bus.announced[SLOT_NET][0], 1);
	assert_int_equal(hotplug_slot_info(f->hp, SLOT_NET, 0, &info), 0);
	assert_memory_equal(info.mac, ((uint8_t[]){ 0x02, 0x00, 0x00, 0xaa, 0xbb, 0xcc }), 6);
	tap_create("tapa1");
	assert_int_equal(netdev(f, "net-b", "tapa1", -1), 0);
	assert_int_equal(device(f, SLOT_NET, "net-b", 8), -ERANGE);
	assert_error_names(f, "0x7");
}

static void test_tap_busy_and_fd(void **state)
{
	struct fixture *f = *state;
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR };
	int holder, plain;

	if (!have_netns)
		skip();
	tap_create("tapb");
	/* Another program holds the TAP open. */
	holder = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	strcpy(ifr.ifr_name, "tapb");
	assert_int_equal(ioctl(holder, TUNSETIFF, &ifr), 0);
	assert_int_equal(netdev(f, "n", "tapb", -1), -EBUSY);
	assert_error_names(f, "tapb");
	/* ... and passes it to us instead. */
	assert_int_equal(netdev(f, "n", NULL, holder), 0);
	assert_int_equal(device(f, SLOT_NET, "n", 1), 0);
	assert_string_equal(f->net[1].net->ifname, "tapb");
	assert_int_not_equal(f->net[1].net->tap_fd, holder);
	close(holder);
	/* Not a TAP descriptor. */
	plain = open("/dev/null", O_RDWR | O_CLOEXEC);
	assert_int_equal(netdev(f, "m", NULL, plain), -ENOTTY);
	close(plain);
}

/* query-slots reports these names; mvirtd's restore.c matches them. */
static void test_slot_kind_names(void **state)
{
	assert_string_equal(slot_kind_to_string(SLOT_BLK), "blk");
	assert_string_equal(slot_kind_to_string(SLOT_NET), "net");
	assert_null(slot_kind_to_string(_SLOT_KIND_MAX));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_slot_kind_names),
		cmocka_unit_test_setup_teardown(test_guide_disk_sequence, setup, teardown),
		cmocka_unit_test_setup_teardown(test_id_must_match_node_name, setup, teardown),
		cmocka_unit_test_setup_teardown(test_duplicates, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slots_fill_and_overflow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shared_image, setup, teardown),
		cmocka_unit_test_setup_teardown(test_root_image, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_and_backend_del, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backend_del_after_device_del, setup, teardown),
		cmocka_unit_test_setup_teardown(test_attach_failure_changes_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backend_fd_given, setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_long_id, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nic_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tap_busy_and_fd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_acpi_many_disks_and_guest_release, setup_acpi,
			teardown),
		cmocka_unit_test_setup_teardown(test_acpi_unseen_device_leaves_at_once, setup_acpi,
			teardown),
		cmocka_unit_test_setup_teardown(test_acpi_nic_takes_the_mac_asked_for, setup_acpi,
			teardown),
	};

	/* A private network namespace: the TAPs made here vanish with the process. */
	have_netns = geteuid() == 0 && access("/dev/net/tun", F_OK) == 0 &&
		unshare(CLONE_NEWNET) == 0;
	return cmocka_run_group_tests_name("hotplug", tests, NULL, NULL);
}
