/* Bridges and TAPs through ioctls and rtnetlink; see netdev.h for TAP ownership. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_bridge.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sockios.h>
#include <net/if_arp.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "netdev.h"
#include "util.h"

/* A netlink link dump of a host with this many bytes in flight per read is plenty;
 * the dump comes in several reads anyway. */
#define NETLINK_BUF_SIZE 32768

static int name_check(const char *name, bool allow_pattern)
{
	size_t len;
	bool pattern = false;

	if (!name)
		return -EINVAL;
	len = strlen(name);
	if (len == 0 || len >= IFNAMSIZ || streq(name, ".") || streq(name, ".."))
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];

		if (allow_pattern && !pattern && c == '%' && name[i + 1] == 'd') {
			pattern = true;
			i++;
			continue;
		}
		if (!isalnum((unsigned char)c) && c != '_' && c != '-' && c != '.')
			return -EINVAL;
	}
	return 0;
}

int netdev_name_validate(const char *name)
{
	return name_check(name, false);
}

int netdev_name_pattern_validate(const char *name)
{
	return name_check(name, true);
}

void netdev_tap_mac(const uint8_t guest[MAC_LEN], uint8_t ret[MAC_LEN])
{
	memcpy(ret, guest, MAC_LEN);
	/* The bridge takes the lowest port MAC; a high first byte keeps it off the TAP
	 * side so the bridge's address does not follow guests coming and going. */
	ret[0] = guest[0] == 0xfe ? 0xfa : 0xfe;
}

static int ctl_socket(void)
{
	int fd = socket(AF_LOCAL, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	return fd < 0 ? -errno : fd;
}

static int ifreq_ioctl(unsigned long req, struct ifreq *ifr)
{
	_cleanup_close_ int fd = ctl_socket();

	if (fd < 0)
		return fd;
	if (ioctl(fd, req, ifr) < 0)
		return -errno;
	return 0;
}

static int ifreq_init(struct ifreq *ifr, const char *name)
{
	memset(ifr, 0, sizeof(*ifr));
	if (netdev_name_validate(name) < 0)
		return -EINVAL;
	return str_copy(ifr->ifr_name, sizeof(ifr->ifr_name), name);
}

int netdev_exists(const char *name)
{
	struct ifreq ifr;
	int r = ifreq_init(&ifr, name);

	if (r < 0)
		return r;
	r = ifreq_ioctl(SIOCGIFINDEX, &ifr);
	if (r == -ENODEV)
		return 0;
	return r < 0 ? r : 1;
}

static int ifindex_of(const char *name)
{
	struct ifreq ifr;
	int r = ifreq_init(&ifr, name);

	if (r < 0)
		return r;
	r = ifreq_ioctl(SIOCGIFINDEX, &ifr);
	return r < 0 ? r : ifr.ifr_ifindex;
}

int netdev_is_bridge(const char *name)
{
	/* SIOCGIFBR-free check: only bridges answer the bridge's "get port list" ioctl. */
	int ports[1024];
	unsigned long args[4] = { BRCTL_GET_PORT_LIST, (unsigned long)ports, ELEMENTSOF(ports), 0 };
	struct ifreq ifr;
	int r = ifreq_init(&ifr, name);

	if (r < 0)
		return r;
	ifr.ifr_data = (char *)args;
	r = ifreq_ioctl(SIOCDEVPRIVATE, &ifr);
	return r < 0 ? 0 : 1;
}

int netdev_get_mtu(const char *name, unsigned *ret)
{
	struct ifreq ifr;
	int r = ifreq_init(&ifr, name);

	if (r < 0)
		return r;
	r = ifreq_ioctl(SIOCGIFMTU, &ifr);
	if (r < 0)
		return r;
	*ret = (unsigned)ifr.ifr_mtu;
	return 0;
}

static int set_mtu(const char *name, unsigned mtu)
{
	struct ifreq ifr;
	int r = ifreq_init(&ifr, name);

	if (r < 0)
		return r;
	ifr.ifr_mtu = (int)mtu;
	return ifreq_ioctl(SIOCSIFMTU, &ifr);
}

int netdev_get_mac(const char *name, uint8_t ret[MAC_LEN])
{
	struct ifreq ifr;
	int r = ifreq_init(&ifr, name);

	if (r < 0)
		return r;
	r = ifreq_ioctl(SIOCGIFHWADDR, &ifr);
	if (r < 0)
		return r;
	memcpy(ret, ifr.ifr_hwaddr.sa_data, MAC_LEN);
	return 0;
}

static int set_mac(const char *name, const uint8_t mac[MAC_LEN])
{
	struct ifreq ifr;
	int r = ifreq_init(&ifr, name);

	if (r < 0)
		return r;
	ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
	memcpy(ifr.ifr_hwaddr.sa_data, mac, MAC_LEN);
	return ifreq_ioctl(SIOCSIFHWADDR, &ifr);
}

int netdev_set_up(const char *name, bool up)
{
	struct ifreq ifr;
	int r = ifreq_init(&ifr, name);

	if (r < 0)
		return r;
	r = ifreq_ioctl(SIOCGIFFLAGS, &ifr);
	if (r < 0)
		return r;
	if (up)
		ifr.ifr_flags |= IFF_UP;
	else
		ifr.ifr_flags &= ~IFF_UP;
	return ifreq_ioctl(SIOCSIFFLAGS, &ifr);
}

int netdev_bridge_ensure(const char *bridge, bool create, bool ours, bool *ret_created)
{
	_cleanup_close_ int fd = -1;
	bool created = false;
	int r;

	r = netdev_exists(bridge);
	if (r < 0)
		return r;
	if (r > 0 && netdev_is_bridge(bridge) <= 0)
		return -ENOTTY;
	if (r == 0) {
		if (!create)
			return -ENODEV;
		fd = ctl_socket();
		if (fd < 0)
			return fd;
		if (ioctl(fd, SIOCBRADDBR, bridge) < 0)
			return -errno;
		created = true;
	}
	/* An administrator's bridge keeps the state it has, down included. */
	r = created || ours ? netdev_set_up(bridge, true) : 0;
	if (r < 0) {
		if (created)
			(void)netdev_bridge_delete(bridge);
		return r;
	}
	if (ret_created)
		*ret_created = created;
	return 0;
}

int netdev_bridge_delete(const char *bridge)
{
	_cleanup_close_ int fd = -1;
	int r;

	if (netdev_name_validate(bridge) < 0)
		return -EINVAL;
	/* The kernel refuses to delete a bridge that is up. */
	r = netdev_set_up(bridge, false);
	if (r < 0)
		return r;
	fd = ctl_socket();
	if (fd < 0)
		return fd;
	if (ioctl(fd, SIOCBRDELBR, bridge) < 0)
		return -errno;
	return 0;
}

static int bridge_add_port(const char *bridge, int ifindex)
{
	struct ifreq ifr;
	int r = ifreq_init(&ifr, bridge);

	if (r < 0)
		return r;
	ifr.ifr_ifindex = ifindex;
	return ifreq_ioctl(SIOCBRADDIF, &ifr);
}

/* Walks a netlink link dump: counts the links enslaved to master, and stores the
 * master of link which (if any) in *ret_master_of. */
static int link_dump_masters(int master, int *ret_count, int *ret_master_of, int which)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	struct {
		struct nlmsghdr nh;
		struct ifinfomsg ifi;
	} req = {
		.nh = { .nlmsg_len = sizeof(req), .nlmsg_type = RTM_GETLINK,
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP, .nlmsg_seq = 1 },
		.ifi = { .ifi_family = AF_UNSPEC },
	};
	_cleanup_free_ char *buf = malloc(NETLINK_BUF_SIZE);
	_cleanup_close_ int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	int count = 0;

	if (!buf)
		return -ENOMEM;
	if (fd < 0)
		return -errno;
	if (sendto(fd, &req, sizeof(req), 0, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	for (;;) {
		ssize_t n = recv(fd, buf, NETLINK_BUF_SIZE, 0);
		struct nlmsghdr *nh;

		if (n < 0)
			return errno == EINTR ? 0 : -errno;
		for (nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, (size_t)n); nh = NLMSG_NEXT(nh, n)) {
			struct ifinfomsg *ifi = NLMSG_DATA(nh);
			struct rtattr *rta = IFLA_RTA(ifi);
			int len = (int)IFLA_PAYLOAD(nh);

			if (nh->nlmsg_type == NLMSG_DONE) {
				*ret_count = count;
				return 0;
			}
			if (nh->nlmsg_type == NLMSG_ERROR)
				return -EIO;
			for (; RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) {
				if (rta->rta_type != IFLA_MASTER)
					continue;
				if (ifi->ifi_index == which)
					*ret_master_of = *(int *)RTA_DATA(rta);
				if (*(int *)RTA_DATA(rta) == master)
					count++;
			}
		}
	}
}

int netdev_link_delete(const char *name)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	struct {
		struct nlmsghdr nh;
		struct ifinfomsg ifi;
	} req = {
		.nh = { .nlmsg_len = sizeof(req), .nlmsg_type = RTM_DELLINK,
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK, .nlmsg_seq = 1 },
		.ifi = { .ifi_family = AF_UNSPEC },
	};
	struct {
		struct nlmsghdr nh;
		struct nlmsgerr err;
	} ack;
	_cleanup_close_ int fd = -1;
	int idx;
	ssize_t n;

	if (netdev_name_validate(name) < 0)
		return -EINVAL;
	idx = ifindex_of(name);
	if (idx < 0)
		return idx;
	req.ifi.ifi_index = idx;
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	if (sendto(fd, &req, sizeof(req), 0, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	n = recv(fd, &ack, sizeof(ack), 0);
	if (n < 0)
		return -errno;
	if ((size_t)n < sizeof(ack) || ack.nh.nlmsg_type != NLMSG_ERROR)
		return -EIO;
	return ack.err.error;
}

int netdev_bridge_port_count(const char *bridge)
{
	int idx = ifindex_of(bridge), count = 0, unused = 0, r;

	if (idx < 0)
		return idx;
	r = link_dump_masters(idx, &count, &unused, -1);
	return r < 0 ? r : count;
}

int netdev_get_master(const char *name, char ret[IFNAMSIZ])
{
	int idx = ifindex_of(name), count = 0, master = 0, r;

	if (idx < 0)
		return idx;
	r = link_dump_masters(-1, &count, &master, idx);
	if (r < 0)
		return r;
	ret[0] = 0;
	if (master > 0 && !if_indextoname((unsigned)master, ret))
		return -errno;
	return 0;
}

static int tap_open(const char *pattern, char ret_name[IFNAMSIZ])
{
	_cleanup_close_ int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR };
	int r;

	if (fd < 0)
		return -errno;
	r = str_copy(ifr.ifr_name, sizeof(ifr.ifr_name), pattern);
	if (r < 0)
		return r;
	/* TUNSETIFF attaches to an existing TAP of that name instead of failing,
	 * so a name already in use has to be refused before. */
	if (!strchr(pattern, '%')) {
		r = netdev_exists(pattern);
		if (r != 0)
			return r < 0 ? r : -EEXIST;
	}
	if (ioctl(fd, TUNSETIFF, &ifr) < 0)
		return -errno;
	memcpy(ret_name, ifr.ifr_name, IFNAMSIZ);
	ret_name[IFNAMSIZ - 1] = 0;
	return TAKE_FD(fd);
}

static int tap_configure(const char *tap, const uint8_t guest_mac[MAC_LEN],
			 const char *bridge)
{
	uint8_t mac[MAC_LEN];
	unsigned mtu;
	int r;

	netdev_tap_mac(guest_mac, mac);
	r = set_mac(tap, mac);
	if (r < 0)
		return log_debug_errno(r, "Failed to set the MAC of %s: %m", tap);
	if (bridge) {
		r = netdev_get_mtu(bridge, &mtu);
		if (r >= 0)
			r = set_mtu(tap, mtu);
		if (r < 0)
			return log_debug_errno(r, "Failed to match the MTU of %s to %s: %m", tap,
					       bridge);
		r = ifindex_of(tap);
		if (r >= 0)
			r = bridge_add_port(bridge, r);
		if (r < 0)
			return log_debug_errno(r, "Failed to add %s to %s: %m", tap, bridge);
	}
	return netdev_set_up(tap, true);
}

int netdev_tap_create(const char *name, const uint8_t guest_mac[MAC_LEN],
		      const char *bridge, char ret_name[IFNAMSIZ], int *ret_fd)
{
	_cleanup_close_ int fd = -1;
	char tap[IFNAMSIZ];
	int r;

	if (!name)
		name = "mvtap%d";
	if (netdev_name_pattern_validate(name) < 0)
		return -EINVAL;
	if (bridge && netdev_name_validate(bridge) < 0)
		return -EINVAL;
	fd = tap_open(name, tap);
	if (fd < 0)
		return fd;
	/* Without TUNSETPERSIST, closing fd on failure removes the TAP. */
	r = tap_configure(tap, guest_mac, bridge);
	if (r < 0)
		return r;
	memcpy(ret_name, tap, IFNAMSIZ);
	*ret_fd = TAKE_FD(fd);
	return 0;
}

int netdev_tap_attach(const char *name, int *ret_fd)
{
	_cleanup_close_ int fd = -1;
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR };
	int r;

	if (netdev_name_validate(name) < 0)
		return -EINVAL;
	/* TUNSETIFF would create a missing TAP: the user's TAP has to be there already. */
	r = netdev_exists(name);
	if (r <= 0)
		return r < 0 ? r : -ENODEV;
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	str_copy(ifr.ifr_name, sizeof(ifr.ifr_name), name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0)
		return -errno;
	*ret_fd = TAKE_FD(fd);
	return 0;
}
