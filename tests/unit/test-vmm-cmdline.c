/* mvirt-vmm's command line: what it accepts, and that each mistake is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <errno.h>
#include <cmocka.h>

#include "cmdline.h"

static int parse(struct vmm_config *cfg, const char *const *args)
{
	char *argv[64];
	int argc = 0;

	argv[argc++] = (char *)"mvirt-vmm";
	for (; *args; args++)
		argv[argc++] = (char *)*args;
	return cmdline_parse(argc, argv, cfg);
}

static void test_full_line(void **state)
{
	const char *args[] = { "-machine", "microvm", "-kernel", "/k", "-m", "512", "-smp", "2",
		"-append", "console=ttyS0", "-drive", "file=/d.img,id=d0,readonly=on,direct=off",
		"-device", "virtio-blk-device,drive=d0,id=vda,serial=abc",
		"-netdev", "tap,id=n0,ifname=tap0",
		"-device", "virtio-net-device,netdev=n0,id=eth0,mac=52:54:00:12:34:56",
		"-qmp", "unix:/run/q.sock,server,nowait", "-serial", "unix:/run/c.sock,logfile=/l",
		"-pidfile", "/p", "-daemonize", "-D", "/log", "-disable-seccomp", NULL };
	struct vmm_config cfg;

	assert_int_equal(parse(&cfg, args), 0);
	assert_string_equal(cfg.kernel, "/k");
	assert_int_equal(cfg.mem_size, 512ULL << 20);
	assert_int_equal(cfg.n_vcpus, 2);
	assert_int_equal(cfg.n_drives, 1);
	assert_true(cfg.drives[0].read_only);
	assert_false(cfg.drives[0].direct);
	assert_int_equal(cfg.n_devices, 2);
	assert_int_equal(cfg.devices[1].kind, SLOT_NET);
	assert_string_equal(cfg.devices[1].mac, "52:54:00:12:34:56");
	assert_string_equal(cfg.qmp_path, "/run/q.sock");
	assert_int_equal(cfg.console.kind, CONSOLE_UNIX);
	assert_string_equal(cfg.console.logfile, "/l");
	assert_true(cfg.daemonize && cfg.disable_seccomp);
	vmm_config_done(&cfg);
}

static void test_refused(void **state)
{
	static const char *const bad[][5] = {
		{ "-kernel", "/k", "-bogus", NULL },
		{ "-m", "256M", NULL },                                /* no kernel */
		{ "-kernel", "/k", "-m", "12x", NULL },
		{ "-kernel", "/k", "-m", "1M", NULL },
		{ "-kernel", "/k", "-smp", "0", NULL },
		{ "-kernel", "/k", "-drive", "id=d0", NULL },          /* no file */
		{ "-kernel", "/k", "-drive", "file=/x,id=d,color=red", NULL },
		{ "-kernel", "/k", "-netdev", "user,id=n0", NULL },
		{ "-kernel", "/k", "-device", "e1000,id=x", NULL },
		{ "-kernel", "/k", "-device", "virtio-net-device,mac=zz", NULL },
		{ "-kernel", "/k", "-machine", "pc", NULL },
		{ "-kernel", "/k", "-qmp", "tcp:1:2", NULL },
		{ "-kernel", "/k", "-serial", "pty", NULL },
		{ "-kernel", "/k", "-daemonize", NULL },              /* console on stdio */
		{ "-kernel", NULL },                                   /* missing value */
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct vmm_config cfg;

		assert_int_equal(parse(&cfg, bad[i]), -EINVAL);
		vmm_config_done(&cfg);
	}
}

/* What parse() said on stderr, for the messages a user sees. */
static int parse_said(struct vmm_config *cfg, const char *const *args, char *said, size_t size)
{
	FILE *f = tmpfile();
	int saved = dup(STDERR_FILENO), r;
	size_t n;

	assert_non_null(f);
	assert_true(saved >= 0);
	fflush(stderr);
	assert_true(dup2(fileno(f), STDERR_FILENO) >= 0);
	r = parse(cfg, args);
	fflush(stderr);
	assert_true(dup2(saved, STDERR_FILENO) >= 0);
	close(saved);
	rewind(f);
	n = fread(said, 1, size - 1, f);
	said[n] = '\0';
	fclose(f);
	return r;
}

static void test_too_many_parts(void **state)
{
	const char *value = "file=/x,id=d,a,b,c,d,e,f,g,h,i,j,k,l,m,n,o";
	const char *args[] = { "-kernel", "/k", "-drive", value, NULL };
	char *copy = strdup(value);
	struct vmm_config cfg;
	char said[512];

	/* The value is named whole (before it is split), with the option and the limit. */
	assert_int_equal(parse_said(&cfg, args, said, sizeof(said)), -EINVAL);
	assert_non_null(strstr(said, copy));
	assert_non_null(strstr(said, "-drive has 17 comma-separated parts; give at most 16."));
	vmm_config_done(&cfg);
	free(copy);
}

static void test_mac_parse(void **state)
{
	uint8_t mac[6];

	assert_int_equal(mac_parse("52:54:00:ab:CD:ef", mac), 0);
	assert_int_equal(mac[5], 0xef);
	assert_int_equal(mac_parse("52:54:00:ab:cd", mac), -EINVAL);
	assert_int_equal(mac_parse("52:54:00:ab:cd:efx", mac), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_line),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_too_many_parts),
		cmocka_unit_test(test_mac_parse),
	};

	return cmocka_run_group_tests_name("vmm-cmdline", tests, NULL, NULL);
}
