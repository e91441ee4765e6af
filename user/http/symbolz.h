/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * symbolz.h - /debug/pprof/symbol as net/http/pprof answers it, so that
 * `go tool pprof` can ask heaptrace for the names of addresses it found
 * without one (a mapping whose has_functions is false).
 *
 * The request lists addresses joined by '+' (a POST's body, or a GET's
 * query); the answer is "num_symbols: 1" then one "0xADDR name" line per
 * address heaptrace can name, with the same symbolizer as the profiles
 * (.symtab, .dynsym, debug files). An address is a location of a profile:
 * a return address, so the call before it is what is named.
 *
 * Addresses belong to one process: the path's (/pid/PID/debug/pprof/symbol,
 * where pprof asks after fetching /pid/PID/debug/pprof/heap), else the only
 * traced one, else each traced process is tried in turn and the first that
 * maps the address and names it answers (pprof drops the query string, so
 * ?pid= cannot reach here; processes of one binary give the same answer).
 */
#ifndef HEAPTRACE_SYMBOLZ_H
#define HEAPTRACE_SYMBOLZ_H

#include <sys/types.h>

#include "http/http.h"
#include "http/serve.h"

#define SYMBOLZ_MAX_ADDRS 65536 /* addresses named in one request; the rest are ignored */

void symbolz__serve(struct serve_ctx *ctx, struct http_conn *c, const struct http_request *req,
		    pid_t scope);

#endif /* HEAPTRACE_SYMBOLZ_H */
