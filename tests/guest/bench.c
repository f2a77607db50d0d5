/* probe.bench=MODE:COUNT: after "PROBE ready", drive disk 0 or NIC 0 as fast as the probe
 * can and print how long it took, so that bench/run can compare VMMs on the same guest work.
 * The probe's CPL0 code is emulated under this machine's kvm_pvm (~1 M instructions/s), so
 * the per-request guest work is kept to a few hundred instructions: buffers are filled once,
 * requests differ only in their header. One disk request in flight (queue depth 1, as the
 * probe's 4-entry queue allows); NIC frames are kept in flight up to the ring size. */
#include "probe.h"

void bench_run(const char *cmdline);
bool bench_rx_frame(uint16_t type, uint32_t len);

#define BLK_T_IN 0
#define BLK_T_OUT 1
#define BLK_T_FLUSH 4
#define BLK_F_FLUSH (1ULL << 9)
#define BENCH_MAX_COUNT 1000000
#define BENCH_BUF 65536
#define BENCH_TIMEOUT_MS 5000
#define FRAME_LEN 1514 /* a full Ethernet frame without FCS */
#define NET_TXQ 1
#define NET_BUF 2048
#define NET_RING_MAX 16

enum bench_mode { B_NONE, B_RANDREAD_4K, B_SEQREAD_64K, B_SEQWRITE_64K, B_NET_TX, B_NET_RX };

static const char *const mode_names[] = {
	[B_RANDREAD_4K] = "blk-randread-4k",
	[B_SEQREAD_64K] = "blk-seqread-64k",
	[B_SEQWRITE_64K] = "blk-seqwrite-64k",
	[B_NET_TX] = "net-tx",
	[B_NET_RX] = "net-rx",
};

#define BENCH_ETHERTYPE 0x88b5 /* IEEE local experimental: never real traffic */

/* net-rx: frames of BENCH_ETHERTYPE still to count (0: not counting) and bytes counted. */
static uint64_t rx_left, rx_bytes;

struct blk_hdr {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

static uint8_t data[BENCH_BUF] __attribute__((aligned(4096)));
static uint8_t frames[NET_RING_MAX][NET_BUF] __attribute__((aligned(4096)));
static struct blk_hdr hdr __attribute__((aligned(16)));
static volatile uint8_t status;

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return lo | (uint64_t)hi << 32;
}

/* The word "probe.bench=MODE:COUNT" of the command line, parsed; B_NONE if absent. */
static enum bench_mode parse_option(const char *cmdline, uint64_t *count)
{
	const char *w = cmdline;

	while (w && *w && !(str_starts(w, "probe.bench=") && (w == cmdline || w[-1] == ' ')))
		w++;
	if (!w || !*w)
		return B_NONE;
	for (uint32_t m = B_RANDREAD_4K; m < ARRAY_SIZE(mode_names); m++) {
		const char *p = w + 12;
		size_t n = strlen(mode_names[m]);

		if (memcmp(p, mode_names[m], n) || p[n] != ':')
			continue;
		p += n + 1;
		if (parse_uint(&p, count) && (*p == ' ' || !*p) && *count > 0 &&
				*count <= BENCH_MAX_COUNT)
			return (enum bench_mode)m;
	}
	out_begin("error");
	out_str("what", "bad-option");
	out_str("option", "probe.bench");
	out_end();
	return B_NONE;
}

/* One request on queue 0 of disk d, awaited with HLT; 0, or -1 on error or timeout. */
static int blk_do(struct virtio_dev *d, uint32_t type, uint64_t sector, uint32_t len)
{
	struct virtq *q = &d->vq[0];
	uint64_t addr[3] = { (uint64_t)&hdr, (uint64_t)data, (uint64_t)&status };
	uint32_t lens[3] = { sizeof(hdr), len, 1 };
	uint64_t deadline = ticks + BENCH_TIMEOUT_MS / TICK_MS;
	uint32_t id, used_len;

	hdr.type = type;
	hdr.sector = sector;
	status = 0xff;
	if (len == 0) { /* flush: header and status only */
		addr[1] = addr[2];
		lens[1] = 1;
	}
	virtq_add_chain(q, 0, addr, lens, len ? 3 : 2,
		len == 0 ? 0x2 : type == BLK_T_IN ? 0x6 : 0x4);
	virtio_notify(d, 0);
	while (!virtq_pop_used(q, &id, &used_len)) {
		if (ticks >= deadline)
			return -1;
		wait_for_interrupt();
	}
	return status == 0 ? 0 : -1;
}

/* COUNT requests on disk 0; returns the number that failed. */
static uint64_t bench_blk(enum bench_mode m, uint64_t count, uint64_t *bytes)
{
	struct virtio_dev *d = blk_device(0);
	uint32_t len = m == B_RANDREAD_4K ? 4096 : BENCH_BUF;
	uint64_t capacity, blocks, x = 0x9e3779b97f4a7c15ULL, errors = 0;

	if (!d)
		return count;
	capacity = virtio_config_read32(d, 0) | (uint64_t)virtio_config_read32(d, 4) << 32;
	blocks = capacity / (len / SECTOR_SIZE);
	if (blocks == 0)
		return count;
	for (uint64_t i = 0; i < count; i++) {
		uint64_t block = i % blocks;

		if (m == B_RANDREAD_4K) { /* xorshift64: the same offsets under every VMM */
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			block = x % blocks;
		}
		if (blk_do(d, m == B_SEQWRITE_64K ? BLK_T_OUT : BLK_T_IN,
				block * (len / SECTOR_SIZE), len))
			errors++;
	}
	if (m == B_SEQWRITE_64K && (d->features & BLK_F_FLUSH) && blk_do(d, BLK_T_FLUSH, 0, 0))
		errors++;
	*bytes = (count - errors) * len;
	return errors;
}

/* COUNT broadcast frames of ethertype 0x88b5 (IEEE local experimental) on NIC 0. */
static uint64_t bench_net(uint64_t count, uint64_t *bytes)
{
	struct virtio_dev *d = net_device(0);
	struct virtq *q;
	uint32_t hdr_len, len, id, used_len;
	uint64_t sent = 0, done = 0, deadline;

	if (!d)
		return count;
	q = &d->vq[NET_TXQ];
	hdr_len = d->version == 2 ? 12 : 10;
	len = hdr_len + FRAME_LEN;
	for (uint32_t s = 0; s < q->num && s < NET_RING_MAX; s++) {
		uint8_t *f = frames[s] + hdr_len;

		memset(f, 0xff, 6);
		for (uint32_t i = 0; i < 6; i++)
			f[6 + i] = virtio_config_read8(d, i);
		f[12] = BENCH_ETHERTYPE >> 8;
		f[13] = BENCH_ETHERTYPE & 0xff;
	}
	deadline = ticks + BENCH_TIMEOUT_MS / TICK_MS;
	while (done < count && ticks < deadline) {
		bool added = false;

		/* net.c sends nothing before the idle loop, so every used entry here is ours. */
		while (sent < count && sent - done < q->num && sent - done < NET_RING_MAX) {
			uint16_t slot = (uint16_t)(sent % q->num);
			uint64_t addr = (uint64_t)frames[slot % NET_RING_MAX];

			virtq_add_chain(q, slot, &addr, &len, 1, 0);
			sent++;
			added = true;
		}
		if (added)
			virtio_notify(d, NET_TXQ);
		while (virtq_pop_used(q, &id, &used_len)) {
			done++;
			deadline = ticks + BENCH_TIMEOUT_MS / TICK_MS;
		}
		if (done < sent && !added)
			wait_for_interrupt();
	}
	*bytes = done * FRAME_LEN;
	return count - done;
}

/* Called by net.c for every frame received; true when net-rx counted it (and it must not
 * get a console line: one line costs more than the frame). The first one prints
 * "phase=first", so that the host times the run from the first frame to the last. */
bool bench_rx_frame(uint16_t type, uint32_t len)
{
	if (!rx_left || type != BENCH_ETHERTYPE)
		return false;
	if (rx_bytes == 0) {
		out_begin("bench");
		out_str("mode", mode_names[B_NET_RX]);
		out_str("phase", "first");
		out_end();
	}
	rx_bytes += len;
	rx_left--;
	return true;
}

/* Counts COUNT frames of BENCH_ETHERTYPE sent by the host to NIC 0, received through the
 * probe's own receive path (net_poll); gives up BENCH_TIMEOUT_MS after the last one. */
static uint64_t bench_net_rx(uint64_t count, uint64_t *bytes)
{
	struct virtio_dev *d = net_device(0);
	uint64_t left = count, deadline = ticks + BENCH_TIMEOUT_MS / TICK_MS;

	if (!d)
		return count;
	rx_bytes = 0;
	rx_left = count;
	while (rx_left && ticks < deadline) {
		net_poll(d);
		if (rx_left != left) {
			left = rx_left;
			deadline = ticks + BENCH_TIMEOUT_MS / TICK_MS;
		} else {
			wait_for_interrupt();
		}
	}
	left = rx_left;
	rx_left = 0;
	*bytes = rx_bytes;
	return left;
}

void bench_run(const char *cmdline)
{
	uint64_t count = 0, bytes = 0, errors, t0;
	enum bench_mode m = parse_option(cmdline, &count);

	if (m == B_NONE)
		return;
	out_begin("bench");
	out_str("mode", mode_names[m]);
	out_str("phase", "start");
	out_end();
	t0 = rdtsc();
	if (m == B_NET_TX)
		errors = bench_net(count, &bytes);
	else if (m == B_NET_RX)
		errors = bench_net_rx(count, &bytes);
	else
		errors = bench_blk(m, count, &bytes);
	t0 = rdtsc() - t0;
	out_begin("bench");
	out_str("mode", mode_names[m]);
	out_dec("n", count);
	out_dec("bytes", bytes);
	out_dec("errors", errors);
	out_dec("cycles", t0);
	out_end();
}
