/* Interrupts: an IDT for exceptions (each reported as a PROBE error line), the LAPIC (enabled
 * through its spurious-vector register, with a periodic timer for timeouts), IOAPIC routing of
 * device GSIs, and the 8259 PIC masked so that it never delivers GSI N as vector N. */
#include "probe.h"

#define LAPIC_ID 0x020
#define LAPIC_TPR 0x080
#define LAPIC_EOI 0x0b0
#define LAPIC_SVR 0x0f0
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_TIMER_INIT 0x380
#define LAPIC_TIMER_DIV 0x3e0
#define LVT_PERIODIC (1u << 17)
/* KVM's and QEMU's LAPIC timers count at 1 GHz with divide-by-1. */
#define TIMER_COUNT_PER_MS 1000000u

#define IOAPIC_REGSEL 0x00
#define IOAPIC_WIN 0x10
#define IOAPIC_VER 0x01
#define IOAPIC_REDTBL 0x10
#define REDIR_LEVEL (1u << 15)
#define REDIR_ACTIVE_LOW (1u << 13)

struct idt_entry {
	uint16_t off_lo;
	uint16_t sel;
	uint8_t ist;
	uint8_t type;
	uint16_t off_mid;
	uint32_t off_hi;
	uint32_t zero;
} __attribute__((packed));

struct exc_frame {
	uint64_t vector, error, rip, cs, rflags, rsp, ss;
};

extern const uint64_t exc_stubs[32];
extern const uint64_t virtio_stubs[PROBE_MAX_DEVS];
void irq_timer_stub(void);
void irq_power_stub(void);
void irq_spurious_stub(void);
void irq_virtio(uint32_t line);
void irq_timer(void);
void exception_report(const struct exc_frame *f);

static struct idt_entry idt[256] __attribute__((aligned(16)));
static uint64_t lapic;
volatile uint64_t ticks;
volatile uint32_t irq_count;

static void idt_set(uint8_t vec, uint64_t handler)
{
	idt[vec] = (struct idt_entry){
		.off_lo = (uint16_t)handler,
		.sel = 0x08,
		.type = 0x8e, /* present, DPL 0, 64-bit interrupt gate */
		.off_mid = (uint16_t)(handler >> 16),
		.off_hi = (uint32_t)(handler >> 32),
	};
}

void irq_init(void)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) desc = { sizeof(idt) - 1, (uint64_t)idt };

	for (uint8_t v = 0; v < 32; v++)
		idt_set(v, exc_stubs[v]);
	for (uint8_t i = 0; i < PROBE_MAX_DEVS; i++)
		idt_set(VEC_VIRTIO + i, virtio_stubs[i]);
	idt_set(VEC_TIMER, (uint64_t)irq_timer_stub);
	idt_set(VEC_POWER, (uint64_t)irq_power_stub);
	idt_set(VEC_SPURIOUS, (uint64_t)irq_spurious_stub);
	__asm__ volatile("lidt %0" : : "m"(desc));
	outb(0x21, 0xff); /* mask both 8259s */
	outb(0xa1, 0xff);
}

void exception_report(const struct exc_frame *f)
{
	uint64_t cr2;

	__asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
	out_begin("error");
	out_str("what", "exception");
	out_dec("vector", f->vector);
	out_hex("error", f->error);
	out_hex("rip", f->rip);
	out_hex("cr2", cr2);
	out_end();
	halt_forever();
}

static void lapic_write(uint32_t reg, uint32_t v)
{
	mmio_write32(lapic + reg, v);
}

void lapic_init(void)
{
	lapic = acpi.lapic_addr ? acpi.lapic_addr : 0xfee00000;
	if (acpi.n_ioapics == 0) /* no MADT: the PC's one IOAPIC where it always is */
		acpi.ioapic[acpi.n_ioapics++] = (struct ioapic_info){ .addr = 0xfec00000 };
	lapic_write(LAPIC_TPR, 0);
	lapic_write(LAPIC_SVR, 0x100 | VEC_SPURIOUS); /* software enable */
	lapic_write(LAPIC_TIMER_DIV, 0x0b);             /* divide by 1 */
	lapic_write(LAPIC_LVT_TIMER, LVT_PERIODIC | VEC_TIMER);
	lapic_write(LAPIC_TIMER_INIT, TICK_MS * TIMER_COUNT_PER_MS);
}

static uint32_t ioapic_read(uint64_t base, uint32_t reg)
{
	mmio_write32(base + IOAPIC_REGSEL, reg);
	return mmio_read32(base + IOAPIC_WIN);
}

static void ioapic_write(uint64_t base, uint32_t reg, uint32_t v)
{
	mmio_write32(base + IOAPIC_REGSEL, reg);
	mmio_write32(base + IOAPIC_WIN, v);
}

/* Routes a GSI to a vector on this CPU, on the IOAPIC whose range holds it. */
int ioapic_route(uint32_t gsi, bool level, bool active_low, uint8_t vector)
{
	uint32_t dest = mmio_read32(lapic + LAPIC_ID) >> 24;

	for (uint32_t i = 0; i < acpi.n_ioapics; i++) {
		const struct ioapic_info *io = &acpi.ioapic[i];
		uint32_t pins = ((ioapic_read(io->addr, IOAPIC_VER) >> 16) & 0xff) + 1;
		uint32_t pin = gsi - io->gsi_base, lo = vector;

		if (gsi < io->gsi_base || pin >= pins)
			continue;
		if (level)
			lo |= REDIR_LEVEL;
		if (active_low)
			lo |= REDIR_ACTIVE_LOW;
		ioapic_write(io->addr, IOAPIC_REDTBL + 2 * pin + 1, dest << 24);
		ioapic_write(io->addr, IOAPIC_REDTBL + 2 * pin, lo); /* unmasked */
		return 0;
	}
	return -1;
}

void irq_virtio(uint32_t line)
{
	irq_count++;
	virtio_irq_handle(line);
	lapic_write(LAPIC_EOI, 0);
}

volatile uint32_t power_button_presses;

void irq_power(void)
{
	power_button_presses++;
	lapic_write(LAPIC_EOI, 0);
}

void irq_timer(void)
{
	ticks++;
	lapic_write(LAPIC_EOI, 0);
}

/* Sleeps until the next interrupt. "sti; hlt" is one step: STI's one-instruction shadow
 * means an interrupt pending at STI wakes the HLT instead of being taken before it. */
void wait_for_interrupt(void)
{
	__asm__ volatile("sti; hlt; cli" : : : "memory");
}
