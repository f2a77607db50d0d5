/*
 * mvirtd's main loop: poll() over a bounded set of fds and one-shot or repeating
 * timers. Sources are identified by a tag pointer chosen by the caller (a DBusWatch,
 * a domain, ...), so adapters can remove what they added without keeping ids.
 * Sources may be added or removed from inside callbacks.
 */
#pragma once

#include <pthread.h>
#include <stdbool.h>

#define LOOP_SOURCES_MAX 512

struct loop;

typedef void (*loop_io_fn)(int fd, short revents, void *userdata);
typedef void (*loop_timer_fn)(void *userdata);

int loop_new(struct loop **ret);
struct loop *loop_free(struct loop *l);

/* Watches fd for events (POLLIN/POLLOUT); -ENOSPC past LOOP_SOURCES_MAX. */
int loop_add_io(struct loop *l, const void *tag, int fd, short events, loop_io_fn fn,
		void *userdata);
/* Changes the events of the source tagged tag (0 disables it). */
void loop_set_io_events(struct loop *l, const void *tag, short events);
/* Calls fn after interval_ms, then again every interval_ms while repeat is true. */
int loop_add_timer(struct loop *l, const void *tag, int interval_ms, bool repeat,
		   loop_timer_fn fn, void *userdata);
/* Removes every source with this tag; safe from inside a callback. */
void loop_remove(struct loop *l, const void *tag);

/* Called after every round of dispatch (mvirtd drains D-Bus messages there). */
void loop_set_idle(struct loop *l, void (*fn)(void *userdata), void *userdata);

/*
 * The loop holds lock (taken by the caller before loop_run) except while it sleeps in
 * poll(), so other threads may change daemon state between rounds (see job.h).
 */
int loop_set_lock(struct loop *l, pthread_mutex_t *lock);
/* Ends the current poll() early; any thread may call it. */
void loop_wakeup(struct loop *l);

/* Runs until loop_quit(); returns its code. */
int loop_run(struct loop *l);
void loop_quit(struct loop *l, int code);
