/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * evloop.h - the daemon's one poll loop, where descriptors and timers
 * register instead of being laid out by hand.
 *
 * One round: poll every registered descriptor (and each source's own) until
 * one is ready or the earliest armed timer is due; then, in this order,
 * call the sources' dispatch, the callbacks of the ready descriptors (in
 * the order they were added), the round hooks, and the callbacks of the
 * timers that are due (in the order they were added). evloop__stop() from
 * any callback ends the round at once and evloop__run() returns.
 *
 * Timers fire once per evloop__arm(); a periodic timer re-arms itself.
 * A descriptor removed during a round is not called back in that round.
 * Callbacks may add and remove descriptors and arm timers. The loop has no
 * thread and takes no lock: everything runs on the caller's thread.
 * Errors are negative errno.
 */
#ifndef HEAPTRACE_EVLOOP_H
#define HEAPTRACE_EVLOOP_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EVLOOP_NEVER UINT64_MAX /* a disarmed timer's deadline */

struct evloop;

typedef void (*evloop_fd_fn)(void *ctx, int fd, short revents);
typedef void (*evloop_fn)(void *ctx, uint64_t now_ns);

/*
 * A component with descriptors and a time-out of its own that change from
 * round to round (the HTTP server): prepare() fills at most `max` pollfds
 * and may lower *timeout_ms; dispatch() gets them back after the poll with
 * their revents (n = 0 when poll failed or timed out).
 */
struct evloop_source {
	size_t max_fds;
	size_t (*prepare)(void *ctx, struct pollfd *fds, size_t max, uint64_t now_ns,
			  int *timeout_ms);
	void (*dispatch)(void *ctx, const struct pollfd *fds, size_t n, uint64_t now_ns);
	void *ctx;
};

int evloop__new(struct evloop **out);

/* Watches `fd` for input; fn may be NULL (a descriptor that only wakes the loop). */
int evloop__add_fd(struct evloop *l, int fd, evloop_fd_fn fn, void *ctx);
void evloop__remove_fd(struct evloop *l, int fd);

int evloop__add_source(struct evloop *l, const struct evloop_source *src);

/* Called after every poll, whatever woke it. */
int evloop__add_round_hook(struct evloop *l, evloop_fn fn, void *ctx);

/* A new timer, disarmed; *id names it for evloop__arm. */
int evloop__add_timer(struct evloop *l, evloop_fn fn, void *ctx, int *id);

/* Fires timer `id` once CLOCK_MONOTONIC reaches deadline_ns (EVLOOP_NEVER: disarm). */
void evloop__arm(struct evloop *l, int id, uint64_t deadline_ns);

/* The longest a poll may wait, in ms (-1: no limit), for work that is only looked at. */
void evloop__set_max_wait(struct evloop *l, int ms);

/*
 * Runs rounds until evloop__stop() or until `more` (when not NULL) says
 * there is nothing left to wait for. Returns 0, or a negative errno when
 * poll failed or memory ran out.
 */
int evloop__run(struct evloop *l, bool (*more)(void *ctx), void *ctx);

void evloop__stop(struct evloop *l);
bool evloop__stopped(const struct evloop *l);

/* evloop__free(NULL) is a no-op. */
void evloop__free(struct evloop *l);

#endif /* HEAPTRACE_EVLOOP_H */
