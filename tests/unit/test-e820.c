/* The guest memory map: the legacy hole, RAM from 1 MiB, and RAM above 4 GiB. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <errno.h>
#include <cmocka.h>

#include "arch/x86/e820.h"
#include "memory.h"

static void test_small_vm(void **state)
{
	struct guest_mem *mem = NULL;
	struct e820_map map;

	assert_int_equal(guest_mem_new(256ULL << 20, &mem), 0);
	assert_int_equal(e820_build(mem, &map), 0);
	assert_int_equal(map.n, 3);
	assert_int_equal(map.entries[0].addr, 0);
	assert_int_equal(map.entries[0].size, LAYOUT_EBDA_START);
	assert_int_equal(map.entries[0].type, E820_RAM);
	assert_int_equal(map.entries[1].addr, LAYOUT_EBDA_START);
	assert_int_equal(map.entries[1].addr + map.entries[1].size, LAYOUT_KERNEL);
	assert_int_equal(map.entries[1].type, E820_RESERVED);
	assert_int_equal(map.entries[2].addr, LAYOUT_KERNEL);
	assert_int_equal(map.entries[2].addr + map.entries[2].size, 256ULL << 20);
	assert_int_equal(map.entries[2].type, E820_RAM);
	guest_mem_free(mem);
}

static void test_vm_above_the_hole(void **state)
{
	struct guest_mem *mem = NULL;
	struct e820_map map;

	/* 4 GiB: 3 GiB below the MMIO hole, 1 GiB from 4 GiB (mapped with MAP_NORESERVE). */
	assert_int_equal(guest_mem_new(4ULL << 30, &mem), 0);
	assert_int_equal(e820_build(mem, &map), 0);
	assert_int_equal(map.n, 4);
	assert_int_equal(map.entries[2].addr + map.entries[2].size, LAYOUT_MMIO_HOLE);
	assert_int_equal(map.entries[3].addr, LAYOUT_4G);
	assert_int_equal(map.entries[3].size, (4ULL << 30) - LAYOUT_MMIO_HOLE);
	assert_int_equal(map.entries[3].type, E820_RAM);
	/* No entry overlaps the next. */
	for (unsigned i = 1; i < map.n; i++)
		assert_true(map.entries[i - 1].addr + map.entries[i - 1].size <= map.entries[i].addr);
	guest_mem_free(mem);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_small_vm),
		cmocka_unit_test(test_vm_above_the_hole),
	};

	return cmocka_run_group_tests_name("e820", tests, NULL, NULL);
}
