/* mvirt-probe: shared declarations of the freestanding guest probe.
 *
 * The probe runs at CPL0 in one address space identity-mapped by entry.S. Under this
 * machine's kvm_pvm every CPL0 instruction is emulated (~1 M/s), so the code avoids loops
 * over large memory: nothing is zeroed at run time (the loader hands over zeroed .bss), page
 * tables are built by the assembler, and tables are scanned once. */
#ifndef MVIRT_PROBE_H
#define MVIRT_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define ALIGN_UP(x, a) (((x) + (a) - 1) & ~((uint64_t)(a) - 1))

/* Limits: every table the probe keeps has a stated size. */
#define PROBE_MAX_DEVS 16     /* virtio-mmio transports (ACPI plus command line) */
#define PROBE_MAX_IOAPICS 4
#define PROBE_MAX_E820 32
#define PROBE_MAX_WRITES 8    /* probe.write= options */
#define PROBE_MAX_READS 8     /* probe.read= options */
#define PROBE_MAX_NET_IPS 4   /* probe.ipN= options */
#define SECTOR_SIZE 512
#define PROBE_HOSTILE_NAME_MAX 32 /* probe.hostile= mode names */
#define PROBE_HOSTILE_ROUNDS_MAX 16 /* probe.hostile-rounds= */
#define PROBE_NET_RESETS_MAX 64 /* probe.net-resets= */

/* Interrupt vectors the probe uses. */
/* One vector per interrupt line of the virtio transports, as Linux has one handler per IRQ:
 * VEC_VIRTIO + the index of the first transport on that GSI (vdevs[]). */
#define VEC_VIRTIO 0x50
#define VEC_TIMER 0x41
#define VEC_POWER 0x42 /* the GED's GSI: the power button */
#define VEC_SPURIOUS 0xff
#define TICK_MS 10

/* ---- port and memory-mapped I/O ---- */
static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;

	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline void outw(uint16_t port, uint16_t v)
{
	__asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint32_t mmio_read32(uint64_t addr)
{
	return *(volatile uint32_t *)addr;
}

static inline void mmio_write32(uint64_t addr, uint32_t v)
{
	*(volatile uint32_t *)addr = v;
}

static inline uint8_t mmio_read8(uint64_t addr)
{
	return *(volatile uint8_t *)addr;
}

static inline void mmio_write8(uint64_t addr, uint8_t v)
{
	*(volatile uint8_t *)addr = v;
}

/* x86 keeps stores in order and does not move loads before older loads, so the virtio
 * barriers only have to stop the compiler (as Linux's virt_wmb/virt_rmb do on x86). */
static inline void barrier(void)
{
	__asm__ volatile("" : : : "memory");
}

static inline void cpu_cli(void)
{
	__asm__ volatile("cli" : : : "memory");
}

static inline void cpu_sti(void)
{
	__asm__ volatile("sti" : : : "memory");
}

/* ---- util.c ---- */
void *memset(void *s, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
void *memmove(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
bool str_starts(const char *s, const char *prefix);
uint32_t crc32(const void *buf, size_t len);
uint16_t load_le16(const uint8_t *p);
uint32_t load_le32(const uint8_t *p);
uint64_t load_le64(const uint8_t *p);
/* Parses an unsigned number at *s (decimal, or hex after 0x), advances *s. */
bool parse_uint(const char **s, uint64_t *ret);
bool parse_ipv4(const char **s, uint32_t *ret);
void *pool_alloc(size_t size, size_t align);

/* ---- serial.c: one console line per fact ---- */
void serial_init(void);
void out_begin(const char *event);
void out_str(const char *key, const char *val);
void out_dec(const char *key, uint64_t v);
void out_hex(const char *key, uint64_t v);
void out_hex8(const char *key, uint32_t v);
void out_ip(const char *key, uint32_t ip);
void out_mac(const char *key, const uint8_t *mac);
void out_raw(const char *text, size_t len);
void out_end(void);
void out_error(const char *what);

/* ---- boot.c ---- */
enum boot_entry { BOOT_PVH = 1, BOOT_LINUX64 = 2 };

struct e820_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
};

struct boot_info {
	enum boot_entry entry;
	const char *cmdline;
	uint64_t rsdp;
	uint32_t e820_count;
	struct e820_entry e820[PROBE_MAX_E820];
};

void boot_info_read(enum boot_entry entry, uint64_t info, struct boot_info *ret);

/* ---- cmdline.c ---- */
struct probe_write {
	uint32_t index;
	uint64_t sector;
	char pattern[64];
	bool done;
};

struct probe_read {
	uint32_t index;
	uint64_t sector;
};

struct mmio_cmdline_dev {
	uint64_t base;
	uint64_t size;
	uint32_t gsi;
};

struct probe_options {
	uint32_t ip[PROBE_MAX_NET_IPS];
	struct probe_write writes[PROBE_MAX_WRITES];
	uint32_t n_writes;
	struct probe_read reads[PROBE_MAX_READS];
	uint32_t n_reads;
	struct mmio_cmdline_dev mmio[PROBE_MAX_DEVS];
	uint32_t n_mmio;
	bool poweroff;
	char hostile[PROBE_HOSTILE_NAME_MAX]; /* probe.hostile=MODE, "" for none */
	uint32_t hostile_rounds; /* probe.hostile-rounds=N: break, reset, break again (1-16) */
	bool power_button_poweroff; /* probe.on-power-button=poweroff; default: report only */
	uint32_t net_resets; /* probe.net-resets=N: reset NIC 0 and start it again, N times */
};

extern struct probe_options opts;
void cmdline_parse(const char *cmdline);

/* ---- acpi.c / aml.c ---- */
struct gas {
	uint8_t space; /* 0 memory, 1 I/O port */
	uint8_t bit_width;
	uint64_t addr;
};

struct ioapic_info {
	uint32_t id;
	uint64_t addr;
	uint32_t gsi_base;
};

/* One LNRO0005 device of the DSDT or a virtio_mmio.device= option. */
struct acpi_dev {
	uint64_t base;
	uint64_t size;
	uint32_t gsi;
	uint32_t uid;
	bool level;
	bool active_low;
	bool has_irq;
};

struct acpi_info {
	uint64_t lapic_addr;
	uint32_t n_lapics;
	struct ioapic_info ioapic[PROBE_MAX_IOAPICS];
	uint32_t n_ioapics;
	const uint8_t *dsdt;
	uint32_t dsdt_len;
	struct gas sleep_ctl;   /* FADT SLEEP_CONTROL_REG, space 0xff if absent */
	struct gas pm1a_cnt;    /* PM1a control block, space 0xff if absent */
	bool hw_reduced;
	int s5_type;            /* SLP_TYPa of \_S5, -1 if the DSDT has none */
	struct acpi_dev ged;    /* the power button's Generic Event Device */
	bool has_ged;
	struct acpi_dev devs[PROBE_MAX_DEVS];
	uint32_t n_devs;
};

extern struct acpi_info acpi;
int acpi_init(uint64_t rsdp_hint);
uint32_t aml_find_virtio(const uint8_t *aml, uint32_t len, struct acpi_dev *out, uint32_t max);
int aml_find_s5(const uint8_t *aml, uint32_t len);
int aml_find_ged(const uint8_t *aml, uint32_t len, struct acpi_dev *ret);

/* ---- irq.c ---- */
extern volatile uint64_t ticks;
extern volatile uint32_t irq_count;
void irq_init(void);
void lapic_init(void);
int ioapic_route(uint32_t gsi, bool level, bool active_low, uint8_t vector);
void wait_for_interrupt(void);

/* ---- virtio.c ---- */
/* virtio-mmio registers (virtio 1.2, 4.2.2) and split-ring layouts (2.7), shared by the
 * drivers and by hostile.c, which breaks them on purpose. */
#define MMIO_MAGIC 0x000
#define MMIO_VERSION 0x004
#define MMIO_DEVICE_ID 0x008
#define MMIO_DEVICE_FEATURES 0x010
#define MMIO_DEVICE_FEATURES_SEL 0x014
#define MMIO_DRIVER_FEATURES 0x020
#define MMIO_DRIVER_FEATURES_SEL 0x024
#define MMIO_GUEST_PAGE_SIZE 0x028 /* legacy */
#define MMIO_QUEUE_SEL 0x030
#define MMIO_QUEUE_NUM_MAX 0x034
#define MMIO_QUEUE_NUM 0x038
#define MMIO_QUEUE_ALIGN 0x03c /* legacy */
#define MMIO_QUEUE_PFN 0x040   /* legacy */
#define MMIO_QUEUE_READY 0x044
#define MMIO_QUEUE_NOTIFY 0x050
#define MMIO_INTERRUPT_STATUS 0x060
#define MMIO_INTERRUPT_ACK 0x064
#define MMIO_STATUS 0x070
#define MMIO_QUEUE_DESC 0x080
#define MMIO_QUEUE_AVAIL 0x090
#define MMIO_QUEUE_USED 0x0a0
#define MMIO_CONFIG_GENERATION 0x0fc
#define MMIO_CONFIG 0x100

#define VIRTIO_MAGIC 0x74726976 /* "virt" */
#define STATUS_ACKNOWLEDGE 1
#define STATUS_DRIVER 2
#define STATUS_DRIVER_OK 4
#define STATUS_FEATURES_OK 8
#define STATUS_FAILED 128

#define VRING_DESC_F_NEXT 1
#define VRING_DESC_F_WRITE 2
#define QUEUE_MAX 64
#define PAGE 4096

struct vring_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct vring_avail {
	uint16_t flags;
	uint16_t idx;
	uint16_t ring[];
};

struct vring_used_elem {
	uint32_t id;
	uint32_t len;
};

struct vring_used {
	uint16_t flags;
	uint16_t idx;
	struct vring_used_elem ring[];
};

struct virtq {
	uint16_t num;
	uint16_t avail_idx;  /* next free slot of the avail ring, as published */
	uint16_t last_used;  /* used-ring entries already consumed */
	uint16_t index;
	volatile struct vring_desc *desc;
	volatile struct vring_avail *avail;
	volatile struct vring_used *used;
};

enum virtio_type { VT_NONE = 0, VT_NET = 1, VT_BLK = 2 };

struct virtio_dev {
	uint64_t base;
	uint32_t version;
	uint32_t device_id;
	uint64_t features; /* negotiated */
	const struct acpi_dev *res;
	volatile uint32_t isr_pending; /* InterruptStatus bits seen by the handler */
	bool live;                     /* DRIVER_OK reached */
	uint32_t type_index;           /* index among devices of its type */
	struct virtq vq[2];
};

#define VIRTIO_F_VERSION_1 (1ULL << 32)

extern struct virtio_dev vdevs[PROBE_MAX_DEVS];
extern uint32_t n_vdevs;

int virtio_check_transport(struct virtio_dev *d);
int virtio_negotiate(struct virtio_dev *d, uint64_t wanted);
int virtio_queue_setup(struct virtio_dev *d, uint16_t qi, uint16_t max_num);
void virtio_driver_ok(struct virtio_dev *d);
int virtio_queue_restart(struct virtio_dev *d, uint16_t qi);
void virtio_write_reg(const struct virtio_dev *d, uint32_t reg, uint32_t v);
uint32_t virtio_read_reg(const struct virtio_dev *d, uint32_t reg);
void virtio_fail(struct virtio_dev *d);
void virtio_notify(struct virtio_dev *d, uint16_t qi);
uint32_t virtio_config_gen(const struct virtio_dev *d);
uint32_t virtio_config_read32(const struct virtio_dev *d, uint32_t off);
uint8_t virtio_config_read8(const struct virtio_dev *d, uint32_t off);
/* The vector that serves d's GSI; transports sharing a GSI share it. */
uint8_t virtio_irq_vector(const struct virtio_dev *d);
void virtio_irq_handle(uint32_t line);
uint32_t virtio_take_isr(struct virtio_dev *d);
/* Publishes a chain of n buffers; `writable` has bit i set when buffer i is device-writable. */
void virtq_add_chain(struct virtq *q, uint16_t head, const uint64_t *addr, const uint32_t *len,
		uint16_t n, uint32_t writable);
bool virtq_pop_used(struct virtq *q, uint32_t *ret_id, uint32_t *ret_len);

/* ---- blk.c ---- */
int blk_init(struct virtio_dev *d);
void blk_config_changed(struct virtio_dev *d);
void blk_run_commands(void);
uint32_t blk_count(void);
/* The virtio device of disk INDEX, or NULL. */
struct virtio_dev *blk_device(uint32_t index);
/* Reads a sector of disk INDEX and prints its "PROBE read" line (or an error line). */
void blk_report_read(uint32_t index, uint64_t sector);
/* Resets disk INDEX and starts its driver again in the memory it had: 0 or -1. */
int blk_restart(uint32_t index);

/* ---- net.c ---- */
int net_init(struct virtio_dev *d);
void net_config_changed(struct virtio_dev *d);
void net_poll(struct virtio_dev *d);
uint32_t net_count(void);
/* The virtio device of NIC INDEX, or NULL. */
struct virtio_dev *net_device(uint32_t index);
/* probe.net-resets=N: NIC 0 reset (Status 0) and started again N times while frames arrive. */
void net_resets_run(void);

/* ---- hostile.c: probe.hostile=MODE breaks the virtio rules on purpose (PROTOCOL.md) ---- */
bool hostile_known(const char *name, size_t len);
void hostile_run(void);

/* ---- power.c ---- */
void power_off(void);
/* Routes the GED's interrupt; power_button_poll() reports presses ("PROBE power-button") and
 * powers off with probe.on-power-button=poweroff. */
void power_button_init(void);
void power_button_poll(void);
void irq_power(void);
extern volatile uint32_t power_button_presses;
__attribute__((noreturn)) void halt_forever(void);

#endif
