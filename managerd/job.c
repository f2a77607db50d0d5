/* Per-domain job queues on worker threads under one big lock; see job.h for the design. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "domain.h"
#include "i18n.h"
#include "job.h"
#include "log.h"
#include "qmp-client.h"
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
	qmp_client_set_wait_hooks(job_blocking_begin, job_blocking_end);
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

static struct job *job_pop(struct domain *d)
{
	struct job *j = d->jobs_head;

	if (!j)
		return NULL;
	d->jobs_head = j->next;
	if (!d->jobs_head)
		d->jobs_tail = NULL;
	d->n_jobs--;
	return j;
}

static void job_run(struct domain *d, struct job *j)
{
	_cleanup_free_ char *err = NULL;
	int r;

	if (draining)
		r = error_set_first(&err, -ECANCELED,
			_("mvirtd is exiting; the call on domain %s was not made."), d->name);
	else {
		d->job_running = true;
		r = j->run(d, j->arg, j->flags, &err);
		d->job_running = false;
	}
	if (j->done)
		j->done(d, r, err, j->userdata);
	else if (r < 0)
		log_warning("Domain %s: %s", d->name, err ? err : strerror(-r));
	/* The loop paused the domain's QMP socket and pidfd while the job ran. */
	loop_set_io_events(jobs_loop, d, POLLIN);
	loop_set_io_events(jobs_loop, &d->qmp, POLLIN);
}

static void *worker_main(void *userdata)
{
	struct domain *d = userdata;
	struct job *j;

	in_worker = true;
	pthread_mutex_lock(&big_lock);
	while ((j = job_pop(d))) {
		job_run(d, j);
		job_free(j);
	}
	d->worker = false;
	if (--workers == 0)
		pthread_cond_broadcast(&workers_idle);
	pthread_mutex_unlock(&big_lock);
	loop_wakeup(jobs_loop);
	return NULL;
}

static int worker_start(struct domain *d)
{
	pthread_attr_t attr;
	pthread_t t;
	int r;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	/* The jobs run the daemon's ordinary code; 512 KiB is plenty and bounds 4096 domains. */
	pthread_attr_setstacksize(&attr, 512 * 1024);
	r = -pthread_create(&t, &attr, worker_main, d);
	pthread_attr_destroy(&attr);
	if (r < 0)
		return r;
	d->worker = true;
	workers++;
	return 0;
}

int job_submit(struct domain *d, job_run_fn run, const char *arg, unsigned flags,
	       job_done_fn done, void *userdata, char **ret_error)
{
	struct job *j;
	int r;

	if (draining)
		return error_set_first(ret_error, -ECANCELED,
			_("mvirtd is exiting; the call on domain %s was not made."), d->name);
	if (d->n_jobs >= DOMAIN_JOBS_MAX)
		return error_set_first(ret_error, -EBUSY,
			_("Domain %s already has %d calls waiting; try again when they "
			  "finish."),
			d->name, DOMAIN_JOBS_MAX);
	j = calloc(1, sizeof(*j));
	if (!j || (arg && !(j->arg = strdup(arg)))) {
		free(j);
		return -ENOMEM;
	}
	*j = (struct job){ .run = run, .done = done, .userdata = userdata, .arg = j->arg,
			   .flags = flags };
	if (d->jobs_tail)
		d->jobs_tail->next = j;
	else
		d->jobs_head = j;
	d->jobs_tail = j;
	d->n_jobs++;
	if (d->worker)
		return 0;
	r = worker_start(d);
	if (r < 0) {
		/* No worker ran, so the queue held only this job. */
		d->jobs_head = d->jobs_tail = NULL;
		d->n_jobs--;
		job_free(j);
		return error_set_first(ret_error, r,
			_("Cannot start a worker thread for domain %s: %s."), d->name,
			strerror(-r));
	}
	return 0;
}

bool domain_is_busy(const struct domain *d)
{
	return d->worker || d->n_jobs > 0;
}

bool domain_job_running(const struct domain *d)
{
	return d->job_running;
}

void domain_jobs_clear(struct domain *d)
{
	struct job *j;

	while ((j = job_pop(d))) {
		if (j->done)
			j->done(d, -ECANCELED, NULL, j->userdata);
		job_free(j);
	}
}
