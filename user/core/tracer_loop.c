// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * tracer_loop.c - what the tracer registers in the event loop: the signal
 * descriptor, the ring buffer, the HTTP server, a round hook for the work
 * every wake-up brings, and the deadline, valve, exec-settle and dump
 * timers.
 */
#include <signal.h>
#include <string.h>

#include "core/tracer_int.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/signals.h"

/* SIGCHLD of the command: its exit stop (write its profile while its maps exist) or its exec. */
static void on_child(struct tracer *tr)
{
	enum command_state cs = tr->command ? command__handle_child(tr->command) : COMMAND_RUNNING;
	ssize_t i;

	if (cs != COMMAND_EXITING && cs != COMMAND_EXECED)
		return;
	/* Stopped: what it reported so far is all its image will. */
	loader__drain_events(tr->loader, LOADER_DRAIN_BUDGET_NS);
	i = targets__index(&tr->targets, command__pid(tr->command));
	if (cs == COMMAND_EXITING) {
		if (i >= 0)
			tracer__finish(tr, (size_t)i, false);
		command__release(tr->command);
	} else {
		if (i >= 0 && tracer__reattach(tr, (size_t)i))
			evloop__stop(tr->loop);
		command__resume(tr->command);
	}
}

static void on_signal(void *ctx, int fd, short revents)
{
	struct tracer *tr = ctx;
	int sig = signals__read(fd);

	(void)revents;
	if (sig == SIGCHLD) {
		on_child(tr);
	} else if (sig > 0) {
		log_info("%s: writing final profiles", strsignal(sig));
		evloop__stop(tr->loop);
	}
}

/* Every wake-up: events, execs, exits. */
static void on_round(void *ctx, uint64_t now)
{
	struct tracer *tr = ctx;

	(void)now;
	/* Without a wake-up too: samples wake heaptrace only in batches. Reading
	 * an empty ring costs no system call. */
	loader__consume_events(tr->loader);
	tracer__handle_execs(tr);
	tracer__finish_exited(tr);
	/* Many exits at once (a build): their data goes in one walk of the maps. */
	if (loader__nr_retired(tr->loader) >= 256)
		loader__purge(tr->loader);
}

static void on_deadline(void *ctx, uint64_t now)
{
	struct tracer *tr = ctx;

	(void)now;
	evloop__stop(tr->loop);
}

static void on_valve(void *ctx, uint64_t now)
{
	struct tracer *tr = ctx;

	tracer__check_valves(tr, now);
	evloop__arm(tr->loop, tr->timer_valve, now + VALVE_WINDOW_NS);
}

/* Once a second: a target whose USDT probes' object was unloaded. */
static void on_usdt(void *ctx, uint64_t now)
{
	struct tracer *tr = ctx;

	tracer__check_usdt(tr);
	evloop__arm(tr->loop, tr->timer_usdt, now + 1000000000ULL);
}

static void on_memcg(void *ctx, uint64_t now)
{
	struct tracer *tr = ctx;

	tracer__check_memcgs(tr);
	evloop__arm(tr->loop, tr->timer_memcg, now + MEMCG_CHECK_NS);
}

static void on_settle(void *ctx, uint64_t now)
{
	tracer__settle_pending(ctx, now);
}

static void on_dump(void *ctx, uint64_t now)
{
	struct tracer *tr = ctx;

	tracer__dump_all(tr);
	/* A round that took longer than the interval skips the ticks it missed. */
	while (tr->next_dump <= now)
		tr->next_dump += tr->env->interval_ns;
	evloop__arm(tr->loop, tr->timer_dump, tr->next_dump);
}

static void on_peak(void *ctx, uint64_t now)
{
	struct tracer *tr = ctx;

	tracer__check_peaks(tr);
	evloop__arm(tr->loop, tr->timer_peak, now + PEAK_CHECK_NS);
}

static int add_timers(struct tracer *tr)
{
	uint64_t start = clock__mono_ns();
	int err;

	/* Registration order is firing order: a deadline due with a dump ends the run first. */
	err = evloop__add_timer(tr->loop, on_deadline, tr, &tr->timer_deadline);
	if (!err)
		err = evloop__add_timer(tr->loop, on_valve, tr, &tr->timer_valve);
	if (!err)
		err = evloop__add_timer(tr->loop, on_settle, tr, &tr->timer_settle);
	if (!err)
		err = evloop__add_timer(tr->loop, on_dump, tr, &tr->timer_dump);
	if (!err)
		err = evloop__add_timer(tr->loop, on_usdt, tr, &tr->timer_usdt);
	if (!err)
		err = evloop__add_timer(tr->loop, on_memcg, tr, &tr->timer_memcg);
	if (!err)
		err = evloop__add_timer(tr->loop, on_peak, tr, &tr->timer_peak);
	if (err)
		return err;
	if (tr->env->oom_threshold)
		evloop__arm(tr->loop, tr->timer_memcg, start + MEMCG_CHECK_NS);
	/* Only probes attached per process can be USDT ones: not unfiltered system-wide ones. */
	if (tr->per_pid && tr->probe_opts.probes != ENV_PROBES_UPROBES)
		evloop__arm(tr->loop, tr->timer_usdt, start + 1000000000ULL);
	if (tr->env->duration_ns)
		evloop__arm(tr->loop, tr->timer_deadline, start + tr->env->duration_ns);
	if (tr->valve_rate)
		evloop__arm(tr->loop, tr->timer_valve, start + VALVE_WINDOW_NS);
	if (tr->env->peak)
		evloop__arm(tr->loop, tr->timer_peak, start + PEAK_CHECK_NS);
	tr->next_dump = start + tr->env->interval_ns;
	evloop__arm(tr->loop, tr->timer_dump, tr->next_dump);
	return 0;
}

int tracer__setup_loop(struct tracer *tr)
{
	struct evloop_source http;
	int err = evloop__new(&tr->loop);

	if (err)
		return err;
	/* The server's sockets and time-outs share the one poll: no thread, no lock. */
	if (tr->http) {
		http__as_source(tr->http, &http);
		err = evloop__add_source(tr->loop, &http);
	}
	if (!err)
		err = evloop__add_fd(tr->loop, tr->sigfd, on_signal, tr);
	/* Frame-pointer mode has no events to wake for. */
	if (!err && loader__events_fd(tr->loader) >= 0)
		err = evloop__add_fd(tr->loop, loader__events_fd(tr->loader), NULL, NULL);
	if (!err)
		err = evloop__add_round_hook(tr->loop, on_round, tr);
	if (!err)
		err = add_timers(tr);
	/* Samples wake heaptrace in batches only (heaptrace.h): look at them anyway. */
	if (!err && tr->env->unwind != ENV_UNWIND_FP)
		evloop__set_max_wait(tr->loop, HT_EVENTS_POLL_MS);
	return err;
}
