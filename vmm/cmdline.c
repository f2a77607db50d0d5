#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmdline.h"
#include "i18n.h"
#include "mac.h"
#include "util.h"
#include "vcpu.h"

#define KV_MAX 16

struct kv {
	const char *key;
	const char *value; /* NULL for a bare word */
};

_printf_(1, 2) static int fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "mvirt-vmm: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return -EINVAL;
}

/* A message without values: fail() with "%s" keeps the format a literal for -Wformat. */
static int fail_msg(const char *msg)
{
	return fail("%s", msg);
}

static char *keep(struct vmm_config *cfg, const char *s)
{
	char *c;

	if (cfg->n_strings >= CMDLINE_MAX_STRINGS)
		return NULL;
	c = strdup(s);
	if (c)
		cfg->strings[cfg->n_strings++] = c;
	return c;
}

/* Splits "a=1,b=2,word" in place; returns the count, or -EINVAL (said to the user) when the
 * value of opt has more parts than KV_MAX. */
static int kv_split(const char *opt, char *s, struct kv *kv)
{
	int n = 1;

	for (const char *c = s; *c; c++)
		n += *c == ',';
	if (n > KV_MAX)
		return fail(_("The value '%s' of %s has %d comma-separated parts; give at most %d."),
			s, opt, n, KV_MAX);
	n = 0;
	for (char *tok = strsep(&s, ","); tok; tok = strsep(&s, ",")) {
		char *eq = strchr(tok, '=');

		if (eq)
			*eq = '\0';
		kv[n++] = (struct kv){ tok, eq ? eq + 1 : NULL };
	}
	return n;
}

static int parse_fd(const char *opt, const char *v, int *ret)
{
	uint64_t n;

	if (parse_u64(v, &n) < 0 || n > 65535)
		return fail(_("The value '%s' of fd= in %s is not a file descriptor number."), v, opt);
	*ret = (int)n;
	return 0;
}

static int parse_flag(const char *opt, const struct kv *kv, bool *ret)
{
	if (!kv->value) {
		*ret = true;
		return 0;
	}
	if (parse_bool(kv->value, ret) < 0)
		return fail(_("The value '%s' in %s must be on or off."), kv->value, opt);
	return 0;
}

static int parse_drive(struct vmm_config *cfg, char *arg)
{
	struct drive_opt d = { .fd = -1 };
	struct kv kv[KV_MAX];
	int n = kv_split("-drive", arg, kv), r = 0;

	if (n < 0)
		return n;
	if (cfg->n_drives >= HOTPLUG_BLK_SLOTS_MAX)
		return fail(_("At most %d -drive options are allowed (one per disk slot)."),
			HOTPLUG_BLK_SLOTS_MAX);
	for (int i = 0; i < n && r >= 0; i++) {
		if (streq(kv[i].key, "file") && kv[i].value)
			d.file = kv[i].value;
		else if (streq(kv[i].key, "id") && kv[i].value)
			d.id = kv[i].value;
		else if (streq(kv[i].key, "readonly"))
			r = parse_flag("-drive", &kv[i], &d.read_only);
		else if (streq(kv[i].key, "direct"))
			r = parse_flag("-drive", &kv[i], &d.direct);
		else if (streq(kv[i].key, "fd") && kv[i].value)
			r = parse_fd("-drive", kv[i].value, &d.fd);
		else if (!streq(kv[i].key, "if") && !streq(kv[i].key, "format"))
			return fail(_("Unknown key '%s' in -drive; use file=, id=, readonly=, direct= "
				"or fd=."), kv[i].key);
	}
	if (r < 0)
		return r;
	if (!d.id || (!d.file && d.fd < 0))
		return fail_msg(_("-drive needs id= and file= (or fd=)."));
	cfg->drives[cfg->n_drives++] = d;
	return 0;
}

static int parse_netdev(struct vmm_config *cfg, char *arg)
{
	struct netdev_opt d = { .fd = -1 };
	struct kv kv[KV_MAX];
	int n = kv_split("-netdev", arg, kv), r = 0;

	if (n < 0)
		return n;
	if (n < 1 || !streq(kv[0].key, "tap") || kv[0].value)
		return fail_msg(_("-netdev supports only 'tap' (as in -netdev tap,id=net0,ifname=tap0)."));
	if (cfg->n_netdevs >= HOTPLUG_NET_SLOTS_MAX)
		return fail(_("At most %d -netdev options are allowed (one per NIC slot)."),
			HOTPLUG_NET_SLOTS_MAX);
	for (int i = 1; i < n && r >= 0; i++) {
		if (streq(kv[i].key, "id") && kv[i].value)
			d.id = kv[i].value;
		else if (streq(kv[i].key, "ifname") && kv[i].value)
			d.ifname = kv[i].value;
		else if (streq(kv[i].key, "fd") && kv[i].value)
			r = parse_fd("-netdev", kv[i].value, &d.fd);
		else
			return fail(_("Unknown key '%s' in -netdev; use id=, ifname= or fd=."),
				kv[i].key);
	}
	if (r < 0)
		return r;
	if (!d.id || (!d.ifname && d.fd < 0))
		return fail_msg(_("-netdev tap needs id= and ifname= (or fd=)."));
	cfg->netdevs[cfg->n_netdevs++] = d;
	return 0;
}

static int parse_device(struct vmm_config *cfg, char *arg)
{
	struct device_opt d = { 0 };
	struct kv kv[KV_MAX];
	int n = kv_split("-device", arg, kv);
	uint8_t mac[MAC_LEN];

	if (n < 0)
		return n;
	if (n < 1 || kv[0].value)
		return fail_msg(_("-device needs a device type first."));
	if (streq(kv[0].key, "virtio-blk-device") || streq(kv[0].key, "virtio-blk-mmio"))
		d.kind = SLOT_BLK;
	else if (streq(kv[0].key, "virtio-net-device") || streq(kv[0].key, "virtio-net-mmio"))
		d.kind = SLOT_NET;
	else
		return fail(_("Unknown device type '%s'; use virtio-blk-device or "
			"virtio-net-device."), kv[0].key);
	if (cfg->n_devices >= CMDLINE_MAX_DEVICES)
		return fail(_("Too many -device options: at most %d are allowed."), CMDLINE_MAX_DEVICES);
	for (int i = 1; i < n; i++) {
		const char *v = kv[i].value;

		if (!v)
			return fail(_("The key '%s' in -device needs a value."), kv[i].key);
		if (streq(kv[i].key, "id"))
			d.id = v;
		else if (streq(kv[i].key, d.kind == SLOT_BLK ? "drive" : "netdev"))
			d.backend = v;
		else if (d.kind == SLOT_BLK && streq(kv[i].key, "serial"))
			d.serial = v;
		else if (d.kind == SLOT_NET && streq(kv[i].key, "mac"))
			d.mac = v;
		else if (!streq(kv[i].key, "bus") && !streq(kv[i].key, "addr"))
			return fail(_("Unknown key '%s' in -device %s."), kv[i].key, kv[0].key);
	}
	if (d.mac && mac_parse(d.mac, mac) < 0)
		return fail(_("The MAC address '%s' is not of the form 52:54:00:12:34:56."), d.mac);
	if (!d.backend && !(d.kind == SLOT_NET && d.mac))
		return fail(_("-device %s needs %s=."), kv[0].key,
			d.kind == SLOT_BLK ? "drive" : "netdev");
	cfg->devices[cfg->n_devices++] = d;
	return 0;
}

static int parse_serial(struct vmm_config *cfg, char *arg)
{
	struct kv kv[KV_MAX];
	int n = kv_split("-serial", arg, kv);
	const char *what = n > 0 ? kv[0].key : "";

	if (n < 0)
		return n;
	if (n < 1 || kv[0].value)
		return fail_msg(_("-serial needs stdio, file:PATH, unix:PATH or none."));
	if (streq(what, "stdio"))
		cfg->console.kind = CONSOLE_STDIO;
	else if (streq(what, "none"))
		cfg->console.kind = CONSOLE_NONE;
	else if (startswith(what, "file:") && what[5])
		cfg->console = (struct console_config){ CONSOLE_FILE, what + 5, NULL };
	else if (startswith(what, "unix:") && what[5])
		cfg->console = (struct console_config){ CONSOLE_UNIX, what + 5, NULL };
	else
		return fail(_("Unknown -serial backend '%s'; use stdio, file:PATH, unix:PATH or "
			"none."), what);
	for (int i = 1; i < n; i++) {
		if (streq(kv[i].key, "logfile") && kv[i].value)
			cfg->console.logfile = kv[i].value;
		else if (!streq(kv[i].key, "server") && !streq(kv[i].key, "nowait"))
			return fail(_("Unknown key '%s' in -serial; use logfile=PATH."), kv[i].key);
	}
	return 0;
}

static int parse_qmp(struct vmm_config *cfg, char *arg)
{
	struct kv kv[KV_MAX];
	int n = kv_split("-qmp", arg, kv);

	if (n < 0)
		return n;
	if (n < 1 || kv[0].value || !startswith(kv[0].key, "unix:") || !kv[0].key[5])
		return fail(_("-qmp needs unix:PATH,server,nowait, not '%s'."), arg);
	for (int i = 1; i < n; i++)
		if (!streq(kv[i].key, "server") && !streq(kv[i].key, "nowait"))
			return fail(_("Unknown key '%s' in -qmp; use unix:PATH,server,nowait."),
				kv[i].key);
	cfg->qmp_path = kv[0].key + 5;
	return 0;
}

/* -machine microvm[,hotplug=slots|acpi] (or type=microvm). */
static int parse_machine(struct vmm_config *cfg, char *arg)
{
	struct kv kv[KV_MAX];
	int n = kv_split("-machine", arg, kv);

	if (n < 0)
		return n;
	if (n < 1 || (kv[0].value ? !streq(kv[0].key, "type") || !streq(kv[0].value, "microvm") :
				    !streq(kv[0].key, "microvm")))
		return fail_msg(_("The machine type must be microvm (-machine microvm)."));
	for (int i = 1; i < n; i++) {
		if (!streq(kv[i].key, "hotplug"))
			return fail(_("Unknown key '%s' in -machine; use microvm[,hotplug=slots|acpi]."),
				kv[i].key);
		cfg->hotplug = kv[i].value ? hotplug_model_from_string(kv[i].value)
					   : _HOTPLUG_MODEL_INVALID;
		if (cfg->hotplug < 0)
			return fail(_("Unknown hot-plug model '%s' in -machine; use hotplug=slots (6 disk "
				      "and 2 NIC slots from boot) or hotplug=acpi (32 and 8, added and "
				      "removed through ACPI)."), kv[i].value ? kv[i].value : "");
	}
	return 0;
}

static int parse_smp(struct vmm_config *cfg, char *arg)
{
	struct kv kv[KV_MAX];
	int n = kv_split("-smp", arg, kv);
	uint64_t v = 0;
	const char *s = n > 0 ? (kv[0].value && streq(kv[0].key, "cpus") ? kv[0].value :
						kv[0].key) : "";

	if (n < 0)
		return n;
	if (n < 1 || parse_u64(s, &v) < 0 || v < 1 || v > VCPU_MAX)
		return fail(_("The vCPU count '%s' (-smp) must be a number from 1 to %d."), s,
			VCPU_MAX);
	cfg->n_vcpus = (unsigned)v;
	return 0;
}

static int parse_mem(struct vmm_config *cfg, const char *arg)
{
	const char *s = startswith(arg, "size=") ? arg + 5 : arg;
	uint64_t v;

	if (parse_size(s, &v) < 0)
		return fail(_("The memory size '%s' (-m) is not a size such as 256M or 1G."), s);
	/* A bare number means MiB, as in QEMU. */
	if (strspn(s, "0123456789") == strlen(s))
		v <<= 20;
	if (v < GUEST_MEM_MIN || v > GUEST_MEM_MAX)
		return fail(_("The memory size '%s' (-m) must be between 16M and 64G."), s);
	cfg->mem_size = v;
	return 0;
}

/* Options that take a value; the handler gets a private copy it may cut up. */
static int parse_valued(struct vmm_config *cfg, const char *opt, const char *value)
{
	char *v = keep(cfg, value);

	if (!v)
		return -ENOMEM;
	if (streq(opt, "-kernel"))
		cfg->kernel = v;
	else if (streq(opt, "-initrd"))
		cfg->initrd = v;
	else if (streq(opt, "-append"))
		cfg->append = v;
	else if (streq(opt, "-m"))
		return parse_mem(cfg, v);
	else if (streq(opt, "-smp"))
		return parse_smp(cfg, v);
	else if (streq(opt, "-machine") || streq(opt, "-M"))
		return parse_machine(cfg, v);
	else if (streq(opt, "-drive"))
		return parse_drive(cfg, v);
	else if (streq(opt, "-netdev"))
		return parse_netdev(cfg, v);
	else if (streq(opt, "-device"))
		return parse_device(cfg, v);
	else if (streq(opt, "-serial"))
		return parse_serial(cfg, v);
	else if (streq(opt, "-qmp"))
		return parse_qmp(cfg, v);
	else if (streq(opt, "-pidfile"))
		cfg->pidfile = v;
	else if (streq(opt, "-D"))
		cfg->log_file = v;
	else if (streq(opt, "-dump-acpi"))
		cfg->dump_acpi = v;
	else if (streq(opt, "-runas"))
		cfg->runas = v;
	else if (streq(opt, "-sandbox") || streq(opt, "-chroot"))
		cfg->sandbox = v;
	return 0;
}

static bool takes_value(const char *opt)
{
	static const char *const opts[] = { "-kernel", "-initrd", "-append", "-m", "-smp",
		"-machine", "-M", "-drive", "-netdev", "-device", "-serial", "-qmp", "-pidfile",
		"-D", "-dump-acpi", "-runas", "-sandbox", "-chroot" };

	for (size_t i = 0; i < ELEMENTSOF(opts); i++)
		if (streq(opt, opts[i]))
			return true;
	return false;
}

static int parse_one(struct vmm_config *cfg, int argc, char **argv, int *i)
{
	const char *opt = argv[*i];

	/* QEMU accepts --opt as -opt. */
	if (startswith(opt, "--") && !streq(opt, "--help") && !streq(opt, "--version"))
		opt++;
	if (takes_value(opt)) {
		if (*i + 1 >= argc)
			return fail(_("The option %s needs a value."), opt);
		return parse_valued(cfg, opt, argv[++*i]);
	}
	if (streq(opt, "--help") || streq(opt, "-h") || streq(opt, "-help"))
		cfg->help = true;
	else if (streq(opt, "--version") || streq(opt, "-version"))
		cfg->version = true;
	else if (streq(opt, "-daemonize"))
		cfg->daemonize = true;
	else if (streq(opt, "-disable-seccomp"))
		cfg->disable_seccomp = true;
	else if (streq(opt, "-nographic") || streq(opt, "-nodefaults") || streq(opt, "-no-reboot"))
		; /* implied: a microVM has no display, no default devices, and never reboots */
	else
		return fail(_("Unknown option '%s'; see mvirt-vmm --help."), opt);
	return 0;
}

int cmdline_parse(int argc, char **argv, struct vmm_config *ret)
{
	int r;

	*ret = (struct vmm_config){
		.mem_size = VMM_DEFAULT_MEM,
		.n_vcpus = 1,
		.console = { .kind = CONSOLE_STDIO },
	};
	for (int i = 1; i < argc; i++) {
		r = parse_one(ret, argc, argv, &i);
		if (r < 0)
			return r;
	}
	if (ret->help || ret->version || ret->dump_acpi)
		return 0;
	if (!ret->kernel)
		return fail_msg(_("No kernel given: use -kernel PATH."));
	if (ret->daemonize && ret->console.kind == CONSOLE_STDIO)
		return fail_msg(_("-daemonize cannot keep the console on stdio; use -serial unix:PATH "
			"or file:PATH."));
	if (ret->n_drives > (unsigned)hotplug_model_slot_count(ret->hotplug, SLOT_BLK))
		return fail(_("At most %d -drive options are allowed (one per disk slot)."),
			hotplug_model_slot_count(ret->hotplug, SLOT_BLK));
	if (ret->n_netdevs > (unsigned)hotplug_model_slot_count(ret->hotplug, SLOT_NET))
		return fail(_("At most %d -netdev options are allowed (one per NIC slot)."),
			hotplug_model_slot_count(ret->hotplug, SLOT_NET));
	return 0;
}

void vmm_config_done(struct vmm_config *cfg)
{
	for (unsigned i = 0; i < cfg->n_strings; i++)
		free(cfg->strings[i]);
	cfg->n_strings = 0;
}

void cmdline_usage(const char *prog)
{
	printf(_("Usage: %s -kernel PATH [options]\n"
		 "Runs one KVM microVM with 6 hot-pluggable virtio-blk and 2 virtio-net slots.\n\n"
		 "  -machine microvm[,hotplug=slots|acpi]\n"
		 "                              the only machine type; hotplug=acpi: 32 disks and\n"
		 "                              8 NICs added and removed through ACPI instead\n"
		 "  -kernel PATH                bzImage, ELF vmlinux or PVH ELF\n"
		 "  -initrd PATH                initial ramdisk\n"
		 "  -append CMDLINE             kernel command line\n"
		 "  -m SIZE                     guest memory (default 256M)\n"
		 "  -smp N                      vCPUs (default 1)\n"
		 "  -drive file=P,id=I[,readonly=on][,direct=on][,fd=N]\n"
		 "  -device virtio-blk-device,drive=I,id=D[,serial=S]\n"
		 "  -netdev tap,id=I,ifname=TAP[,fd=N]\n"
		 "  -device virtio-net-device,netdev=I,id=D[,mac=M]   (or mac=M alone: fix a slot's MAC)\n"
		 "  -qmp unix:PATH,server,nowait  QMP socket\n"
		 "  -serial stdio|file:PATH|unix:PATH|none[,logfile=PATH]\n"
		 "  -pidfile PATH  -daemonize  -D LOGFILE  -disable-seccomp\n"
		 "  -runas USER[:GROUP]         after opening what the options name, become USER\n"
		 "                              with no capabilities and no_new_privs\n"
		 "  -sandbox DIR                after opening, see only DIR (the runtime directory)\n"
		 "                              in a private mount namespace; hot-plug then takes\n"
		 "                              file descriptors passed with getfd (alias -chroot)\n"
		 "  --version  --help\n"), prog);
}
