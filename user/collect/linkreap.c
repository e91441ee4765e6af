/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "collect/linkreap.h"
#include "util/clock.h"
#include "util/vec.h"

/*
 * A release takes the kernel's uprobe locks (the trace events' mutex, the
 * uprobe's own) around its grace periods, and an attach waits for them:
 * released while children were being attached, links cost the next child
 * its probes (at 100 forks a second, 33 of 300 children followed against
 * 300 with the wait). So links wait until attaching has been quiet this
 * long, or until this many wait (at most a quarter of the descriptors the
 * process may open). The bound is also what a stop may have to release:
 * about 10 ms a link with the threads below, so about 5 s at most.
 */
#define REAP_QUIET_NS	    200000000ull
#define REAP_HIGH_WATER_MAX 512

struct reap_item {
	struct bpf_link *link;
	int fd;
};

/*
 * Releases in parallel: most of a release (about 50 ms here) is waiting
 * for grace periods, which the kernel shares between the threads waiting
 * at once; 909 links took 48 s on one thread, 11 s on 16, 9 s on 64.
 */
#define REAP_THREADS 32

struct link_reaper {
	pthread_t threads[REAP_THREADS];
	unsigned nr_threads;
	pthread_mutex_t lock;
	pthread_cond_t wake; /* on CLOCK_MONOTONIC */
	bool stop;
	struct reap_item *items; /* items[head .. nr) wait */
	size_t head, nr, cap;
	size_t high_water;	 /* waiting links that end the wait for quiet */
	uint64_t last_attach_ns; /* link_reaper__attaching */
};

/* Under the lock: whether a release now would hold up an attach, and until when. */
static bool must_wait(const struct link_reaper *r, uint64_t *until)
{
	if (r->stop || r->nr - r->head >= r->high_water)
		return false;
	*until = r->last_attach_ns + REAP_QUIET_NS;
	return clock__mono_ns() < *until;
}

static void wait_until(struct link_reaper *r, uint64_t ns)
{
	struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000ull),
			       .tv_nsec = (long)(ns % 1000000000ull) };

	pthread_cond_timedwait(&r->wake, &r->lock, &ts);
}

static void release(const struct reap_item *it)
{
	if (it->link)
		bpf_link__destroy(it->link);
	else if (it->fd >= 0)
		close(it->fd);
}

/* The next item to release, or false once stopped with nothing left. */
static bool next_item(struct link_reaper *r, struct reap_item *out)
{
	bool got = false;

	uint64_t until;

	pthread_mutex_lock(&r->lock);
	for (;;) {
		if (r->head == r->nr && !r->stop)
			pthread_cond_wait(&r->wake, &r->lock);
		else if (r->head < r->nr && must_wait(r, &until))
			wait_until(r, until);
		else
			break;
	}
	if (r->head < r->nr) {
		*out = r->items[r->head++];
		if (r->head == r->nr)
			r->head = r->nr = 0;
		got = true;
	}
	pthread_mutex_unlock(&r->lock);
	return got;
}

static void *reaper_main(void *arg)
{
	struct link_reaper *r = arg;
	struct reap_item it;

	while (next_item(r, &it))
		release(&it);
	return NULL;
}

/*
 * Links that may wait: a quarter of the descriptors the process may open,
 * the soft limit raised to the hard one first (a daemon that holds nine
 * links per traced process would meet a soft 1024 soon).
 */
static size_t high_water(void)
{
	struct rlimit rl;
	size_t n;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return 64;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl))
			getrlimit(RLIMIT_NOFILE, &rl);
	}
	n = rl.rlim_cur == RLIM_INFINITY ? REAP_HIGH_WATER_MAX : (size_t)rl.rlim_cur / 4;
	return n < 64 ? 64 : n > REAP_HIGH_WATER_MAX ? REAP_HIGH_WATER_MAX : n;
}

struct link_reaper *link_reaper__new(void)
{
	struct link_reaper *r = calloc(1, sizeof(*r));
	pthread_condattr_t ca;

	if (!r)
		return NULL;
	r->high_water = high_water();
	pthread_mutex_init(&r->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&r->wake, &ca);
	pthread_condattr_destroy(&ca);
	return r;
}

/*
 * Under the lock: the threads, started with the first link handed over, so
 * that they begin with the privileges the daemon kept (core/privilege.h
 * drops them after attach, in the threads that exist then). False when not
 * one could be started.
 */
static bool start_threads(struct link_reaper *r)
{
	while (r->nr_threads < REAP_THREADS &&
	       !pthread_create(&r->threads[r->nr_threads], NULL, reaper_main, r))
		r->nr_threads++;
	return r->nr_threads > 0;
}

void link_reaper__attaching(struct link_reaper *r)
{
	if (!r)
		return;
	pthread_mutex_lock(&r->lock);
	r->last_attach_ns = clock__mono_ns();
	pthread_mutex_unlock(&r->lock);
}

int link_reaper__add(struct link_reaper *r, struct bpf_link *link, int fd)
{
	int err = 0;

	pthread_mutex_lock(&r->lock);
	if (r->head && r->nr == r->cap) { /* the released front makes room */
		memmove(r->items, r->items + r->head, (r->nr - r->head) * sizeof(*r->items));
		r->nr -= r->head;
		r->head = 0;
	}
	/* Twice the high water: the reaper is releasing, and cannot keep up. */
	if (r->nr - r->head >= 2 * r->high_water || (!r->nr_threads && !start_threads(r)) ||
	    VEC_RESERVE(r->items, r->cap, r->nr + 1)) {
		err = -EAGAIN;
	} else {
		r->items[r->nr++] = (struct reap_item){ .link = link, .fd = fd };
		pthread_cond_signal(&r->wake);
	}
	pthread_mutex_unlock(&r->lock);
	return err;
}

void link_reaper__free(struct link_reaper *r)
{
	unsigned i;

	if (!r)
		return;
	pthread_mutex_lock(&r->lock);
	r->stop = true;
	pthread_cond_broadcast(&r->wake);
	pthread_mutex_unlock(&r->lock);
	for (i = 0; i < r->nr_threads; i++)
		pthread_join(r->threads[i], NULL);
	pthread_cond_destroy(&r->wake);
	pthread_mutex_destroy(&r->lock);
	free(r->items);
	free(r);
}
