/* probe.hostile=MODE: after "PROBE ready" the probe breaks one virtio rule on purpose, shows
 * what the device did (status register, used ring, request status), repeats the offence so
 * that a host which logs every occurrence floods, then resets the device and reads from it
 * again, reads sector 0 of another disk, and says "PROBE hostile mode=X done". The modes and
 * their lines are in PROTOCOL.md. Every loop here is a few dozen iterations: CPL0 code is
 * emulated at ~1 M instructions/s under this machine's KVM. */
#include "probe.h"

#define BLK_T_IN 0
#define BLK_T_OUT 1
#define VRING_DESC_F_INDIRECT 4
#define STATUS_NEEDS_RESET 0x40
#define WAIT_MS 300
#define REPEATS 4 /* the offence again, once the device is broken */
#define BIG_QUEUE 256 /* above the VMM's 128-descriptor chain limit */
#define LONG_CHAIN 160
#define FRAME_TOO_BIG 70000 /* past the MTU and past what one TAP write takes */
#define NET_TXQ 1
#define NET_HDR 12
#define OUTSIDE_RAM 0x4000000000ULL /* 256 GiB: far above any -m the tests give */
#define FRAME_ADDR 0x100000 /* the probe's own image: guest RAM the device may read */

struct hostile_buf {
	uint8_t *hdr;   /* 16-byte request header */
	uint8_t *status;
	uint8_t *data;  /* one sector */
	uint8_t *ring;  /* three pages for a BIG_QUEUE ring */
};

static struct hostile_buf hb;

struct hostile_mode {
	const char *name;
	enum virtio_type type;
	bool read_only;       /* the target is the first read-only disk */
	/* Commits the offence: the queue on which an answer would show. */
	struct virtq *(*run)(struct virtio_dev *d);
};

static void put_desc(struct virtq *q, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
		uint16_t next)
{
	volatile struct vring_desc *dsc = &q->desc[i];

	dsc->addr = addr;
	dsc->len = len;
	dsc->flags = flags;
	dsc->next = next;
}

static void publish(struct virtio_dev *d, struct virtq *q, uint16_t head)
{
	q->avail->ring[q->avail_idx % q->num] = head;
	barrier();
	q->avail_idx++;
	q->avail->idx = q->avail_idx;
	virtio_notify(d, q->index);
}

static void put_header(uint32_t type, uint64_t sector)
{
	for (int i = 0; i < 16; i++)
		hb.hdr[i] = 0;
	hb.hdr[0] = (uint8_t)type;
	for (int i = 0; i < 8; i++)
		hb.hdr[8 + i] = (uint8_t)(sector >> (8 * i));
	*hb.status = 0xff;
}

/* A well-formed sector request on queue 0, except for what the caller changes afterwards. */
static void blk_chain(struct virtq *q, uint32_t type, uint64_t sector)
{
	put_header(type, sector);
	put_desc(q, 0, (uint64_t)hb.hdr, 16, VRING_DESC_F_NEXT, 1);
	put_desc(q, 1, (uint64_t)hb.data, SECTOR_SIZE,
		VRING_DESC_F_NEXT | (type == BLK_T_IN ? VRING_DESC_F_WRITE : 0), 2);
	put_desc(q, 2, (uint64_t)hb.status, 1, VRING_DESC_F_WRITE, 0);
}

static struct virtq *mode_desc_loop(struct virtio_dev *d)
{
	blk_chain(&d->vq[0], BLK_T_IN, 0);
	put_desc(&d->vq[0], 1, (uint64_t)hb.data, SECTOR_SIZE,
		VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 0); /* back to the head */
	publish(d, &d->vq[0], 0);
	return &d->vq[0];
}

static struct virtq *mode_addr_outside_ram(struct virtio_dev *d)
{
	blk_chain(&d->vq[0], BLK_T_IN, 0);
	d->vq[0].desc[1].addr = OUTSIDE_RAM;
	publish(d, &d->vq[0], 0);
	return &d->vq[0];
}

/* addr + len wraps past 2^64 to a low address that is guest RAM. */
static struct virtq *mode_len_wrap(struct virtio_dev *d)
{
	blk_chain(&d->vq[0], BLK_T_IN, 0);
	d->vq[0].desc[1].addr = 0xfffffffffffff000ULL;
	d->vq[0].desc[1].len = 0x2000;
	publish(d, &d->vq[0], 0);
	return &d->vq[0];
}

static struct virtq *mode_indirect(struct virtio_dev *d)
{
	blk_chain(&d->vq[0], BLK_T_IN, 0);
	d->vq[0].desc[0].flags = VRING_DESC_F_INDIRECT;
	publish(d, &d->vq[0], 0);
	return &d->vq[0];
}

/* A request with no device-writable buffer: nowhere to put the status. */
static struct virtq *mode_no_status(struct virtio_dev *d)
{
	put_header(BLK_T_IN, 0);
	put_desc(&d->vq[0], 0, (uint64_t)hb.hdr, 16, 0, 0);
	publish(d, &d->vq[0], 0);
	return &d->vq[0];
}

static struct virtq *mode_readable_after_writable(struct virtio_dev *d)
{
	blk_chain(&d->vq[0], BLK_T_IN, 0);
	d->vq[0].desc[2].flags = VRING_DESC_F_WRITE | VRING_DESC_F_NEXT;
	put_desc(&d->vq[0], 3, (uint64_t)hb.hdr, 16, 0, 0);
	publish(d, &d->vq[0], 0);
	return &d->vq[0];
}

/* The avail index runs 100 entries ahead of a 4-entry ring. */
static struct virtq *mode_avail_idx_jump(struct virtio_dev *d)
{
	struct virtq *q = &d->vq[0];

	q->avail_idx = (uint16_t)(q->avail_idx + 100);
	q->avail->idx = q->avail_idx;
	virtio_notify(d, 0);
	return q;
}

/* Reset and features again, queue 0 set up by the caller's rules, no DRIVER_OK yet. */
static void restart_to_queue(struct virtio_dev *d)
{
	virtio_negotiate(d, 0);
	d->live = true; /* keep acknowledging its interrupts */
}

/* QueueNum 3: not a power of two, as split rings require. */
static struct virtq *mode_bad_queue_size(struct virtio_dev *d)
{
	struct virtq *q = &d->vq[0];

	restart_to_queue(d);
	virtio_write_reg(d, MMIO_QUEUE_SEL, 0);
	virtio_write_reg(d, MMIO_QUEUE_NUM, 3);
	virtio_write_reg(d, MMIO_QUEUE_DESC, (uint32_t)(uint64_t)q->desc);
	virtio_write_reg(d, MMIO_QUEUE_AVAIL, (uint32_t)(uint64_t)q->avail);
	virtio_write_reg(d, MMIO_QUEUE_USED, (uint32_t)(uint64_t)q->used);
	virtio_write_reg(d, MMIO_QUEUE_READY, 1);
	return q;
}

/* A 256-entry queue and a 160-descriptor chain without a loop: past the VMM's chain limit. */
static struct virtq *mode_chain_too_long(struct virtio_dev *d)
{
	static struct virtq big = { .num = BIG_QUEUE, .index = 0 };
	uint16_t last = LONG_CHAIN - 1;

	big.desc = (volatile struct vring_desc *)hb.ring;
	big.avail = (volatile struct vring_avail *)(hb.ring + 16 * BIG_QUEUE);
	big.used = (volatile struct vring_used *)(hb.ring + 2 * PAGE);
	restart_to_queue(d);
	virtio_write_reg(d, MMIO_QUEUE_SEL, 0);
	virtio_write_reg(d, MMIO_QUEUE_NUM, BIG_QUEUE);
	virtio_write_reg(d, MMIO_QUEUE_DESC, (uint32_t)(uint64_t)big.desc);
	virtio_write_reg(d, MMIO_QUEUE_AVAIL, (uint32_t)(uint64_t)big.avail);
	virtio_write_reg(d, MMIO_QUEUE_USED, (uint32_t)(uint64_t)big.used);
	virtio_write_reg(d, MMIO_QUEUE_READY, 1);
	virtio_driver_ok(d);
	put_header(BLK_T_IN, 0);
	put_desc(&big, 0, (uint64_t)hb.hdr, 16, VRING_DESC_F_NEXT, 1);
	for (uint16_t i = 1; i < last; i++)
		put_desc(&big, i, (uint64_t)hb.data, SECTOR_SIZE,
			VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, (uint16_t)(i + 1));
	put_desc(&big, last, (uint64_t)hb.status, 1, VRING_DESC_F_WRITE, 0);
	publish(d, &big, 0);
	return &big;
}

/* A read request queued and notified before DRIVER_OK: the device must not touch it. */
static struct virtq *mode_notify_before_driver_ok(struct virtio_dev *d)
{
	restart_to_queue(d);
	virtio_queue_restart(d, 0);
	blk_chain(&d->vq[0], BLK_T_IN, 0);
	publish(d, &d->vq[0], 0);
	return &d->vq[0];
}

static struct virtq *mode_write_readonly(struct virtio_dev *d)
{
	for (int i = 0; i < SECTOR_SIZE; i++)
		hb.data[i] = 'X';
	blk_chain(&d->vq[0], BLK_T_OUT, 0);
	publish(d, &d->vq[0], 0);
	return &d->vq[0];
}

static struct virtq *mode_read_past_end(struct virtio_dev *d)
{
	uint64_t cap = virtio_config_read32(d, 0) | (uint64_t)virtio_config_read32(d, 4) << 32;

	blk_chain(&d->vq[0], BLK_T_IN, cap);
	publish(d, &d->vq[0], 0);
	return &d->vq[0];
}

static struct virtq *mode_short_header(struct virtio_dev *d)
{
	blk_chain(&d->vq[0], BLK_T_IN, 0);
	d->vq[0].desc[0].len = 8; /* half of the 16-byte request header */
	publish(d, &d->vq[0], 0);
	return &d->vq[0];
}

/* One transmit buffer of 70000 bytes of guest RAM behind a zeroed virtio-net header. */
static struct virtq *mode_net_frame_too_big(struct virtio_dev *d)
{
	struct virtq *q = &d->vq[NET_TXQ];
	uint16_t i = (uint16_t)(q->avail_idx % q->num);

	for (int k = 0; k < NET_HDR; k++)
		hb.hdr[k] = 0;
	put_desc(q, i, (uint64_t)hb.hdr, NET_HDR, VRING_DESC_F_NEXT, (uint16_t)((i + 1) % q->num));
	put_desc(q, (uint16_t)((i + 1) % q->num), FRAME_ADDR, FRAME_TOO_BIG, 0, 0);
	publish(d, q, i);
	return q;
}

static const struct hostile_mode modes[] = {
	{ "desc-loop", VT_BLK, false, mode_desc_loop },
	{ "chain-too-long", VT_BLK, false, mode_chain_too_long },
	{ "addr-outside-ram", VT_BLK, false, mode_addr_outside_ram },
	{ "len-wrap", VT_BLK, false, mode_len_wrap },
	{ "indirect", VT_BLK, false, mode_indirect },
	{ "no-status", VT_BLK, false, mode_no_status },
	{ "readable-after-writable", VT_BLK, false, mode_readable_after_writable },
	{ "avail-idx-jump", VT_BLK, false, mode_avail_idx_jump },
	{ "bad-queue-size", VT_BLK, false, mode_bad_queue_size },
	{ "notify-before-driver-ok", VT_BLK, false, mode_notify_before_driver_ok },
	{ "write-readonly", VT_BLK, true, mode_write_readonly },
	{ "read-past-end", VT_BLK, false, mode_read_past_end },
	{ "short-header", VT_BLK, false, mode_short_header },
	{ "net-frame-too-big", VT_NET, false, mode_net_frame_too_big },
};

static const struct hostile_mode *mode_find(const char *name, size_t len)
{
	for (size_t i = 0; i < ARRAY_SIZE(modes); i++)
		if (strlen(modes[i].name) == len && !memcmp(modes[i].name, name, len))
			return &modes[i];
	return NULL;
}

bool hostile_known(const char *name, size_t len)
{
	return mode_find(name, len) != NULL;
}

static bool blk_read_only(const struct virtio_dev *d)
{
	return d->features & (1ULL << 5);
}

/* The target: NIC 0, the first read-only disk, or the first writable disk. */
static struct virtio_dev *target_find(const struct hostile_mode *m, uint32_t *ret_index)
{
	for (uint32_t i = 0; i < PROBE_MAX_DEVS; i++) {
		struct virtio_dev *d = m->type == VT_NET ? net_device(i) : blk_device(i);

		if (d && (m->type == VT_NET || blk_read_only(d) == m->read_only)) {
			*ret_index = i;
			return d;
		}
	}
	return NULL;
}

/* Waits until the device answers on the used ring or says it needs a reset. */
static bool wait_answer(struct virtio_dev *d, struct virtq *q)
{
	uint64_t deadline = ticks + WAIT_MS / TICK_MS;

	while (ticks < deadline) {
		if (q->used->idx != q->last_used)
			return true;
		if (virtio_read_reg(d, MMIO_STATUS) & STATUS_NEEDS_RESET)
			return false;
		wait_for_interrupt();
	}
	return q->used->idx != q->last_used;
}

/* The offence once more, on a device that should ignore it now: no new log line. */
static void repeat_offence(const struct hostile_mode *m, struct virtio_dev *d)
{
	if (!(virtio_read_reg(d, MMIO_STATUS) & STATUS_NEEDS_RESET))
		return;
	for (int i = 0; i < REPEATS; i++) {
		if (m->run == mode_bad_queue_size)
			virtio_write_reg(d, MMIO_QUEUE_READY, 1);
		else
			virtio_notify(d, m->type == VT_NET ? NET_TXQ : 0);
	}
}

static void report(const struct hostile_mode *m, struct virtio_dev *d, uint32_t index,
		bool used)
{
	out_begin("hostile");
	out_str("mode", m->name);
	out_str("dev", m->type == VT_NET ? "net" : "blk");
	out_dec("index", index);
	out_hex("status", virtio_read_reg(d, MMIO_STATUS));
	out_dec("used", used);
	if (m->type == VT_BLK)
		out_hex("req", *hb.status);
	out_end();
}

/* Another disk than the target, read as usual: the VMM still serves the others. */
static void read_other(const struct virtio_dev *target)
{
	for (uint32_t i = 0; i < PROBE_MAX_DEVS; i++) {
		struct virtio_dev *d = blk_device(i);

		if (d && d != target) {
			blk_report_read(i, 0);
			return;
		}
	}
}

void hostile_run(void)
{
	const struct hostile_mode *m = mode_find(opts.hostile, strlen(opts.hostile));
	struct virtio_dev *d;
	struct virtq *q;
	uint32_t index = 0;
	bool used;

	hb.hdr = pool_alloc(PAGE, PAGE);
	hb.data = pool_alloc(SECTOR_SIZE, SECTOR_SIZE);
	hb.ring = pool_alloc(3 * PAGE, PAGE);
	d = m ? target_find(m, &index) : NULL;
	if (!d || !hb.hdr || !hb.data || !hb.ring) {
		out_begin("error");
		out_str("what", "hostile-no-target");
		out_str("mode", opts.hostile);
		out_end();
		return;
	}
	hb.status = hb.hdr + 16;
	*hb.status = 0xff; /* what the device never wrote */
	q = m->run(d);
	used = wait_answer(d, q);
	q->last_used = q->used->idx; /* taken here: the drivers never see this answer */
	repeat_offence(m, d);
	report(m, d, index, used);
	/* A guest that resets the device and breaks it again, round after round: the host's
	 * rate limit, not the device state, keeps the log short. */
	for (uint32_t r = 1; r < opts.hostile_rounds && m->type == VT_BLK; r++) {
		if (blk_restart(index) != 0)
			break;
		q = m->run(d);
		wait_answer(d, q);
		q->last_used = q->used->idx;
	}
	/* Back to work: reset, start the driver again, read what the offence was about. */
	if (m->type == VT_BLK && blk_restart(index) == 0)
		blk_report_read(index, 0);
	read_other(d);
	out_begin("hostile");
	out_str("mode", m->name);
	out_str("done", "1");
	out_end();
}
