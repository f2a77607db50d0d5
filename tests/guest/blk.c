/* virtio-blk (virtio 1.2, 5.2): capacity, sector reads and writes, flush. One request at a
 * time, three descriptors (header, data, status), completion awaited with HLT and bounded by
 * the LAPIC timer so that a device that never answers gives an error line, not a hang. A disk
 * whose capacity is 0 is an empty hot-plug slot: it is watched for config changes. */
#include "probe.h"

#define BLK_F_RO (1ULL << 5)
#define BLK_F_FLUSH (1ULL << 9)
#define BLK_T_IN 0
#define BLK_T_OUT 1
#define BLK_T_FLUSH 4
#define BLK_S_OK 0
#define REQUEST_TIMEOUT_MS 5000
#define MAX_BLK 8

struct blk_req_hdr {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

struct blk {
	struct virtio_dev *dev;
	uint64_t capacity; /* 512-byte sectors */
	struct blk_req_hdr *hdr;
	uint8_t *status;
	uint8_t *data;     /* one sector */
};

static struct blk blks[MAX_BLK];
static uint32_t n_blks;

uint32_t blk_count(void)
{
	return n_blks;
}

static uint64_t read_capacity(const struct virtio_dev *d)
{
	uint32_t gen, lo, hi;

	/* Re-read when ConfigGeneration moved: the two halves must come from one snapshot. */
	do {
		gen = virtio_config_gen(d);
		lo = virtio_config_read32(d, 0);
		hi = virtio_config_read32(d, 4);
	} while (gen != virtio_config_gen(d));
	return lo | (uint64_t)hi << 32;
}

static void blk_error(const struct blk *b, const char *what, uint64_t sector, int status)
{
	out_begin("error");
	out_str("what", what);
	out_str("dev", "blk");
	out_dec("index", b->dev->type_index);
	out_dec("sector", sector);
	if (status >= 0) /* a timeout has no status */
		out_dec("status", (uint64_t)status);
	out_end();
}

/* Submits one request and waits for it. Returns the virtio status, or -1 on timeout. */
static int blk_request(struct blk *b, uint32_t type, uint64_t sector)
{
	struct virtq *q = &b->dev->vq[0];
	uint64_t addr[3] = { (uint64_t)b->hdr, (uint64_t)b->data, (uint64_t)b->status };
	uint32_t len[3] = { sizeof(*b->hdr), SECTOR_SIZE, 1 };
	uint64_t deadline = ticks + REQUEST_TIMEOUT_MS / TICK_MS;
	uint32_t id, used_len;

	b->hdr->type = type;
	b->hdr->reserved = 0;
	b->hdr->sector = sector;
	*b->status = 0xff;
	if (type == BLK_T_FLUSH) { /* no data buffer */
		addr[1] = addr[2];
		len[1] = 1;
	}
	virtq_add_chain(q, 0, addr, len, type == BLK_T_FLUSH ? 2 : 3,
		type == BLK_T_FLUSH ? 0x2 : type == BLK_T_IN ? 0x6 : 0x4);
	virtio_notify(b->dev, 0);
	while (!virtq_pop_used(q, &id, &used_len)) {
		if (ticks >= deadline)
			return -1;
		wait_for_interrupt();
	}
	return *b->status;
}

static int blk_rw(struct blk *b, uint32_t type, uint64_t sector)
{
	int st = blk_request(b, type, sector);

	if (st != BLK_S_OK)
		blk_error(b, st < 0 ? "timeout" : type == BLK_T_IN ? "read-failed" : "write-failed",
			sector, st);
	return st == BLK_S_OK ? 0 : -1;
}

static void report_read(struct blk *b, uint64_t sector)
{
	if (blk_rw(b, BLK_T_IN, sector))
		return;
	out_begin("read");
	out_dec("index", b->dev->type_index);
	out_dec("sector", sector);
	out_hex8("sum", crc32(b->data, SECTOR_SIZE));
	out_end();
}

/* The "PROBE blk" line: capacity, and the CRC of sector 0 when there is one. */
static void report_disk(struct blk *b)
{
	bool have_sum = b->capacity > 0 && !blk_rw(b, BLK_T_IN, 0);

	out_begin("blk");
	out_dec("index", b->dev->type_index);
	out_dec("capacity", b->capacity);
	if (have_sum)
		out_hex8("sum0", crc32(b->data, SECTOR_SIZE));
	if (b->dev->features & BLK_F_RO)
		out_dec("ro", 1);
	out_end();
}

static void do_write(struct blk *b, struct probe_write *w)
{
	size_t plen = strlen(w->pattern);

	for (size_t i = 0; i < SECTOR_SIZE; i++)
		b->data[i] = (uint8_t)w->pattern[i % plen];
	w->done = true;
	if (blk_rw(b, BLK_T_OUT, w->sector))
		return;
	if (b->dev->features & BLK_F_FLUSH)
		blk_rw(b, BLK_T_FLUSH, 0);
	out_begin("write");
	out_dec("index", b->dev->type_index);
	out_dec("sector", w->sector);
	out_hex8("sum", crc32(b->data, SECTOR_SIZE));
	out_end();
	report_read(b, w->sector); /* read back: the sums must match */
}

/* Writes asked for on the command line whose disk now has the sector; each is done once. */
static void run_writes(struct blk *b)
{
	for (uint32_t i = 0; i < opts.n_writes; i++) {
		struct probe_write *w = &opts.writes[i];

		if (!w->done && w->index == b->dev->type_index && w->sector < b->capacity)
			do_write(b, w);
	}
}

int blk_init(struct virtio_dev *d)
{
	struct blk *b;

	if (n_blks >= MAX_BLK)
		return -1;
	b = &blks[n_blks];
	b->dev = d;
	b->hdr = pool_alloc(sizeof(*b->hdr) + 16, 16);
	b->data = pool_alloc(SECTOR_SIZE, SECTOR_SIZE);
	if (!b->hdr || !b->data)
		return -1;
	b->status = (uint8_t *)(b->hdr + 1);
	if (virtio_negotiate(d, BLK_F_RO | BLK_F_FLUSH) || virtio_queue_setup(d, 0, 4))
		return -1;
	virtio_driver_ok(d);
	n_blks++;
	b->capacity = read_capacity(d);
	report_disk(b);
	return 0;
}

void blk_config_changed(struct virtio_dev *d)
{
	for (uint32_t i = 0; i < n_blks; i++) {
		struct blk *b = &blks[i];

		if (b->dev != d)
			continue;
		b->capacity = read_capacity(d);
		report_disk(b);
		run_writes(b);
	}
}

/* Boot-time commands: probe.write= first, then probe.read=. A disk's index is its place
 * among blk transports in ACPI order, whether or not an earlier one failed to start. */
void blk_run_commands(void)
{
	for (uint32_t i = 0; i < n_blks; i++)
		run_writes(&blks[i]);
	for (uint32_t i = 0; i < opts.n_reads; i++) {
		const struct probe_read *r = &opts.reads[i];

		for (uint32_t j = 0; j < n_blks; j++)
			if (blks[j].dev->type_index == r->index && r->sector < blks[j].capacity)
				report_read(&blks[j], r->sector);
	}
}

static struct blk *blk_find(uint32_t index)
{
	for (uint32_t i = 0; i < n_blks; i++)
		if (blks[i].dev->type_index == index)
			return &blks[i];
	return NULL;
}

struct virtio_dev *blk_device(uint32_t index)
{
	struct blk *b = blk_find(index);

	return b ? b->dev : NULL;
}

void blk_report_read(uint32_t index, uint64_t sector)
{
	struct blk *b = blk_find(index);

	if (b)
		report_read(b, sector);
}

int blk_restart(uint32_t index)
{
	struct blk *b = blk_find(index);

	if (!b || virtio_negotiate(b->dev, BLK_F_RO | BLK_F_FLUSH) ||
			virtio_queue_restart(b->dev, 0))
		return -1;
	virtio_driver_ok(b->dev);
	b->dev->isr_pending = 0;
	return 0;
}
