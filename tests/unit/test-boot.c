/*
 * Loading a bzImage through the 64-bit boot protocol into plain guest memory
 * (no KVM): the setup header is taken from the image, the loader's fields are
 * filled in, the e820 map has its entries, and the initrd lies below
 * initrd_addr_max.
 */
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

#include "arch/x86/boot.h"
#include "memory.h"

#define SETUP_SECTS 2
#define PM_LEN 8192
#define INITRD_MAX 0x07ffffffu /* 128 MiB - 1, below the 256 MiB of RAM */

static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static uint16_t get16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t get64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

static void write_file(char *path, const void *data, size_t len)
{
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

/* A bzImage: SETUP_SECTS of setup after the boot sector, then PM_LEN bytes of "kernel". */
static uint8_t *make_bzimage(size_t *ret_len, uint16_t version, uint16_t xloadflags)
{
	size_t setup = (SETUP_SECTS + 1) * 512, len = setup + PM_LEN;
	uint8_t *img = calloc(1, len);

	assert_non_null(img);
	img[0x1f1] = SETUP_SECTS;
	put16(img + 0x1fe, 0xaa55);
	img[0x201] = 0x66;              /* jump: the header runs to 0x268 */
	put32(img + 0x202, 0x53726448); /* "HdrS" */
	put16(img + 0x206, version);
	put32(img + 0x22c, INITRD_MAX);
	put32(img + 0x230, 0x200000);    /* kernel_alignment */
	put16(img + 0x236, xloadflags);
	put32(img + 0x238, 2047);        /* cmdline_size */
	for (size_t i = 0; i < PM_LEN; i++)
		img[setup + i] = (uint8_t)(i * 7 + 1);
	*ret_len = len;
	return img;
}

static void test_bzimage_header_and_initrd(void **state)
{
	char kpath[] = "/tmp/test-boot-kernel-XXXXXX", ipath[] = "/tmp/test-boot-initrd-XXXXXX";
	static uint8_t initrd[10000];
	struct boot_config cfg = { .kernel = kpath, .initrd = ipath, .cmdline = "console=ttyS0",
				   .rsdp = 0xe0000 };
	struct guest_mem *mem = NULL;
	struct boot_entry entry;
	size_t len;
	uint8_t *img = make_bzimage(&len, 0x20f, 0x1), *zp, *kernel;
	uint32_t addr, size;

	memset(initrd, 0x5a, sizeof(initrd));
	write_file(kpath, img, len);
	write_file(ipath, initrd, sizeof(initrd));
	assert_int_equal(guest_mem_new(256ULL << 20, &mem), 0);
	assert_int_equal(boot_load(mem, &cfg, &entry), 0);
	assert_int_equal(entry.mode, BOOT_MODE_LINUX64);
	assert_int_equal(entry.rip, LAYOUT_KERNEL + 0x200); /* startup_64 */
	assert_int_equal(entry.info, LAYOUT_ZERO_PAGE);
	kernel = guest_mem_ptr(mem, LAYOUT_KERNEL, PM_LEN);
	assert_memory_equal(kernel, img + (SETUP_SECTS + 1) * 512, PM_LEN);
	zp = guest_mem_ptr(mem, LAYOUT_ZERO_PAGE, 4096);
	/* The setup header came from the image; the loader's fields are ours. */
	assert_int_equal(get32(zp + 0x202), 0x53726448);
	assert_int_equal(get16(zp + 0x206), 0x20f);
	assert_int_equal(zp[0x210], 0xff); /* type_of_loader: undefined */
	assert_true(zp[0x211] & 0x80);     /* CAN_USE_HEAP */
	assert_int_equal(get64(zp + 0x070), 0xe0000);
	assert_string_equal((char *)guest_mem_ptr(mem, get32(zp + 0x228), 14), "console=ttyS0");
	/* e820: at least two entries, RAM from 1 MiB. */
	assert_true(zp[0x1e8] >= 2);
	assert_int_equal(get64(zp + 0x2d0 + 2 * 20), LAYOUT_KERNEL);
	assert_int_equal(get32(zp + 0x2d0 + 2 * 20 + 16), E820_RAM);
	/* The initrd: whole, page-aligned, below initrd_addr_max. */
	addr = get32(zp + 0x218);
	size = get32(zp + 0x21c);
	assert_int_equal(size, sizeof(initrd));
	assert_int_equal(addr % 4096, 0);
	assert_true((uint64_t)addr + size - 1 <= INITRD_MAX);
	assert_memory_equal(guest_mem_ptr(mem, addr, size), initrd, size);
	guest_mem_free(mem);
	unlink(kpath);
	unlink(ipath);
	free(img);
}

static void test_refusals(void **state)
{
	char kpath[] = "/tmp/test-boot-kernel-XXXXXX";
	struct boot_config cfg = { .kernel = kpath, .cmdline = "" };
	struct guest_mem *mem = NULL;
	struct boot_entry entry;
	size_t len;
	uint8_t *img;
	char junk[8192];

	assert_int_equal(guest_mem_new(64ULL << 20, &mem), 0);
	/* Boot protocol 2.10: no 64-bit entry. */
	img = make_bzimage(&len, 0x20a, 0x1);
	write_file(kpath, img, len);
	assert_int_equal(boot_load(mem, &cfg, &entry), -ENOEXEC);
	unlink(kpath);
	free(img);
	/* XLF_KERNEL_64 missing. */
	strcpy(kpath, "/tmp/test-boot-kernel-XXXXXX");
	img = make_bzimage(&len, 0x20f, 0);
	write_file(kpath, img, len);
	assert_int_equal(boot_load(mem, &cfg, &entry), -ENOEXEC);
	unlink(kpath);
	free(img);
	/* Neither ELF nor bzImage. */
	strcpy(kpath, "/tmp/test-boot-kernel-XXXXXX");
	memset(junk, 'x', sizeof(junk));
	write_file(kpath, junk, sizeof(junk));
	assert_int_equal(boot_load(mem, &cfg, &entry), -ENOEXEC);
	unlink(kpath);
	guest_mem_free(mem);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bzimage_header_and_initrd),
		cmocka_unit_test(test_refusals),
	};

	return cmocka_run_group_tests_name("boot", tests, NULL, NULL);
}
