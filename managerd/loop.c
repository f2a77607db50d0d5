/* A poll() loop with tagged sources; see loop.h. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "loop.h"

struct source {
	const void *tag;
	bool used, removed;
	int fd;               /* -1 for a timer */
	short events;
	loop_io_fn io;
	loop_timer_fn timer;
	int interval_ms;
	bool repeat;
	long long deadline_ms;
	void *userdata;
};

struct loop {
	struct source sources[LOOP_SOURCES_MAX];
	unsigned n;
	bool quit;
	int code;
	void (*idle)(void *userdata);
	void *idle_userdata;
	pthread_mutex_t *lock;
	int wake_fd;          /* an eventfd other threads write to end poll() */
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int loop_new(struct loop **ret)
{
	struct loop *l = calloc(1, sizeof(*l));

	if (!l)
		return -ENOMEM;
	l->wake_fd = -1;
	*ret = l;
	return 0;
}

struct loop *loop_free(struct loop *l)
{
	if (l && l->wake_fd >= 0)
		close(l->wake_fd);
	free(l);
	return NULL;
}

static void on_wake(int fd, short revents, void *userdata)
{
	uint64_t n;

	(void)!read(fd, &n, sizeof(n));
}

int loop_set_lock(struct loop *l, pthread_mutex_t *lock)
{
	l->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (l->wake_fd < 0)
		return -errno;
	l->lock = lock;
	return loop_add_io(l, &l->wake_fd, l->wake_fd, POLLIN, on_wake, l);
}

void loop_wakeup(struct loop *l)
{
	uint64_t one = 1;

	if (l && l->wake_fd >= 0)
		(void)!write(l->wake_fd, &one, sizeof(one));
}

static struct source *source_new(struct loop *l)
{
	for (unsigned i = 0; i < l->n; i++)
		if (!l->sources[i].used) {
			memset(&l->sources[i], 0, sizeof(l->sources[i]));
			l->sources[i].used = true;
			return &l->sources[i];
		}
	if (l->n == LOOP_SOURCES_MAX)
		return NULL;
	memset(&l->sources[l->n], 0, sizeof(l->sources[l->n]));
	l->sources[l->n].used = true;
	return &l->sources[l->n++];
}

int loop_add_io(struct loop *l, const void *tag, int fd, short events, loop_io_fn fn,
		void *userdata)
{
	struct source *s = source_new(l);

	if (!s)
		return -ENOSPC;
	*s = (struct source){ .tag = tag, .used = true, .fd = fd, .events = events, .io = fn,
			      .userdata = userdata };
	return 0;
}

void loop_set_io_events(struct loop *l, const void *tag, short events)
{
	for (unsigned i = 0; i < l->n; i++)
		if (l->sources[i].used && !l->sources[i].removed && l->sources[i].tag == tag &&
		    l->sources[i].fd >= 0)
			l->sources[i].events = events;
}

int loop_add_timer(struct loop *l, const void *tag, int interval_ms, bool repeat,
		   loop_timer_fn fn, void *userdata)
{
	struct source *s = source_new(l);

	if (!s)
		return -ENOSPC;
	*s = (struct source){ .tag = tag, .used = true, .fd = -1, .timer = fn,
			      .interval_ms = interval_ms, .repeat = repeat,
			      .deadline_ms = now_ms() + interval_ms, .userdata = userdata };
	return 0;
}

void loop_remove(struct loop *l, const void *tag)
{
	for (unsigned i = 0; i < l->n; i++)
		if (l->sources[i].used && l->sources[i].tag == tag)
			l->sources[i].removed = true;
}

void loop_set_idle(struct loop *l, void (*fn)(void *userdata), void *userdata)
{
	l->idle = fn;
	l->idle_userdata = userdata;
}

void loop_quit(struct loop *l, int code)
{
	l->quit = true;
	l->code = code;
}

static void sweep(struct loop *l)
{
	for (unsigned i = 0; i < l->n; i++)
		if (l->sources[i].removed)
			l->sources[i].used = l->sources[i].removed = false;
	while (l->n > 0 && !l->sources[l->n - 1].used)
		l->n--;
}

static int next_timeout(struct loop *l)
{
	long long now = now_ms(), best = -1;

	for (unsigned i = 0; i < l->n; i++) {
		struct source *s = &l->sources[i];
		long long left;

		if (!s->used || s->removed || s->fd >= 0)
			continue;
		left = s->deadline_ms > now ? s->deadline_ms - now : 0;
		if (best < 0 || left < best)
			best = left;
	}
	return best > 60000 ? 60000 : (int)best;
}

static void run_timers(struct loop *l)
{
	long long now = now_ms();
	unsigned n = l->n;

	for (unsigned i = 0; i < n; i++) {
		struct source *s = &l->sources[i];

		if (!s->used || s->removed || s->fd >= 0 || s->deadline_ms > now)
			continue;
		if (s->repeat)
			s->deadline_ms = now + s->interval_ms;
		else
			s->removed = true;
		s->timer(s->userdata);
	}
}

static int poll_once(struct loop *l)
{
	struct pollfd pfd[LOOP_SOURCES_MAX];
	unsigned idx[LOOP_SOURCES_MAX], m = 0;
	int r, timeout_ms;

	for (unsigned i = 0; i < l->n; i++) {
		struct source *s = &l->sources[i];

		if (!s->used || s->removed || s->fd < 0 || s->events == 0)
			continue;
		pfd[m] = (struct pollfd){ .fd = s->fd, .events = s->events };
		idx[m++] = i;
	}
	/* The timers are read with the lock held: a worker may add or remove one meanwhile. */
	timeout_ms = next_timeout(l);
	if (l->lock)
		pthread_mutex_unlock(l->lock);
	r = poll(pfd, m, timeout_ms);
	if (r < 0)
		r = -errno;
	if (l->lock)
		pthread_mutex_lock(l->lock);
	if (r < 0)
		return r == -EINTR ? 0 : r;
	for (unsigned j = 0; j < m; j++) {
		struct source *s = &l->sources[idx[j]];

		/* A callback earlier in this round may have removed or replaced it. */
		if (!pfd[j].revents || !s->used || s->removed || s->fd != pfd[j].fd)
			continue;
		s->io(s->fd, pfd[j].revents, s->userdata);
	}
	return 0;
}

int loop_run(struct loop *l)
{
	while (!l->quit) {
		int r;

		if (l->idle)
			l->idle(l->idle_userdata);
		sweep(l);
		r = poll_once(l);
		if (r < 0)
			return r;
		run_timers(l);
	}
	return l->code;
}
