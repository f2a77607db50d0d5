#include "config.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "eventloop.h"
#include "log.h"

/* Stated limits: fds watched at once, and calls queued from other threads. */
#define EVENT_LOOP_MAX_WATCHES 256
#define EVENT_LOOP_MAX_CALLS 64
#define EVENT_LOOP_BATCH 32

struct watch {
	int fd;
	event_handler_fn fn;
	void *opaque;
	bool removed;
};

struct call {
	event_call_fn fn;
	void *opaque;
};

struct event_loop {
	int epoll_fd;
	/* Wakes the loop for event_loop_call() and event_loop_quit() from other threads. */
	int wake_fd;
	struct watch *watches[EVENT_LOOP_MAX_WATCHES];
	pthread_mutex_t lock;
	struct call calls[EVENT_LOOP_MAX_CALLS];
	unsigned n_calls;
	bool quit;
	int status;
	/* The only thread that may change watches: the one in event_loop_run(), and before and
	 * after it the one that created the loop (it builds and tears down). */
	pthread_t owner;
};

/*
 * Watches change on the loop thread alone (eventloop.h): reap_removed() frees entries that
 * another thread could still be walking, and vCPU threads run before the loop does. A debug
 * assert (on unless NDEBUG, so in every test) catches a change from elsewhere at its first
 * occurrence rather than as a rare use-after-free.
 */
static void assert_loop_thread(const struct event_loop *loop)
{
	assert(pthread_equal(pthread_self(), loop->owner));
}

bool event_loop_on_thread(const struct event_loop *loop)
{
	return pthread_equal(pthread_self(), loop->owner);
}

struct event_loop *event_loop_new(void)
{
	struct event_loop *loop = calloc(1, sizeof(*loop));

	if (!loop)
		return NULL;
	pthread_mutex_init(&loop->lock, NULL);
	loop->owner = pthread_self();
	loop->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	loop->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (loop->epoll_fd < 0 || loop->wake_fd < 0) {
		log_error_errno(errno, "Failed to create the event loop: %m");
		return event_loop_free(loop);
	}
	if (epoll_ctl(loop->epoll_fd, EPOLL_CTL_ADD, loop->wake_fd,
		    &(struct epoll_event){ .events = EPOLLIN, .data.ptr = NULL }) < 0) {
		log_error_errno(errno, "Failed to watch the event loop's wake-up fd: %m");
		return event_loop_free(loop);
	}
	return loop;
}

struct event_loop *event_loop_free(struct event_loop *loop)
{
	if (!loop)
		return NULL;
	for (unsigned i = 0; i < EVENT_LOOP_MAX_WATCHES; i++)
		free(loop->watches[i]);
	safe_close(loop->epoll_fd);
	safe_close(loop->wake_fd);
	pthread_mutex_destroy(&loop->lock);
	free(loop);
	return NULL;
}

static struct watch **watch_slot(struct event_loop *loop, int fd)
{
	for (unsigned i = 0; i < EVENT_LOOP_MAX_WATCHES; i++)
		if (loop->watches[i] && !loop->watches[i]->removed && loop->watches[i]->fd == fd)
			return &loop->watches[i];
	return NULL;
}

int event_loop_add(struct event_loop *loop, int fd, uint32_t events, event_handler_fn fn,
	void *opaque)
{
	struct watch *w;
	unsigned i;

	assert_loop_thread(loop);
	if (watch_slot(loop, fd))
		return -EEXIST;
	for (i = 0; i < EVENT_LOOP_MAX_WATCHES && loop->watches[i]; i++)
		;
	if (i == EVENT_LOOP_MAX_WATCHES)
		return -EMFILE;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	*w = (struct watch){ .fd = fd, .fn = fn, .opaque = opaque };
	if (epoll_ctl(loop->epoll_fd, EPOLL_CTL_ADD, fd,
		    &(struct epoll_event){ .events = events, .data.ptr = w }) < 0) {
		free(w);
		return -errno;
	}
	loop->watches[i] = w;
	return 0;
}

int event_loop_modify(struct event_loop *loop, int fd, uint32_t events)
{
	struct watch **w;

	assert_loop_thread(loop);
	w = watch_slot(loop, fd);
	if (!w)
		return -ENOENT;
	if (epoll_ctl(loop->epoll_fd, EPOLL_CTL_MOD, fd,
		    &(struct epoll_event){ .events = events, .data.ptr = *w }) < 0)
		return -errno;
	return 0;
}

int event_loop_remove(struct event_loop *loop, int fd)
{
	struct watch **w;

	assert_loop_thread(loop);
	w = watch_slot(loop, fd);
	if (!w)
		return -ENOENT;
	epoll_ctl(loop->epoll_fd, EPOLL_CTL_DEL, fd, NULL);
	/* Freed after the current round: a later event in this batch may still point to it. */
	(*w)->removed = true;
	return 0;
}

static void wake(struct event_loop *loop)
{
	uint64_t one = 1;

	if (write(loop->wake_fd, &one, sizeof(one)) < 0) {
		/* The counter is already non-zero: the loop will wake anyway. */
	}
}

int event_loop_call(struct event_loop *loop, event_call_fn fn, void *opaque)
{
	int r = 0;

	pthread_mutex_lock(&loop->lock);
	if (loop->n_calls == EVENT_LOOP_MAX_CALLS)
		r = -EAGAIN;
	else
		loop->calls[loop->n_calls++] = (struct call){ fn, opaque };
	pthread_mutex_unlock(&loop->lock);
	if (r == 0)
		wake(loop);
	return r;
}

void event_loop_quit(struct event_loop *loop, int status)
{
	pthread_mutex_lock(&loop->lock);
	if (!loop->quit) {
		loop->quit = true;
		loop->status = status;
	}
	pthread_mutex_unlock(&loop->lock);
	wake(loop);
}

static void run_calls(struct event_loop *loop)
{
	struct call calls[EVENT_LOOP_MAX_CALLS];
	unsigned n;
	uint64_t count;

	if (read(loop->wake_fd, &count, sizeof(count)) < 0) {
		/* Nothing pending: a spurious wake-up. */
	}
	pthread_mutex_lock(&loop->lock);
	n = loop->n_calls;
	for (unsigned i = 0; i < n; i++)
		calls[i] = loop->calls[i];
	loop->n_calls = 0;
	pthread_mutex_unlock(&loop->lock);
	for (unsigned i = 0; i < n; i++)
		calls[i].fn(calls[i].opaque);
}

static void reap_removed(struct event_loop *loop)
{
	for (unsigned i = 0; i < EVENT_LOOP_MAX_WATCHES; i++)
		if (loop->watches[i] && loop->watches[i]->removed) {
			free(loop->watches[i]);
			loop->watches[i] = NULL;
		}
}

static bool should_quit(struct event_loop *loop, int *ret_status)
{
	bool quit;

	pthread_mutex_lock(&loop->lock);
	quit = loop->quit;
	*ret_status = loop->status;
	pthread_mutex_unlock(&loop->lock);
	return quit;
}

int event_loop_run(struct event_loop *loop)
{
	struct epoll_event events[EVENT_LOOP_BATCH];
	pthread_t creator = loop->owner;
	bool moved = !pthread_equal(creator, pthread_self());
	int status;

	/* Written only when another thread runs the loop (tests): the VMM creates and runs it on
	 * its main thread, so vCPU threads reading owner never race a write. */
	if (moved)
		loop->owner = pthread_self();
	while (!should_quit(loop, &status)) {
		int n = epoll_wait(loop->epoll_fd, events, EVENT_LOOP_BATCH, -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			if (moved)
				loop->owner = creator;
			return log_error_errno(errno, "The event loop failed to wait: %m");
		}
		for (int i = 0; i < n; i++) {
			struct watch *w = events[i].data.ptr;

			if (!w)
				run_calls(loop);
			else if (!w->removed)
				w->fn(loop, w->fd, events[i].events, w->opaque);
		}
		reap_removed(loop);
	}
	if (moved)
		loop->owner = creator;
	return status;
}
