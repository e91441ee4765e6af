/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * metrics.h - /metrics: the traced processes' heap totals and heaptrace's
 * own costs in Prometheus's text exposition format (version 0.0.4).
 *
 * One series per process and metric (lost events: per process and reason),
 * never per stack, so the page grows with the number of processes only.
 * The totals are those of the profile /debug/pprof/heap would serve now
 * (unbiased for the sample rate, exact at -r 1). Each series is labelled
 * pid, comm, and cgroup and unit where /proc/PID/cgroup tells them.
 *
 * Scoped to one process (/pid/PID/metrics, or ?pid=PID), the page drops
 * those labels and heaptrace's own series: a scraper that found the process
 * through /debug/pprof/targets has them as the target's labels already.
 */
#ifndef HEAPTRACE_METRICS_H
#define HEAPTRACE_METRICS_H

#include <sys/types.h>

#include "http/http.h"
#include "http/serve.h"

/* The content type of the text format, as Prometheus negotiates it. */
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Answers GET /metrics: every process, or only `scope` when non-zero. */
void metrics__serve(struct serve_ctx *ctx, struct http_conn *c, const char *query, pid_t scope);

/*
 * The cgroup v2 path of `pid` ("/system.slice/x.service") into cgroup and
 * the systemd unit it names (the innermost .service or .scope component)
 * into unit; either is "" when unknown. Shared with the discovery list.
 */
void metrics__cgroup_of(pid_t pid, char *cgroup, size_t cglen, char *unit, size_t unitlen);

#endif /* HEAPTRACE_METRICS_H */
