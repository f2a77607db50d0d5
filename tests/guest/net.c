/* virtio-net (virtio 1.2, 5.1): MAC and link status from the config space, a receive queue
 * kept full of buffers, a transmit ring, and just enough IPv4 to be pinged: ARP replies for
 * the NIC's address and ICMP echo replies. Every frame seen gets a console line. */
#include "probe.h"

#define NET_F_MAC (1ULL << 5)
#define NET_F_STATUS (1ULL << 16)
#define NET_S_LINK_UP 1
#define CFG_MAC 0
#define CFG_STATUS 6
#define RXQ 0
#define TXQ 1
#define RING 16
#define BUF_SIZE 2048 /* virtio-net header + 1514-byte frame, rounded up */
#define MAX_NET 4

#define ETH_HLEN 14
#define ETH_P_IP 0x0800
#define ETH_P_ARP 0x0806
#define IP_PROTO_ICMP 1
#define ICMP_ECHO_REPLY 0
#define ICMP_ECHO 8

struct net {
	struct virtio_dev *dev;
	uint8_t mac[6];
	uint32_t ip;
	uint32_t hdr_len; /* virtio_net_hdr: 12 bytes with VERSION_1, 10 for legacy */
	uint8_t *rx;      /* RING buffers of BUF_SIZE */
	uint8_t *tx;
	uint16_t tx_next;
	uint16_t tx_busy;
};

static struct net nets[MAX_NET];
static uint32_t n_nets;

uint32_t net_count(void)
{
	return n_nets;
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* The Internet checksum (RFC 1071). */
static uint16_t inet_sum(const uint8_t *p, size_t len)
{
	uint32_t s = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		s += be16(p + i);
	if (len & 1)
		s += (uint32_t)p[len - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static void rx_give(struct net *n, uint16_t slot)
{
	uint64_t addr = (uint64_t)(n->rx + slot * BUF_SIZE);
	uint32_t len = BUF_SIZE;

	virtq_add_chain(&n->dev->vq[RXQ], slot, &addr, &len, 1, 1);
}

static void tx_reclaim(struct net *n)
{
	uint32_t id, len;

	while (virtq_pop_used(&n->dev->vq[TXQ], &id, &len))
		n->tx_busy--;
}

/* A transmit buffer with a zeroed virtio-net header in front, or NULL when all are in flight. */
static uint8_t *tx_frame(struct net *n)
{
	uint8_t *buf;

	tx_reclaim(n);
	if (n->tx_busy >= n->dev->vq[TXQ].num)
		return NULL;
	buf = n->tx + n->tx_next * BUF_SIZE;
	memset(buf, 0, n->hdr_len);
	return buf + n->hdr_len;
}

static void tx_send(struct net *n, uint32_t frame_len)
{
	struct virtq *q = &n->dev->vq[TXQ];
	uint64_t addr = (uint64_t)(n->tx + n->tx_next * BUF_SIZE);
	uint32_t len = n->hdr_len + frame_len;

	virtq_add_chain(q, n->tx_next, &addr, &len, 1, 0);
	n->tx_next = (uint16_t)((n->tx_next + 1) % q->num);
	n->tx_busy++;
	virtio_notify(n->dev, TXQ);
}

static void report_frame(const struct net *n, const char *event, uint32_t from)
{
	out_begin(event);
	out_ip("from", from);
	out_dec("index", n->dev->type_index);
	out_end();
}

static void arp_input(struct net *n, const uint8_t *f, uint32_t len)
{
	const uint8_t *a = f + ETH_HLEN;
	uint8_t *r;

	if (len < ETH_HLEN + 28 || be16(a + 6) != 1 || be32(a + 24) != n->ip)
		return; /* not a request for our address */
	r = tx_frame(n);
	if (!r)
		return;
	memcpy(r, f + 6, 6);      /* to the asker */
	memcpy(r + 6, n->mac, 6);
	put_be16(r + 12, ETH_P_ARP);
	memcpy(r + ETH_HLEN, a, 6); /* htype, ptype, hlen, plen */
	put_be16(r + ETH_HLEN + 6, 2);
	memcpy(r + ETH_HLEN + 8, n->mac, 6);
	memcpy(r + ETH_HLEN + 14, a + 24, 4);
	memcpy(r + ETH_HLEN + 18, a + 8, 10); /* the asker's MAC and IP */
	tx_send(n, ETH_HLEN + 28);
	report_frame(n, "arp", be32(a + 14));
}

/* Echo request to our address: the reply is the request with addresses swapped. */
static void icmp_input(struct net *n, const uint8_t *f, uint32_t len)
{
	const uint8_t *ip = f + ETH_HLEN;
	uint32_t ihl = (ip[0] & 15) * 4u, total = be16(ip + 2);
	uint8_t *r, *rip, *icmp;

	if (ihl < 20 || total < ihl + 8 || ETH_HLEN + total > len || ip[ihl] != ICMP_ECHO)
		return;
	r = tx_frame(n);
	if (!r)
		return;
	memcpy(r, f + 6, 6);
	memcpy(r + 6, n->mac, 6);
	put_be16(r + 12, ETH_P_IP);
	rip = r + ETH_HLEN;
	memcpy(rip, ip, total);
	memcpy(rip + 12, ip + 16, 4);
	memcpy(rip + 16, ip + 12, 4);
	rip[8] = 64; /* TTL */
	put_be16(rip + 10, 0);
	put_be16(rip + 10, inet_sum(rip, ihl));
	icmp = rip + ihl;
	icmp[0] = ICMP_ECHO_REPLY;
	put_be16(icmp + 2, 0);
	put_be16(icmp + 2, inet_sum(icmp, total - ihl));
	tx_send(n, ETH_HLEN + total);
	out_begin("ping");
	out_ip("from", be32(ip + 12));
	out_dec("index", n->dev->type_index);
	out_dec("seq", be16(ip + ihl + 6));
	out_end();
}

bool bench_rx_frame(uint16_t type, uint32_t len); /* bench.c: probe.bench=net-rx */

static void frame_input(struct net *n, const uint8_t *f, uint32_t len)
{
	uint16_t type = len >= ETH_HLEN ? be16(f + 12) : 0;

	if (bench_rx_frame(type, len))
		return;
	if (type == ETH_P_ARP) {
		arp_input(n, f, len);
		return;
	}
	if (type == ETH_P_IP && len >= ETH_HLEN + 20 && f[ETH_HLEN + 9] == IP_PROTO_ICMP &&
			be32(f + ETH_HLEN + 16) == n->ip) {
		icmp_input(n, f, len);
		return;
	}
	out_begin("frame");
	out_dec("index", n->dev->type_index);
	out_dec("len", len);
	out_hex("ethertype", type);
	out_end();
}

static struct net *net_of(const struct virtio_dev *d)
{
	for (uint32_t i = 0; i < n_nets; i++)
		if (nets[i].dev == d)
			return &nets[i];
	return NULL;
}

void net_poll(struct virtio_dev *d)
{
	struct net *n = net_of(d);
	uint32_t id, len;
	bool refilled = false;

	if (!n)
		return;
	while (virtq_pop_used(&d->vq[RXQ], &id, &len)) {
		if (id < d->vq[RXQ].num && len > n->hdr_len && len <= BUF_SIZE)
			frame_input(n, n->rx + id * BUF_SIZE + n->hdr_len, len - n->hdr_len);
		rx_give(n, (uint16_t)(id % d->vq[RXQ].num));
		refilled = true;
	}
	if (refilled)
		virtio_notify(d, RXQ);
	tx_reclaim(n);
}

static void report_link(const struct net *n)
{
	bool up = !(n->dev->features & NET_F_STATUS) ||
		(virtio_config_read8(n->dev, CFG_STATUS) & NET_S_LINK_UP);

	out_begin("net");
	out_dec("index", n->dev->type_index);
	out_mac("mac", n->mac);
	out_str("link", up ? "up" : "down");
	out_ip("ip", n->ip);
	out_end();
}

void net_config_changed(struct virtio_dev *d)
{
	struct net *n = net_of(d);

	if (n)
		report_link(n);
}

int net_init(struct virtio_dev *d)
{
	struct net *n;

	if (n_nets >= MAX_NET)
		return -1;
	n = &nets[n_nets];
	n->dev = d;
	n->ip = d->type_index < PROBE_MAX_NET_IPS ? opts.ip[d->type_index] : 0;
	n->rx = pool_alloc(RING * BUF_SIZE, 4096);
	n->tx = pool_alloc(RING * BUF_SIZE, 4096);
	if (!n->rx || !n->tx)
		return -1;
	if (virtio_negotiate(d, NET_F_MAC | NET_F_STATUS))
		return -1;
	n->hdr_len = d->version == 2 ? 12 : 10;
	if (virtio_queue_setup(d, RXQ, RING) || virtio_queue_setup(d, TXQ, RING))
		return -1;
	for (uint32_t i = 0; i < 6; i++)
		n->mac[i] = virtio_config_read8(d, CFG_MAC + i);
	/* Buffers go in after DRIVER_OK, as Linux's virtio_net fills its rings at open. */
	virtio_driver_ok(d);
	for (uint16_t i = 0; i < d->vq[RXQ].num; i++)
		rx_give(n, i);
	virtio_notify(d, RXQ);
	n_nets++;
	report_link(n);
	return 0;
}

/* Reset (virtio_negotiate writes Status 0 first), the same rings again from index 0, and full
 * receive buffers, as a driver that is brought down and up. */
static int net_restart(struct net *n)
{
	struct virtio_dev *d = n->dev;

	if (virtio_negotiate(d, NET_F_MAC | NET_F_STATUS) || virtio_queue_restart(d, RXQ) ||
	    virtio_queue_restart(d, TXQ))
		return -1;
	n->tx_next = n->tx_busy = 0;
	virtio_driver_ok(d);
	d->isr_pending = 0;
	for (uint16_t i = 0; i < d->vq[RXQ].num; i++)
		rx_give(n, i);
	virtio_notify(d, RXQ);
	return 0;
}

void net_resets_run(void)
{
	struct net *n = n_nets ? &nets[0] : NULL;
	uint32_t done = 0;

	for (; n && done < opts.net_resets; done++) {
		uint64_t until = ticks + 50 / TICK_MS;

		/* Frames come in meanwhile: the device watches the TAP again before the reset. */
		while (ticks < until) {
			net_poll(n->dev);
			wait_for_interrupt();
		}
		if (net_restart(n))
			break;
	}
	out_begin("net-resets");
	out_dec("index", 0);
	out_dec("done", done);
	out_end();
}

struct virtio_dev *net_device(uint32_t index)
{
	for (uint32_t i = 0; i < n_nets; i++)
		if (nets[i].dev->type_index == index)
			return nets[i].dev;
	return NULL;
}
