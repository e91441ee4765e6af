/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * serve_report.h - /debug/heaptrace/report: the live leak report of a traced
 * process (output/leakwatch.h), as text or, with ?format=json, JSON; ?pid=
 * picks the process when several are traced, as does the /pid/PID/ form.
 */
#ifndef HEAPTRACE_SERVE_REPORT_H
#define HEAPTRACE_SERVE_REPORT_H

#include "http/serve.h"

#define SERVE_REPORT_PATH "/debug/heaptrace/report"

/* scope: the PID of a /pid/PID/ path (the process asked for), or 0. */
void serve_report__handle(struct serve_ctx *ctx, struct http_conn *c, const char *query,
			  pid_t scope);

#endif /* HEAPTRACE_SERVE_REPORT_H */
