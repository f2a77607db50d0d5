/* Per-domain job queues on worker threads under one big lock; see job.h for the design. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "i18n.h"
#include "job.h"
#include "log.h"
#include "util.h"

struct job {
	struct job *next;
	job_run_fn run;
	job_done_fn done;
	void *userdata;
	char *arg;
	unsigned flags;
};

static pthread_mutex_t big_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t workers_idle = PTHREAD_COND_INITIALIZER;
static struct loop *jobs_loop;
static unsigned workers;
static bool draining;
static __thread bool in_worker;

void job_blocking_begin(void)
{
	if (!in_worker)
		return;
	pthread_mutex_unlock(&big_lock);
	/* What this worker changed (loop sources, bus watches) is seen at the next poll(). */
	loop_wakeup(jobs_loop);
}

void job_blocking_end(void)
{
	if (in_worker)
		pthread_mutex_lock(&big_lock);
}

void job_unlocked_begin(void)
{
	if (!jobs_loop)
		return;
	pthread_mutex_unlock(&big_lock);
	if (in_worker)
		loop_wakeup(jobs_loop);
}

void job_unlocked_end(void)
{
	if (jobs_loop)
		pthread_mutex_lock(&big_lock);
}

int jobs_init(struct loop *l)
{
	jobs_loop = l;
	pthread_mutex_lock(&big_lock);
	return loop_set_lock(l, &big_lock);
}

void jobs_drain(void)
{
	draining = true;
	while (workers > 0)
		pthread_cond_wait(&workers_idle, &big_lock);
}

bool jobs_draining(void)
{
	return draining;
}

static void job_free(struct job *j)
{
	free(j->arg);
	free(j);
}

void job_queue_init(struct job_queue *q, struct domain *owner, const char *name,
		    void (*resume)(struct domain *owner))
{
	*q = (struct job_queue){ .owner = owner, .name = name, .resume = resume };
}

static struct job *job_pop(struct job_queue *q)
{
	struct job *j = q->head;

	if (!j)
		return NULL;
	q->head = j->next;
	if (!q->head)
		q->tail = NULL;
	q->n--;
	return j;
}

static void job_run(struct job_queue *q, struct job *j)
{
	_cleanup_free_ char *err = NULL;
	int r;

	if (draining)
		r = error_set_first(&err, -ECANCELED,
			_("mvirtd is exiting; the call on domain %s was not made."), q->name);
	else {
		q->running = true;
		r = j->run(q->owner, j->arg, j->flags, &err);
		q->running = false;
	}
	if (j->done)
		j->done(q->owner, r, err, j->userdata);
	else if (r < 0)
		log_warning("Domain %s: %s", q->name, err ? err : strerror(-r));
	q->resume(q->owner);
}

static void *worker_main(void *userdata)
{
	struct job_queue *q = userdata;
	struct job *j;

	in_worker = true;
	pthread_mutex_lock(&big_lock);
	while ((j = job_pop(q))) {
		job_run(q, j);
		job_free(j);
	}
	q->worker = false;
	if (--workers == 0)
		pthread_cond_broadcast(&workers_idle);
	pthread_mutex_unlock(&big_lock);
	loop_wakeup(jobs_loop);
	return NULL;
}

static int worker_start(struct job_queue *q)
{
	pthread_attr_t attr;
	pthread_t t;
	int r;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	/* The jobs run the daemon's ordinary code; 512 KiB is plenty and bounds 4096 domains. */
	pthread_attr_setstacksize(&attr, 512 * 1024);
	r = -pthread_create(&t, &attr, worker_main, q);
	pthread_attr_destroy(&attr);
	if (r < 0)
		return r;
	q->worker = true;
	workers++;
	return 0;
}

int job_submit(struct job_queue *q, job_run_fn run, const char *arg, unsigned flags,
	       job_done_fn done, void *userdata, char **ret_error)
{
	struct job *j;
	int r;

	if (draining)
		return error_set_first(ret_error, -ECANCELED,
			_("mvirtd is exiting; the call on domain %s was not made."), q->name);
	if (q->n >= DOMAIN_JOBS_MAX)
		return error_set_first(ret_error, -EBUSY,
			_("Domain %s already has %d calls waiting; try again when they "
			  "finish."),
			q->name, DOMAIN_JOBS_MAX);
	j = calloc(1, sizeof(*j));
	if (!j || (arg && !(j->arg = strdup(arg)))) {
		free(j);
		return -ENOMEM;
	}
	*j = (struct job){ .run = run, .done = done, .userdata = userdata, .arg = j->arg,
			   .flags = flags };
	if (q->tail)
		q->tail->next = j;
	else
		q->head = j;
	q->tail = j;
	q->n++;
	if (q->worker)
		return 0;
	r = worker_start(q);
	if (r < 0) {
		/* No worker ran, so the queue held only this job. */
		q->head = q->tail = NULL;
		q->n--;
		job_free(j);
		return error_set_first(ret_error, r,
			_("Cannot start a worker thread for domain %s: %s."), q->name,
			strerror(-r));
	}
	return 0;
}

bool job_queue_busy(const struct job_queue *q)
{
	return q->worker || q->n > 0;
}

bool job_queue_running(const struct job_queue *q)
{
	return q->running;
}

void job_queue_clear(struct job_queue *q)
{
	struct job *j;

	while ((j = job_pop(q))) {
		if (j->done)
			j->done(q->owner, -ECANCELED, NULL, j->userdata);
		job_free(j);
	}
}
