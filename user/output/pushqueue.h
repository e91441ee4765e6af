/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * pushqueue.h - profiles on their way to a Pyroscope server: a bounded
 * spool on disk and a worker thread that POSTs them, oldest first.
 *
 * pushqueue__add() writes one request (its query string and multipart
 * body) as one file into the spool directory (written aside, then renamed:
 * the worker never sees half a request) and returns; it never waits for
 * the network. The worker sends the oldest file; a 2xx answer removes it;
 * a connection failure, a time-out, 5xx, 408, 429, 401 or 403 keep it and
 * the worker tries again after a back-off (1 s doubling to 30 s); any other
 * answer (400 bad metadata, 413 too large) can never succeed, so the file
 * is dropped with a warning. Files left by an earlier run are sent first.
 * When the spool would grow past its bound, the oldest files are dropped
 * (counted, with a warning).
 *
 * Thread safety: pushqueue__add() and pushqueue__free() are called from one
 * thread; the worker shares the spool's byte count behind a mutex.
 */
#ifndef HEAPTRACE_PUSHQUEUE_H
#define HEAPTRACE_PUSHQUEUE_H

#include <stddef.h>
#include <stdint.h>

/* The multipart boundary of every body (pushqueue__content_type). */
#define PUSHQUEUE_BOUNDARY "heaptrace-pprof-5f0c1e8a93d4b27c"

struct pushqueue_opts {
	const char *url;       /* the server's base URL: requests go to URL/ingest */
	const char *spool_dir; /* created if missing */
	uint64_t spool_size;   /* bytes the spool's files may hold */
	const char *token;     /* bearer token, or NULL */
	const char *ca_file;   /* CA bundle for https, or NULL for the system's */
};

struct pushqueue;

/*
 * Creates the spool directory (if needed) and starts the worker. Returns 0,
 * or a negative errno with an error printed that names the directory or the
 * library.
 */
int pushqueue__new(const struct pushqueue_opts *opts, struct pushqueue **out);

/*
 * Spools one request: `query` (without '?') and a multipart/form-data body
 * with boundary PUSHQUEUE_BOUNDARY. Returns 0 or a negative errno (a
 * warning names the spool file); a request larger than the whole spool is
 * refused with -EFBIG.
 */
int pushqueue__add(struct pushqueue *q, const char *query, const void *body, size_t len);

/*
 * Gives the worker up to `drain_ns` to send what is spooled, then stops it
 * (aborting a request in flight) and frees everything; unsent files stay in
 * the spool for the next run. NULL is a no-op.
 */
void pushqueue__free(struct pushqueue *q, uint64_t drain_ns);

#endif /* HEAPTRACE_PUSHQUEUE_H */
