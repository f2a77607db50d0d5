/* netdev.c against the real kernel, in a private network namespace of this process. */
#include "config.h"

#include <errno.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <net/if.h>
#include <stdio.h>
#include <sys/socket.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/if_tun.h>
#include <cmocka.h>

#include "cleanup.h"
#include "netdev.h"

static const uint8_t guest_mac[MAC_LEN] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

static void test_names(void **state)
{
	assert_int_equal(netdev_name_validate("br0"), 0);
	assert_int_equal(netdev_name_validate("mv-tap_1.2"), 0);
	assert_int_equal(netdev_name_validate(""), -EINVAL);
	assert_int_equal(netdev_name_validate("0123456789abcdef"), -EINVAL);
	assert_int_equal(netdev_name_validate("a/b"), -EINVAL);
	assert_int_equal(netdev_name_validate("a b"), -EINVAL);
	assert_int_equal(netdev_name_validate(".."), -EINVAL);
	assert_int_equal(netdev_name_validate("tap%d"), -EINVAL);
	assert_int_equal(netdev_name_pattern_validate("tap%d"), 0);
	assert_int_equal(netdev_name_pattern_validate("tap%d%d"), -EINVAL);
	assert_int_equal(netdev_name_pattern_validate("tap%s"), -EINVAL);
}

static void test_tap_mac(void **state)
{
	uint8_t mac[MAC_LEN], host[MAC_LEN];

	memcpy(mac, guest_mac, MAC_LEN);
	netdev_tap_mac(guest_mac, host);
	assert_int_equal(host[0], 0xfe);
	assert_memory_equal(host + 1, guest_mac + 1, MAC_LEN - 1);
	mac[0] = 0xfe;
	netdev_tap_mac(mac, host);
	assert_int_equal(host[0], 0xfa);
}

/* IFF_UP of link name, asked of the kernel here (not through the code under test; sysfs
 * shows the namespace it was mounted in). */
static bool link_is_up(const char *name)
{
	struct ifreq ifr = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	bool up;

	assert_true(fd >= 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	assert_int_equal(ioctl(fd, SIOCGIFFLAGS, &ifr), 0);
	up = ifr.ifr_flags & IFF_UP;
	close(fd);
	return up;
}

static void test_bridge_and_tap(void **state)
{
	char tap[IFNAMSIZ], master[IFNAMSIZ];
	uint8_t mac[MAC_LEN];
	unsigned mtu;
	bool created = false;
	int fd = -1;

	assert_int_equal(netdev_bridge_ensure("mvbr0", false, false, &created), -ENODEV);
	assert_int_equal(netdev_exists("mvbr0"), 0);
	assert_int_equal(netdev_bridge_ensure("mvbr0", true, false, &created), 0);
	assert_true(created);
	assert_true(link_is_up("mvbr0"));
	assert_int_equal(netdev_is_bridge("mvbr0"), 1);
	/* A bridge mvirtd did not make keeps its state, down included. */
	assert_int_equal(netdev_set_up("mvbr0", false), 0);
	assert_int_equal(netdev_bridge_ensure("mvbr0", true, false, &created), 0);
	assert_false(created);
	assert_false(link_is_up("mvbr0"));
	/* One it made (the store says so) is brought up again. */
	assert_int_equal(netdev_bridge_ensure("mvbr0", true, true, &created), 0);
	assert_false(created);
	assert_true(link_is_up("mvbr0"));
	assert_int_equal(netdev_bridge_port_count("mvbr0"), 0);
	assert_int_equal(netdev_is_bridge("lo"), 0);
	assert_int_equal(netdev_bridge_ensure("lo", true, false, &created), -ENOTTY);

	assert_int_equal(netdev_tap_create(NULL, guest_mac, "mvbr0", tap, &fd), 0);
	assert_true(fd >= 0);
	assert_memory_equal(tap, "mvtap", 5);
	assert_int_equal(netdev_get_mac(tap, mac), 0);
	assert_int_equal(mac[0], 0xfe);
	assert_memory_equal(mac + 1, guest_mac + 1, MAC_LEN - 1);
	assert_int_equal(netdev_get_mtu(tap, &mtu), 0);
	assert_int_equal(netdev_get_master(tap, master), 0);
	assert_string_equal(master, "mvbr0");
	assert_int_equal(netdev_bridge_port_count("mvbr0"), 1);

	/* A name in use is refused, not silently shared. */
	int fd2 = -1;
	assert_int_equal(netdev_tap_create(tap, guest_mac, "mvbr0", master, &fd2), -EEXIST);
	assert_int_equal(fd2, -1);

	/* Closing the only fd removes the TAP: nothing is persistent. */
	close(fd);
	assert_int_equal(netdev_exists(tap), 0);
	assert_int_equal(netdev_bridge_port_count("mvbr0"), 0);
	assert_int_equal(netdev_bridge_delete("mvbr0"), 0);
	assert_int_equal(netdev_exists("mvbr0"), 0);
}

static void test_named_tap_no_bridge(void **state)
{
	char tap[IFNAMSIZ];
	int fd = -1;

	assert_int_equal(netdev_tap_create("vnet-x", guest_mac, NULL, tap, &fd), 0);
	assert_string_equal(tap, "vnet-x");
	assert_int_equal(netdev_exists("vnet-x"), 1);
	close(fd);
	assert_int_equal(netdev_exists("vnet-x"), 0);
	/* Bad names never reach the kernel; a missing bridge fails and leaves no TAP. */
	assert_int_equal(netdev_tap_create("bad name", guest_mac, NULL, tap, &fd), -EINVAL);
	assert_int_equal(netdev_tap_create("vnet-y", guest_mac, "nobr0", tap, &fd), -ENODEV);
	assert_int_equal(netdev_exists("vnet-y"), 0);
}

/* type='ethernet': the user's persistent TAP, opened by the daemon for the VMM. */
static void test_tap_attach(void **state)
{
	char tap[IFNAMSIZ];
	int fd = -1, fd2 = -1;

	assert_int_equal(netdev_tap_create("vnet-u", guest_mac, NULL, tap, &fd), 0);
	assert_int_equal(ioctl(fd, TUNSETPERSIST, 1), 0);
	close(fd);
	assert_int_equal(netdev_tap_attach("vnet-u", &fd2), 0);
	assert_true(fd2 >= 0);
	close(fd2);
	/* Closing leaves the user's TAP: it is persistent. */
	assert_int_equal(netdev_exists("vnet-u"), 1);
	assert_int_equal(netdev_tap_attach("vnet-none", &fd2), -ENODEV);
	assert_int_equal(netdev_exists("vnet-none"), 0);
	assert_int_equal(netdev_tap_attach("bad name", &fd2), -EINVAL);
	assert_int_equal(netdev_link_delete("vnet-u"), 0);
}

static int setup_netns(void **state)
{
	if (geteuid() != 0 || unshare(CLONE_NEWNET) < 0 || access("/dev/net/tun", R_OK | W_OK) < 0)
		return 0;
	*state = (void *)1;
	return 0;
}

#define NEEDS_NETNS(fn)                                                                            \
	static void fn##_ns(void **state)                                                          \
	{                                                                                          \
		if (!*state)                                                                       \
			skip();                                                                    \
		fn(state);                                                                         \
	}
NEEDS_NETNS(test_bridge_and_tap)
NEEDS_NETNS(test_named_tap_no_bridge)
NEEDS_NETNS(test_tap_attach)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_tap_mac),
		cmocka_unit_test(test_bridge_and_tap_ns),
		cmocka_unit_test(test_named_tap_no_bridge_ns),
		cmocka_unit_test(test_tap_attach_ns),
	};

	return cmocka_run_group_tests(tests, setup_netns, NULL);
}
