/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * scrapetargets.h - /debug/pprof/targets: the traced processes as a
 * Prometheus HTTP service-discovery list, so that a scraper (Prometheus's
 * http_sd_configs, Grafana Alloy's discovery.http, Parca) finds one target
 * per process as processes come and go.
 *
 * Each entry is {"targets": ["HOST:PORT"], "labels": {...}} with the labels
 * pid, comm, service_name (the comm: Pyroscope requires one), cgroup and
 * unit where known, and the labels that point a scraper at the process's
 * own pages: __metrics_path__ (/pid/PID/metrics), __param_pid (PID, for
 * scrapers that keep the standard paths) and __profile_path_prefix__
 * (/pid/PID, prepended by Alloy's pyroscope.scrape to /debug/pprof/...).
 * HOST:PORT is the Host the request was sent to, else the bound address.
 */
#ifndef HEAPTRACE_SCRAPETARGETS_H
#define HEAPTRACE_SCRAPETARGETS_H

#include "http/http.h"
#include "http/serve.h"

void scrapetargets__serve(struct serve_ctx *ctx, struct http_conn *c, const char *host);

#endif /* HEAPTRACE_SCRAPETARGETS_H */
