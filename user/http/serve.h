/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * serve.h - the /debug/pprof endpoints, answered from the live data of the
 * traced processes (see docs/cli.md for the endpoints and parameters).
 *
 * serve__handle is an http_handler_fn. It runs on the daemon's one thread,
 * between two polls: a profile is built on request from a snapshot of the
 * process's counters (the same code as the profiles written to files), and
 * a `seconds=N` delta keeps the first snapshot and answers N seconds later
 * through http__defer, never blocking the loop.
 */
#ifndef HEAPTRACE_SERVE_H
#define HEAPTRACE_SERVE_H

#include <stddef.h>
#include <stdint.h>

#include "collect/loader.h"
#include "collect/process.h"
#include "http/access.h"
#include "collect/valve.h"
#include "http/http.h"
#include "output/profile.h"
#include "symbol/symbolize.h"

#define SERVE_MAX_SECONDS 300 /* longest delta window */

/*
 * Every page but the discovery list also exists under /pid/PID/ (e.g.
 * /pid/42/debug/pprof/heap, /pid/42/metrics): one process's view for
 * scrapers that cannot set query parameters, and a symbol endpoint that
 * pprof finds next to the profile it fetched.
 */
#define SERVE_PID_PREFIX "/pid/"

/*
 * The traced processes, as the handlers see them: offered by whoever keeps
 * them (core's tracer), so that this layer needs nothing above it. A
 * process found may be gone by the next poll: handlers look it up again
 * after waiting.
 */
struct leakwatch;

struct serve_processes {
	size_t (*count)(void *ctx);
	struct process *(*at)(void *ctx, size_t i);
	struct process *(*find)(void *ctx, pid_t pid);		 /* NULL: not traced */
	const char *(*note)(void *ctx, const struct process *p); /* its profiles' note, or NULL */
	/* The safety valve that governs p's probes (shared in system-wide mode), or NULL. */
	const struct valve *(*valve)(void *ctx, const struct process *p);
	void *ctx;
};

/* What the handlers read. */
struct serve_ctx {
	struct loader *loader;
	struct symbolizer *symbolizer;
	struct profile_opts opts;
	struct serve_processes procs;
	const struct http_access *access; /* who may read which process (access.h) */
	struct http_server *server;	  /* for its address, where a request names no Host */
	struct leakwatch *leaks;	  /* the live leak report's series, or NULL */
};

void serve__handle(struct http_conn *c, const struct http_request *req, void *ctx);

/*
 * Whether the client of c may read t's profiles and figures (access.h):
 * every route that shows a process asks. When not and `answer` is set, c is
 * answered 403 with the reason.
 */
bool serve__may_read(const struct serve_ctx *ctx, struct http_conn *c, const struct process *t,
		     bool answer);

#endif /* HEAPTRACE_SERVE_H */
