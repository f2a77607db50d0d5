/* Split virtqueues against well-formed and hostile rings in real guest memory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <errno.h>
#include <cmocka.h>

#include "devices/virtqueue.h"
#include "memory.h"

#define QSIZE 8
#define DESC 0x10000ULL
#define AVAIL 0x11000ULL
#define USED 0x12000ULL
#define BUF 0x20000ULL

struct fixture {
	struct guest_mem *mem;
	struct virtqueue vq;
	struct virtq_desc *desc;
	uint16_t *avail;
	uint32_t *used;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_int_equal(guest_mem_new(GUEST_MEM_MIN, &f->mem), 0);
	f->desc = guest_mem_ptr(f->mem, DESC, 16 * QSIZE);
	f->avail = guest_mem_ptr(f->mem, AVAIL, 6 + 2 * QSIZE);
	f->used = guest_mem_ptr(f->mem, USED, 6 + 8 * QSIZE);
	f->vq = (struct virtqueue){ .size = QSIZE, .desc_gpa = DESC, .avail_gpa = AVAIL,
		.used_gpa = USED };
	assert_int_equal(virtq_enable(&f->vq, f->mem), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	guest_mem_free(f->mem);
	free(f);
	return 0;
}

static void publish(struct fixture *f, uint16_t head)
{
	uint16_t idx = f->avail[1];

	f->avail[2 + idx % QSIZE] = head;
	f->avail[1] = idx + 1;
}

static void set_desc(struct fixture *f, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
	uint16_t next)
{
	f->desc[i] = (struct virtq_desc){ addr, len, flags, next };
}

static void test_chain(void **state)
{
	struct fixture *f = *state;
	struct virtq_elem e;

	set_desc(f, 0, BUF, 16, VIRTQ_DESC_F_NEXT, 3);
	set_desc(f, 3, BUF + 512, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 5);
	set_desc(f, 5, BUF + 2048, 1, VIRTQ_DESC_F_WRITE, 0);
	assert_int_equal(virtq_pop(&f->vq, &e), 0);
	publish(f, 0);
	assert_int_equal(virtq_pop(&f->vq, &e), 1);
	assert_int_equal(e.head, 0);
	assert_int_equal(e.n_out, 1);
	assert_int_equal(e.n_in, 2);
	assert_ptr_equal(e.in[1].iov_base, guest_mem_ptr(f->mem, BUF + 2048, 1));
	virtq_push(&f->vq, e.head, 513);
	assert_int_equal(((uint16_t *)f->used)[1], 1);
	assert_int_equal(f->used[1], 0);
	assert_int_equal(f->used[2], 513);
	assert_int_equal(virtq_pop(&f->vq, &e), 0);
}

static void test_bad_head(void **state)
{
	struct fixture *f = *state;
	struct virtq_elem e;

	publish(f, QSIZE); /* one past the table */
	assert_int_equal(virtq_pop(&f->vq, &e), -EINVAL);
}

static void test_loop(void **state)
{
	struct fixture *f = *state;
	struct virtq_elem e;

	set_desc(f, 0, BUF, 16, VIRTQ_DESC_F_NEXT, 1);
	set_desc(f, 1, BUF, 16, VIRTQ_DESC_F_NEXT, 0);
	publish(f, 0);
	assert_int_equal(virtq_pop(&f->vq, &e), -EINVAL);
}

static void test_outside_memory(void **state)
{
	struct fixture *f = *state;
	struct virtq_elem e;

	set_desc(f, 0, GUEST_MEM_MIN - 8, 16, 0, 0); /* runs past the end of RAM */
	publish(f, 0);
	assert_int_equal(virtq_pop(&f->vq, &e), -EINVAL);
	set_desc(f, 1, UINT64_MAX - 4, 16, 0, 0); /* wraps around */
	f->vq.last_avail = f->avail[1];
	publish(f, 1);
	assert_int_equal(virtq_pop(&f->vq, &e), -EINVAL);
}

static void test_bad_next_and_order(void **state)
{
	struct fixture *f = *state;
	struct virtq_elem e;

	set_desc(f, 0, BUF, 16, VIRTQ_DESC_F_NEXT, 200);
	publish(f, 0);
	assert_int_equal(virtq_pop(&f->vq, &e), -EINVAL);
	/* A readable buffer after a writable one. */
	set_desc(f, 2, BUF, 16, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 4);
	set_desc(f, 4, BUF, 16, 0, 0);
	f->vq.last_avail = f->avail[1];
	publish(f, 2);
	assert_int_equal(virtq_pop(&f->vq, &e), -EINVAL);
	/* Indirect tables are never offered. */
	set_desc(f, 6, BUF, 16, VIRTQ_DESC_F_INDIRECT, 0);
	f->vq.last_avail = f->avail[1];
	publish(f, 6);
	assert_int_equal(virtq_pop(&f->vq, &e), -EINVAL);
}

static void test_avail_index_jump(void **state)
{
	struct fixture *f = *state;
	struct virtq_elem e;

	f->avail[1] = QSIZE + 1; /* more entries than the ring holds */
	assert_int_equal(virtq_pop(&f->vq, &e), -ERANGE);
}

static void test_enable_checks(void **state)
{
	struct fixture *f = *state;
	struct virtqueue vq = f->vq;

	vq.size = 6; /* not a power of two: each cause its own errno, its own log sentence */
	assert_int_equal(virtq_enable(&vq, f->mem), -ERANGE);
	vq = f->vq;
	vq.used_gpa = GUEST_MEM_MIN - 16;
	assert_int_equal(virtq_enable(&vq, f->mem), -EFAULT);
	vq = f->vq;
	vq.desc_gpa = DESC + 8; /* misaligned */
	assert_int_equal(virtq_enable(&vq, f->mem), -EINVAL);
	vq = f->vq;
	vq.size = VIRTQ_MAX_SIZE * 2;
	assert_int_equal(virtq_enable(&vq, f->mem), -ERANGE);
	vq = f->vq;
	vq.size = 0;
	assert_int_equal(virtq_enable(&vq, f->mem), -ERANGE);
}

static void test_iov_helpers(void **state)
{
	char a[4] = "abcd", b[4] = "efgh", out[6];
	struct iovec iov[2] = { { a, 4 }, { b, 4 } }, part[2];

	assert_int_equal(iov_to_buf(iov, 2, 2, out, 6), 6);
	assert_memory_equal(out, "cdefgh", 6);
	assert_int_equal(iov_slice(iov, 2, 3, 2, part), 2);
	assert_int_equal(part[0].iov_len, 1);
	assert_int_equal(iov_to_buf(iov, 2, 7, out, 6), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_chain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_head, setup, teardown),
		cmocka_unit_test_setup_teardown(test_loop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_outside_memory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_next_and_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_avail_index_jump, setup, teardown),
		cmocka_unit_test_setup_teardown(test_enable_checks, setup, teardown),
		cmocka_unit_test(test_iov_helpers),
	};

	return cmocka_run_group_tests_name("virtqueue", tests, NULL, NULL);
}
