/*
 * Per-domain jobs: how mvirtd stays responsive while a VMM is slow.
 *
 * The design, and why: the daemon's logic (domain.c, domain-hotplug.c, restore.c) is written as
 * plain sequential code that talks QMP with deadlines. Rewriting every hot-plug sequence
 * and its rollback as callbacks would scatter each sequence over a dozen functions. So a
 * call that may talk to a VMM runs as a job on a worker thread, one thread per domain
 * with work queued, and the sequential code stays as it is. Correctness comes from one
 * rule: all daemon state (domains, store, loop sources, the bus connection) is touched
 * only while holding the big lock. The main loop holds it except while it sleeps in
 * poll(); a worker holds it except while it waits for its VMM (QMP replies and events,
 * the QMP socket appearing, a killed VMM being reaped), where it calls
 * job_blocking_begin()/job_blocking_end(). So a stopped VMM blocks only its own
 * domain's worker, and the bus loop and other domains go on.
 *
 * Calls on one domain are serialized: its jobs run in submission order, one at a time.
 * While a job runs, the loop leaves that domain's QMP socket and pidfd alone (the worker
 * reads replies and events itself; an exit is handled once the job ends).
 * The method call's reply is sent by the job's done callback, on the worker, with the
 * lock held; libdbus is made thread-safe by dbus_threads_init_default() in main().
 */
#pragma once

#include <stdbool.h>

#include "loop.h"

/* Calls waiting on one domain; more are refused as Busy. */
#define DOMAIN_JOBS_MAX 16

struct domain;

typedef int (*job_run_fn)(struct domain *d, const char *arg, unsigned flags, char **ret_error);
/* Called with the lock held when the job ended (r < 0: error, with its sentence or NULL). */
typedef void (*job_done_fn)(struct domain *d, int r, const char *error, void *userdata);

struct job;

/*
 * One domain's calls, kept in its struct domain; job.c sees no other field of the domain.
 * While a job runs, the loop leaves the owner's VMM sources alone and the owner pauses
 * them (see domain.c); after each job, with the lock held, resume lets it watch them again.
 */
struct job_queue {
	struct domain *owner;     /* what the jobs' run and done get */
	const char *name;         /* the owner's name, for messages */
	void (*resume)(struct domain *owner);
	struct job *head, *tail;  /* calls waiting for the worker, at most DOMAIN_JOBS_MAX */
	unsigned n;
	bool worker;              /* a worker thread serves the queue */
	bool running;             /* ... and runs a job now */
};

/* Takes the big lock for the calling (main) thread and lets l release it around poll(). */
int jobs_init(struct loop *l);
/* Called by the main thread at exit: no new jobs; waits for the running ones to end. */
void jobs_drain(void);
/* The daemon is exiting (read with the lock held): a job that waits on purpose gives up. */
bool jobs_draining(void);

/* An empty queue of owner's (name must live as long as the queue). */
void job_queue_init(struct job_queue *q, struct domain *owner, const char *name,
		    void (*resume)(struct domain *owner));
/*
 * Queues run(owner, arg, flags) on q's worker; done (may be NULL) gets the result. -EBUSY
 * past DOMAIN_JOBS_MAX queued calls, -ECANCELED while the daemon exits.
 */
int job_submit(struct job_queue *q, job_run_fn run, const char *arg, unsigned flags,
	       job_done_fn done, void *userdata, char **ret_error);
/* A job of q is running or queued. */
bool job_queue_busy(const struct job_queue *q);
/* A job of q is running now (its worker may be waiting without the lock). */
bool job_queue_running(const struct job_queue *q);
/* Cancels the jobs that never ran (their done gets -ECANCELED): the owner is being freed. */
void job_queue_clear(struct job_queue *q);

/* Around a wait for a VMM: a worker gives up the big lock; no-op on the main thread. */
void job_blocking_begin(void);
void job_blocking_end(void);
/*
 * Around work on a caller's data that touches no daemon state (parsing the XML of DefineXML,
 * AttachDevice, DetachDevice): the calling thread, main or worker, gives up the big lock, so
 * a large document never stalls other clients' calls. No-op before jobs_init().
 */
void job_unlocked_begin(void);
void job_unlocked_end(void);
