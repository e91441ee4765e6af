// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* evloop.c - see evloop.h. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>

#include "util/clock.h"
#include "util/evloop.h"
#include "util/vec.h"

struct ev_fd {
	int fd;
	evloop_fd_fn fn;
	void *ctx;
};

struct ev_call {
	evloop_fn fn;
	void *ctx;
	uint64_t deadline_ns; /* timers only */
};

struct ev_source {
	struct evloop_source src;
	size_t nr_pfds; /* how many of this round's pollfds are its own */
};

struct evloop {
	struct ev_fd *fds;
	size_t nr_fds, cap_fds;
	struct ev_source *sources;
	size_t nr_sources, cap_sources;
	struct ev_call *hooks;
	size_t nr_hooks, cap_hooks;
	struct ev_call *timers;
	size_t nr_timers, cap_timers;
	struct pollfd *pfds; /* one round's poll set */
	size_t cap_pfds;
	int max_wait_ms;
	bool stop;
};

int evloop__new(struct evloop **out)
{
	struct evloop *l = calloc(1, sizeof(*l));

	if (!l)
		return -ENOMEM;
	l->max_wait_ms = -1;
	*out = l;
	return 0;
}

int evloop__add_fd(struct evloop *l, int fd, evloop_fd_fn fn, void *ctx)
{
	if (VEC_RESERVE(l->fds, l->cap_fds, l->nr_fds + 1))
		return -ENOMEM;
	l->fds[l->nr_fds++] = (struct ev_fd){ fd, fn, ctx };
	return 0;
}

void evloop__remove_fd(struct evloop *l, int fd)
{
	size_t i;

	for (i = 0; i < l->nr_fds; i++) {
		if (l->fds[i].fd != fd)
			continue;
		/* Order kept: callbacks run in the order descriptors were added. */
		for (; i + 1 < l->nr_fds; i++)
			l->fds[i] = l->fds[i + 1];
		l->nr_fds--;
		return;
	}
}

int evloop__add_source(struct evloop *l, const struct evloop_source *src)
{
	if (VEC_RESERVE(l->sources, l->cap_sources, l->nr_sources + 1))
		return -ENOMEM;
	l->sources[l->nr_sources++] = (struct ev_source){ .src = *src };
	return 0;
}

int evloop__add_round_hook(struct evloop *l, evloop_fn fn, void *ctx)
{
	if (VEC_RESERVE(l->hooks, l->cap_hooks, l->nr_hooks + 1))
		return -ENOMEM;
	l->hooks[l->nr_hooks++] = (struct ev_call){ fn, ctx, EVLOOP_NEVER };
	return 0;
}

int evloop__add_timer(struct evloop *l, evloop_fn fn, void *ctx, int *id)
{
	if (VEC_RESERVE(l->timers, l->cap_timers, l->nr_timers + 1))
		return -ENOMEM;
	l->timers[l->nr_timers] = (struct ev_call){ fn, ctx, EVLOOP_NEVER };
	*id = (int)l->nr_timers++;
	return 0;
}

void evloop__arm(struct evloop *l, int id, uint64_t deadline_ns)
{
	if (id >= 0 && (size_t)id < l->nr_timers)
		l->timers[id].deadline_ns = deadline_ns;
}

void evloop__set_max_wait(struct evloop *l, int ms)
{
	l->max_wait_ms = ms;
}

void evloop__stop(struct evloop *l)
{
	l->stop = true;
}

bool evloop__stopped(const struct evloop *l)
{
	return l->stop;
}

/* Milliseconds until the earliest armed timer, rounded up; -1 when none is armed. */
static int timers_timeout(const struct evloop *l, uint64_t now)
{
	uint64_t wake = EVLOOP_NEVER;
	size_t i;

	for (i = 0; i < l->nr_timers; i++)
		if (l->timers[i].deadline_ns < wake)
			wake = l->timers[i].deadline_ns;
	if (wake == EVLOOP_NEVER)
		return -1;
	if (wake <= now)
		return 0;
	wake = (wake - now + 999999) / 1000000;
	return wake > INT_MAX ? INT_MAX : (int)wake;
}

static int lower(int timeout, int other)
{
	if (other < 0)
		return timeout;
	return timeout < 0 || other < timeout ? other : timeout;
}

/* Lays out one round's poll set; the sources' pollfds follow the descriptors'. */
static int prepare(struct evloop *l, uint64_t now, size_t *n, int *timeout)
{
	size_t need = l->nr_fds, i;

	for (i = 0; i < l->nr_sources; i++)
		need += l->sources[i].src.max_fds;
	if (VEC_RESERVE(l->pfds, l->cap_pfds, need ? need : 1))
		return -ENOMEM;
	*timeout = lower(timers_timeout(l, now), l->max_wait_ms);
	for (i = 0; i < l->nr_fds; i++)
		l->pfds[i] = (struct pollfd){ .fd = l->fds[i].fd, .events = POLLIN };
	*n = l->nr_fds;
	for (i = 0; i < l->nr_sources; i++) {
		struct ev_source *s = &l->sources[i];
		int t = -1;

		s->nr_pfds = s->src.prepare(s->src.ctx, l->pfds + *n, s->src.max_fds, now, &t);
		*n += s->nr_pfds;
		*timeout = lower(*timeout, t);
	}
	return 0;
}

static const struct ev_fd *find_fd(const struct evloop *l, int fd)
{
	size_t i;

	for (i = 0; i < l->nr_fds; i++)
		if (l->fds[i].fd == fd)
			return &l->fds[i];
	return NULL;
}

static void dispatch(struct evloop *l, size_t nr_own, int ready)
{
	uint64_t now = clock__mono_ns();
	size_t i, at = nr_own;

	for (i = 0; i < l->nr_sources && !l->stop; i++) {
		struct ev_source *s = &l->sources[i];

		s->src.dispatch(s->src.ctx, l->pfds + at, ready > 0 ? s->nr_pfds : 0, now);
		at += s->nr_pfds;
	}
	for (i = 0; i < nr_own && ready > 0 && !l->stop; i++) {
		const struct ev_fd *f;

		if (!l->pfds[i].revents)
			continue;
		/* Looked up again: an earlier callback may have removed it. */
		f = find_fd(l, l->pfds[i].fd);
		if (f && f->fn)
			f->fn(f->ctx, f->fd, l->pfds[i].revents);
	}
}

static void run_hooks_and_timers(struct evloop *l)
{
	uint64_t now;
	size_t i;

	for (i = 0; i < l->nr_hooks && !l->stop; i++)
		l->hooks[i].fn(l->hooks[i].ctx, clock__mono_ns());
	now = clock__mono_ns();
	for (i = 0; i < l->nr_timers && !l->stop; i++) {
		if (l->timers[i].deadline_ns > now)
			continue;
		l->timers[i].deadline_ns = EVLOOP_NEVER;
		l->timers[i].fn(l->timers[i].ctx, now);
	}
}

static size_t sources_pfds(const struct evloop *l)
{
	size_t i, n = 0;

	for (i = 0; i < l->nr_sources; i++)
		n += l->sources[i].nr_pfds;
	return n;
}

int evloop__run(struct evloop *l, bool (*more)(void *ctx), void *ctx)
{
	while (!l->stop && (!more || more(ctx))) {
		size_t n = 0;
		int timeout, ready, err;

		err = prepare(l, clock__mono_ns(), &n, &timeout);
		if (err)
			return err;
		ready = poll(l->pfds, n, timeout);
		if (ready < 0 && errno != EINTR)
			return -errno;
		dispatch(l, n - sources_pfds(l), ready);
		run_hooks_and_timers(l);
	}
	return 0;
}

void evloop__free(struct evloop *l)
{
	if (!l)
		return;
	free(l->fds);
	free(l->sources);
	free(l->hooks);
	free(l->timers);
	free(l->pfds);
	free(l);
}
