/*
 * The VMM's event loop: one epoll set, one thread. Device queue notifications
 * (ioeventfds), TAP and console input, QMP clients and signals all arrive here,
 * so device state changes from one place; vCPU threads only take MMIO/PIO exits.
 *
 * The rule, checked: while event_loop_run() runs, only its thread adds, modifies or removes
 * watches (an assert, on unless NDEBUG). Code that can run on a vCPU thread (an MMIO exit: a
 * device reset, a queue notify served without ioeventfd) hands such a change to the loop
 * with event_loop_call().
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>

#include "cleanup.h"

struct event_loop;

/* events is the epoll mask that fired (EPOLLIN, EPOLLHUP, ...). */
typedef void (*event_handler_fn)(struct event_loop *loop, int fd, uint32_t events, void *opaque);

struct event_loop *event_loop_new(void);
struct event_loop *event_loop_free(struct event_loop *loop);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct event_loop *, event_loop_free);

/* Watches fd for events (EPOLLIN, EPOLLOUT, ...); one handler per fd. */
int event_loop_add(struct event_loop *loop, int fd, uint32_t events, event_handler_fn fn,
	void *opaque);
int event_loop_modify(struct event_loop *loop, int fd, uint32_t events);
/* Safe to call from inside a handler, also for the fd being handled. */
int event_loop_remove(struct event_loop *loop, int fd);

/* True on the thread that may change watches: the one in event_loop_run(), else the one that
 * created the loop. */
bool event_loop_on_thread(const struct event_loop *loop);

/* Runs a function on the loop thread: from vCPU threads or signal context-free code.
 * The function runs after the current round of events. */
typedef void (*event_call_fn)(void *opaque);
int event_loop_call(struct event_loop *loop, event_call_fn fn, void *opaque);

/* Dispatches events until event_loop_quit(); returns the status given to it. */
int event_loop_run(struct event_loop *loop);
/* Thread-safe: asks the loop to return status after the current round. */
void event_loop_quit(struct event_loop *loop, int status);
