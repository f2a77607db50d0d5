/* The console: an 8250 UART at I/O port 0x3f8, written by polling. Every fact is one line
 * "PROBE <event> key=value ..." (PROTOCOL.md), assembled in a buffer and sent whole. Only
 * the main loop prints; interrupt handlers never do, so the buffer needs no lock. */
#include "probe.h"

#define COM1 0x3f8
#define UART_LSR 5
#define LSR_THRE 0x20
#define LINE_MAX 512

static char line[LINE_MAX];
static size_t line_len;

void serial_init(void)
{
	outb(COM1 + 1, 0x00); /* no UART interrupts: the probe polls */
	outb(COM1 + 3, 0x80); /* DLAB to set the divisor */
	outb(COM1 + 0, 0x01); /* 115200 baud */
	outb(COM1 + 1, 0x00);
	outb(COM1 + 3, 0x03); /* 8N1 */
}

static void serial_putc(char c)
{
	/* Bounded: a UART that never reports an empty holding register must not hang us. */
	for (int i = 0; i < 100000; i++)
		if (inb(COM1 + UART_LSR) & LSR_THRE)
			break;
	outb(COM1, (uint8_t)c);
}

static void put(char c)
{
	if (line_len < LINE_MAX - 1)
		line[line_len++] = c;
}

static void puts_buf(const char *s)
{
	while (*s)
		put(*s++);
}

static void put_dec(uint64_t v)
{
	char tmp[21];
	int n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		put(tmp[--n]);
}

static void put_hex_digits(uint64_t v, int digits)
{
	static const char hex[] = "0123456789abcdef";

	for (int i = digits - 1; i >= 0; i--)
		put(hex[(v >> (i * 4)) & 15]);
}

static void put_key(const char *key)
{
	put(' ');
	puts_buf(key);
	put('=');
}

void out_begin(const char *event)
{
	line_len = 0;
	puts_buf("PROBE ");
	puts_buf(event);
}

void out_str(const char *key, const char *val)
{
	put_key(key);
	puts_buf(val);
}

void out_dec(const char *key, uint64_t v)
{
	put_key(key);
	put_dec(v);
}

void out_hex(const char *key, uint64_t v)
{
	int digits = 1;

	while (digits < 16 && (v >> (digits * 4)))
		digits++;
	put_key(key);
	puts_buf("0x");
	put_hex_digits(v, digits);
}

void out_hex8(const char *key, uint32_t v)
{
	put_key(key);
	put_hex_digits(v, 8);
}

void out_ip(const char *key, uint32_t ip)
{
	put_key(key);
	for (int i = 3; i >= 0; i--) {
		put_dec((ip >> (i * 8)) & 0xff);
		if (i)
			put('.');
	}
}

void out_mac(const char *key, const uint8_t *mac)
{
	put_key(key);
	for (int i = 0; i < 6; i++) {
		put_hex_digits(mac[i], 2);
		if (i < 5)
			put(':');
	}
}

/* Raw text (the command line): control characters become '?' so that one fact stays one line. */
void out_raw(const char *text, size_t len)
{
	for (size_t i = 0; i < len; i++)
		put(text[i] >= ' ' && text[i] < 0x7f ? text[i] : '?');
}

void out_end(void)
{
	line[line_len++] = '\n'; /* put() keeps the last byte free for this */
	for (size_t i = 0; i < line_len; i++)
		serial_putc(line[i]);
	line_len = 0;
}

void out_error(const char *what)
{
	out_begin("error");
	out_str("what", what);
	out_end();
}
