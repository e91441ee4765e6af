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

#include "http/http.h"
#include "collect/loader.h"
#include "symbol/symbolize.h"
#include "core/target.h"

#define SERVE_MAX_SECONDS 300 /* longest delta window */

/* What the handlers read; the pointers follow main's list of targets as it changes. */
struct serve_ctx {
	struct loader *loader;
	struct symbolizer *symbolizer;
	struct target **targets;
	size_t *nr_targets;
	uint64_t sample_rate;
};

void serve__handle(struct http_conn *c, const struct http_request *req, void *ctx);

#endif /* HEAPTRACE_SERVE_H */
