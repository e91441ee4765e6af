/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * pushsink.h - the sink that sends each profile to a Pyroscope server's
 * /ingest endpoint, as Pyroscope's Go agent sends heap profiles: a
 * multipart body with the gzipped pprof ("profile") and its
 * "sample_type_config" (alloc_* summed, inuse_* averaged), and
 * name=SERVICE{labels}, from, until, format=pprof in the query.
 *
 * alloc_* are sent as what was allocated since the process's previous
 * profile (the server adds them up); inuse_* as they are. Each profile is
 * made to fit the server's default limits: at most 16,000 samples and
 * 4 MiB of encoded profile, the smallest stacks folded into one "[other]"
 * stack, and a comment saying how many. Labels: --push-label ones, then
 * comm, pid, host and the process's systemd unit or cgroup (pushname.h
 * makes them fit). Sending happens on pushqueue.h's thread: write() only
 * builds the request and spools it, and never fails the sinks after it.
 */
#ifndef HEAPTRACE_PUSHSINK_H
#define HEAPTRACE_PUSHSINK_H

#include <stddef.h>
#include <stdint.h>

#include "output/pushqueue.h"
#include "output/sink.h"

/* Pyroscope's default max_profile_stacktrace_samples and max_profile_size_bytes. */
#define PUSHSINK_MAX_SAMPLES 16000
#define PUSHSINK_MAX_BYTES   (4u << 20)
/* At exit, how long the sender may still try to empty the spool (the rest waits for a next run). */
#define PUSHSINK_DRAIN_NS (5000000000ull)

struct pushsink_opts {
	struct pushqueue_opts queue; /* its token is read from token_file */
	const char *token_file;	     /* NULL = no token */
	const char *service;	     /* service_name; NULL = each process's comm */
	const char *const *labels;   /* KEY=VALUE, checked by pushname__valid_label */
	size_t nr_labels;
	uint64_t drain_ns; /* at exit, how long unsent profiles may still take */
};

extern const struct sink_ops pushsink_ops;

/* The state for pushsink_ops. Returns 0 or a negative errno (an error was printed). */
int pushsink__new(const struct pushsink_opts *o, void **out);

#endif /* HEAPTRACE_PUSHSINK_H */
