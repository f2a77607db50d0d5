/* Kernel command line options of the probe (PROTOCOL.md lists them). Unknown words are
 * ignored, as Linux passes unknown ones to init; a malformed probe option is reported. */
#include "probe.h"

struct probe_options opts;

static bool at_word_end(const char *p)
{
	return *p == '\0' || *p == ' ' || *p == '\t' || *p == '\n';
}

static void bad_option(const char *word)
{
	size_t n = 0;

	while (!at_word_end(word + n))
		n++;
	out_begin("error");
	out_str("what", "bad-option");
	out_str("option", "");
	out_raw(word, n);
	out_end();
}

/* probe.ip=A.B.C.D (NIC 0) or probe.ipN=A.B.C.D (NIC N). */
static bool parse_ip(const char *p)
{
	uint64_t idx = 0;
	uint32_t ip;

	if (*p != '=' && (!parse_uint(&p, &idx) || idx >= PROBE_MAX_NET_IPS))
		return false;
	if (*p++ != '=' || !parse_ipv4(&p, &ip) || !at_word_end(p))
		return false;
	opts.ip[idx] = ip;
	return true;
}

/* probe.write=INDEX:SECTOR:PATTERN; PATTERN is 1-63 printable characters. */
static bool parse_write(const char *p)
{
	struct probe_write *w = &opts.writes[opts.n_writes];
	uint64_t idx, sector;
	size_t n = 0;

	if (opts.n_writes >= PROBE_MAX_WRITES)
		return false;
	if (!parse_uint(&p, &idx) || *p++ != ':' || !parse_uint(&p, &sector) || *p++ != ':')
		return false;
	while (!at_word_end(p + n) && n < sizeof(w->pattern) - 1) {
		w->pattern[n] = p[n];
		n++;
	}
	if (n == 0 || !at_word_end(p + n))
		return false;
	w->index = (uint32_t)idx;
	w->sector = sector;
	opts.n_writes++;
	return true;
}

/* probe.read=INDEX:SECTOR */
static bool parse_read(const char *p)
{
	uint64_t idx, sector;

	if (opts.n_reads >= PROBE_MAX_READS)
		return false;
	if (!parse_uint(&p, &idx) || *p++ != ':' || !parse_uint(&p, &sector) || !at_word_end(p))
		return false;
	opts.reads[opts.n_reads].index = (uint32_t)idx;
	opts.reads[opts.n_reads].sector = sector;
	opts.n_reads++;
	return true;
}

/* virtio_mmio.device=<size>[K|M]@<base>:<gsi>[:<id>], as Linux's virtio_mmio parses it. */
static bool parse_mmio(const char *p)
{
	struct mmio_cmdline_dev *m = &opts.mmio[opts.n_mmio];
	uint64_t size, base, gsi, id;

	if (opts.n_mmio >= PROBE_MAX_DEVS || !parse_uint(&p, &size))
		return false;
	if (*p == 'K' || *p == 'k')
		size <<= 10, p++;
	else if (*p == 'M' || *p == 'm')
		size <<= 20, p++;
	if (*p++ != '@' || !parse_uint(&p, &base) || *p++ != ':' || !parse_uint(&p, &gsi))
		return false;
	if (*p == ':' && (p++, !parse_uint(&p, &id)))
		return false;
	if (!at_word_end(p))
		return false;
	m->size = size;
	m->base = base;
	m->gsi = (uint32_t)gsi;
	opts.n_mmio++;
	return true;
}

/* probe.hostile=MODE, one of hostile.c's modes. */
static bool parse_hostile(const char *p)
{
	size_t n = 0;

	while (!at_word_end(p + n))
		n++;
	if (n >= sizeof(opts.hostile) || !hostile_known(p, n))
		return false;
	memcpy(opts.hostile, p, n);
	opts.hostile[n] = '\0';
	return true;
}

/* probe.hostile-rounds=N, 1 to PROBE_HOSTILE_ROUNDS_MAX. */
static bool parse_rounds(const char *p)
{
	uint64_t n;

	if (!parse_uint(&p, &n) || !at_word_end(p) || n < 1 || n > PROBE_HOSTILE_ROUNDS_MAX)
		return false;
	opts.hostile_rounds = (uint32_t)n;
	return true;
}

/* probe.net-resets=N, 1 to PROBE_NET_RESETS_MAX. */
static bool parse_net_resets(const char *p)
{
	uint64_t n;

	if (!parse_uint(&p, &n) || !at_word_end(p) || n < 1 || n > PROBE_NET_RESETS_MAX)
		return false;
	opts.net_resets = (uint32_t)n;
	return true;
}

/* probe.on-power-button=poweroff|ignore */
static bool parse_power_button(const char *p)
{
	if (str_starts(p, "poweroff") && at_word_end(p + 8))
		opts.power_button_poweroff = true;
	else if (str_starts(p, "ignore") && at_word_end(p + 6))
		opts.power_button_poweroff = false;
	else
		return false;
	return true;
}

static void parse_word(const char *w)
{
	bool ok = true;

	if (str_starts(w, "probe.ip"))
		ok = parse_ip(w + 8);
	else if (str_starts(w, "probe.write="))
		ok = parse_write(w + 12);
	else if (str_starts(w, "probe.read="))
		ok = parse_read(w + 11);
	else if (str_starts(w, "probe.poweroff="))
		opts.poweroff = w[15] == '1';
	else if (str_starts(w, "probe.hostile="))
		ok = parse_hostile(w + 14);
	else if (str_starts(w, "probe.hostile-rounds="))
		ok = parse_rounds(w + 21);
	else if (str_starts(w, "probe.net-resets="))
		ok = parse_net_resets(w + 17);
	else if (str_starts(w, "probe.on-power-button="))
		ok = parse_power_button(w + 22);
	else if (str_starts(w, "virtio_mmio.device="))
		ok = parse_mmio(w + 19);
	if (!ok)
		bad_option(w);
}

void cmdline_parse(const char *cmdline)
{
	/* Defaults: NIC N answers at 10.0.0.(2+N). */
	for (uint32_t i = 0; i < PROBE_MAX_NET_IPS; i++)
		opts.ip[i] = 0x0a000002 + i;
	opts.hostile_rounds = 1;
	if (!cmdline)
		return;
	for (const char *p = cmdline; *p;) {
		while (*p == ' ' || *p == '\t' || *p == '\n')
			p++;
		if (*p)
			parse_word(p);
		while (!at_word_end(p))
			p++;
	}
}
