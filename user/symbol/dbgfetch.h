/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * dbgfetch.h - separate debug files fetched by build id from debuginfod
 * servers, on a worker thread of their own.
 *
 * Where DEBUGINFOD_URLS names servers, elfutils' libdebuginfod (loaded with
 * dlopen, so heaptrace runs without it) fetches a debug file into its cache
 * (DEBUGINFOD_CACHE_PATH, else ~/.cache/debuginfod_client); a file already
 * in the cache costs no request. The caller never waits for the network:
 * dbgfetch__request() only queues a build id, and dbgfetch__poll() says
 * whether its file has arrived. One fetch may take at most the budget given
 * to dbgfetch__new(); past it the transfer is aborted and the build id
 * counts as not found.
 *
 * Thread safety: every function is called from one thread (the daemon's);
 * the worker shares only the queue, behind a mutex.
 */
#ifndef HEAPTRACE_DBGFETCH_H
#define HEAPTRACE_DBGFETCH_H

#include <stdint.h>

struct dbgfetch;

/*
 * Starts the worker. Returns 0 with *out set; 0 with *out NULL when
 * DEBUGINFOD_URLS is unset or empty (nothing to do); -ENOENT when
 * libdebuginfod cannot be loaded (a warning says so); -ENOMEM or another
 * negative errno from starting the thread.
 */
int dbgfetch__new(uint64_t budget_ns, struct dbgfetch **out);

/* Stops the worker (aborting a fetch in flight) and frees everything; NULL is a no-op. */
void dbgfetch__free(struct dbgfetch *f);

/* Queues `build_id` (lowercase hex) unless it is already known. Returns 0 or -ENOMEM. */
int dbgfetch__request(struct dbgfetch *f, const char *build_id);

/*
 * Whether the debug file of `build_id` has arrived: 0 with *path set (a
 * file in the cache; the string lives as long as f), -EINPROGRESS while it
 * is queued or being fetched, -ENOENT when no server has it, the fetch
 * failed or ran out of budget, or it was never requested.
 */
int dbgfetch__poll(struct dbgfetch *f, const char *build_id, const char **path);

#endif /* HEAPTRACE_DBGFETCH_H */
