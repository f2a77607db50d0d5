/* The virtio-mmio transport (virtio 1.2, 4.2.2 modern; 4.2.4 legacy) and split virtqueues
 * (2.7). The transport knows nothing of device types; blk.c and net.c drive it. */
#include "probe.h"

struct virtio_dev vdevs[PROBE_MAX_DEVS];
uint32_t n_vdevs;

static uint32_t rd(const struct virtio_dev *d, uint32_t reg)
{
	return mmio_read32(d->base + reg);
}

static void wr(const struct virtio_dev *d, uint32_t reg, uint32_t v)
{
	mmio_write32(d->base + reg, v);
}

static void transport_error(const struct virtio_dev *d, const char *what, uint32_t value)
{
	out_begin("error");
	out_str("what", what);
	out_hex("base", d->base);
	out_hex("value", value);
	out_end();
}

/* Magic and version; a transport that reads as all zeros or all ones has no device behind
 * it at all. Returns 0 when the transport can be driven. */
int virtio_check_transport(struct virtio_dev *d)
{
	uint32_t magic = rd(d, MMIO_MAGIC);

	if (magic == 0 || magic == 0xffffffff) {
		transport_error(d, "no-device", magic);
		return -1;
	}
	if (magic != VIRTIO_MAGIC) {
		transport_error(d, "bad-magic", magic);
		return -1;
	}
	d->version = rd(d, MMIO_VERSION);
	if (d->version != 1 && d->version != 2) {
		transport_error(d, "bad-version", d->version);
		return -1;
	}
	d->device_id = rd(d, MMIO_DEVICE_ID);
	return 0;
}

static uint64_t device_features(const struct virtio_dev *d)
{
	uint64_t f;

	wr(d, MMIO_DEVICE_FEATURES_SEL, 0);
	f = rd(d, MMIO_DEVICE_FEATURES);
	if (d->version == 1)
		return f; /* legacy devices have 32 feature bits */
	wr(d, MMIO_DEVICE_FEATURES_SEL, 1);
	return f | (uint64_t)rd(d, MMIO_DEVICE_FEATURES) << 32;
}

/* Reset, ACKNOWLEDGE, DRIVER, features, FEATURES_OK (3.1.1). Returns 0 or -1 after setting
 * FAILED. A modern device must offer VERSION_1. */
int virtio_negotiate(struct virtio_dev *d, uint64_t wanted)
{
	uint64_t offered;

	wr(d, MMIO_STATUS, 0);
	wr(d, MMIO_STATUS, STATUS_ACKNOWLEDGE);
	wr(d, MMIO_STATUS, STATUS_ACKNOWLEDGE | STATUS_DRIVER);
	offered = device_features(d);
	if (d->version == 2)
		wanted |= VIRTIO_F_VERSION_1;
	d->features = offered & wanted;
	if (d->version == 2 && !(d->features & VIRTIO_F_VERSION_1)) {
		transport_error(d, "no-version-1", (uint32_t)(offered >> 32));
		virtio_fail(d);
		return -1;
	}
	wr(d, MMIO_DRIVER_FEATURES_SEL, 0);
	wr(d, MMIO_DRIVER_FEATURES, (uint32_t)d->features);
	if (d->version == 1) {
		wr(d, MMIO_GUEST_PAGE_SIZE, PAGE);
		return 0;
	}
	wr(d, MMIO_DRIVER_FEATURES_SEL, 1);
	wr(d, MMIO_DRIVER_FEATURES, (uint32_t)(d->features >> 32));
	wr(d, MMIO_STATUS, STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK);
	if (!(rd(d, MMIO_STATUS) & STATUS_FEATURES_OK)) {
		transport_error(d, "features-refused", (uint32_t)d->features);
		virtio_fail(d);
		return -1;
	}
	return 0;
}

static void queue_addr(const struct virtio_dev *d, uint32_t reg, const volatile void *p)
{
	wr(d, reg, (uint32_t)(uint64_t)p);
	wr(d, reg + 4, (uint32_t)((uint64_t)p >> 32));
}

/* One queue in two zeroed pages: descriptors and the avail ring in the first, the used ring
 * in the second. That is also the legacy layout with QueueAlign 4096, so one allocation
 * serves both transports. */
int virtio_queue_setup(struct virtio_dev *d, uint16_t qi, uint16_t max_num)
{
	struct virtq *q = &d->vq[qi];
	uint32_t dev_max;
	uint8_t *mem;

	wr(d, MMIO_QUEUE_SEL, qi);
	dev_max = rd(d, MMIO_QUEUE_NUM_MAX);
	if (dev_max == 0) {
		transport_error(d, "no-queue", qi);
		return -1;
	}
	q->num = max_num < QUEUE_MAX ? max_num : QUEUE_MAX;
	while (q->num > dev_max)
		q->num /= 2; /* sizes stay powers of two, as legacy rings require */
	mem = pool_alloc(2 * PAGE, PAGE);
	if (!mem) {
		transport_error(d, "out-of-memory", qi);
		return -1;
	}
	q->index = qi;
	q->desc = (volatile struct vring_desc *)mem;
	q->avail = (volatile struct vring_avail *)(mem + 16 * q->num);
	q->used = (volatile struct vring_used *)(mem + PAGE);
	wr(d, MMIO_QUEUE_NUM, q->num);
	if (d->version == 1) {
		wr(d, MMIO_QUEUE_ALIGN, PAGE);
		wr(d, MMIO_QUEUE_PFN, (uint32_t)((uint64_t)mem / PAGE));
		return 0;
	}
	queue_addr(d, MMIO_QUEUE_DESC, q->desc);
	queue_addr(d, MMIO_QUEUE_AVAIL, q->avail);
	queue_addr(d, MMIO_QUEUE_USED, q->used);
	wr(d, MMIO_QUEUE_READY, 1);
	return 0;
}

/* Gives queue qi back to the device after a reset, in the memory it had before: the rings are
 * emptied so that both sides start again from index 0. */
int virtio_queue_restart(struct virtio_dev *d, uint16_t qi)
{
	struct virtq *q = &d->vq[qi];

	if (!q->desc)
		return -1;
	q->avail->flags = 0;
	q->avail->idx = 0;
	q->used->idx = 0;
	q->avail_idx = 0;
	q->last_used = 0;
	wr(d, MMIO_QUEUE_SEL, qi);
	wr(d, MMIO_QUEUE_NUM, q->num);
	queue_addr(d, MMIO_QUEUE_DESC, q->desc);
	queue_addr(d, MMIO_QUEUE_AVAIL, q->avail);
	queue_addr(d, MMIO_QUEUE_USED, q->used);
	wr(d, MMIO_QUEUE_READY, 1);
	return 0;
}

/* Writes a register the drivers have no reason to touch (hostile.c breaks the rules with it). */
void virtio_write_reg(const struct virtio_dev *d, uint32_t reg, uint32_t v)
{
	wr(d, reg, v);
}

uint32_t virtio_read_reg(const struct virtio_dev *d, uint32_t reg)
{
	return rd(d, reg);
}

void virtio_driver_ok(struct virtio_dev *d)
{
	uint32_t s = STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_DRIVER_OK;

	if (d->version == 2)
		s |= STATUS_FEATURES_OK;
	wr(d, MMIO_STATUS, s);
	d->live = true;
}

void virtio_fail(struct virtio_dev *d)
{
	wr(d, MMIO_STATUS, rd(d, MMIO_STATUS) | STATUS_FAILED);
	d->live = false;
}

void virtio_notify(struct virtio_dev *d, uint16_t qi)
{
	barrier();
	wr(d, MMIO_QUEUE_NOTIFY, qi);
}

uint32_t virtio_config_gen(const struct virtio_dev *d)
{
	return d->version == 2 ? rd(d, MMIO_CONFIG_GENERATION) : 0;
}

uint32_t virtio_config_read32(const struct virtio_dev *d, uint32_t off)
{
	return rd(d, MMIO_CONFIG + off);
}

uint8_t virtio_config_read8(const struct virtio_dev *d, uint32_t off)
{
	return mmio_read8(d->base + MMIO_CONFIG + off);
}

/* The transports on each interrupt line (line = index of the first transport on its GSI),
 * filled when the lines are routed: the handler of a line reads the InterruptStatus of its
 * own transports only, as Linux's virtio_mmio does, instead of every device's. Each read is an
 * exit to the VMM, the dearest thing a request costs. */
static uint8_t line_devs[PROBE_MAX_DEVS][PROBE_MAX_DEVS];
static uint8_t n_line_devs[PROBE_MAX_DEVS];

uint8_t virtio_irq_vector(const struct virtio_dev *d)
{
	uint32_t me = (uint32_t)(d - vdevs), line = me;

	for (uint32_t i = 0; i < me; i++)
		if (vdevs[i].res && vdevs[i].res->has_irq && vdevs[i].res->gsi == d->res->gsi) {
			line = i;
			break;
		}
	line_devs[line][n_line_devs[line]++] = (uint8_t)me;
	return (uint8_t)(VEC_VIRTIO + line);
}

/* Interrupt context: acknowledge the interrupt of the live transports on this line (a
 * level-triggered line stays asserted until then) and leave the bits for the main loop. */
void virtio_irq_handle(uint32_t line)
{
	if (line >= PROBE_MAX_DEVS)
		return;
	for (uint32_t k = 0; k < n_line_devs[line]; k++) {
		struct virtio_dev *d = &vdevs[line_devs[line][k]];
		uint32_t isr;

		if (!d->live)
			continue;
		isr = rd(d, MMIO_INTERRUPT_STATUS);
		if (isr) {
			wr(d, MMIO_INTERRUPT_ACK, isr);
			d->isr_pending |= isr;
		}
	}
}

/* Main loop, interrupts disabled: takes the bits the handler left. */
uint32_t virtio_take_isr(struct virtio_dev *d)
{
	uint32_t isr = d->isr_pending;

	d->isr_pending = 0;
	return isr;
}

void virtq_add_chain(struct virtq *q, uint16_t head, const uint64_t *addr, const uint32_t *len,
		uint16_t n, uint32_t writable)
{
	for (uint16_t i = 0; i < n; i++) {
		volatile struct vring_desc *dsc = &q->desc[(head + i) % q->num];

		dsc->addr = addr[i];
		dsc->len = len[i];
		dsc->flags = (uint16_t)((i + 1 < n ? VRING_DESC_F_NEXT : 0) |
			((writable >> i) & 1 ? VRING_DESC_F_WRITE : 0));
		dsc->next = (uint16_t)((head + i + 1) % q->num);
	}
	q->avail->ring[q->avail_idx % q->num] = head;
	barrier(); /* the ring entry before the index that publishes it */
	q->avail_idx++;
	q->avail->idx = q->avail_idx;
}

bool virtq_pop_used(struct virtq *q, uint32_t *ret_id, uint32_t *ret_len)
{
	volatile struct vring_used_elem *e;

	if (q->used->idx == q->last_used)
		return false;
	barrier(); /* read the index before the entry it covers */
	e = &q->used->ring[q->last_used % q->num];
	*ret_id = e->id;
	*ret_len = e->len;
	q->last_used++;
	return true;
}
