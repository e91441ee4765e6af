// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* serve_report.c - see serve_report.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "http/httpreq.h"
#include "http/serve_report.h"
#include "output/leakwatch.h"

/* The process the query names, or the only one traced; answers the error itself. */
static struct process *pick(struct serve_ctx *ctx, struct http_conn *c, const char *query,
			    pid_t scope)
{
	char val[32], *end;
	long pid = scope;
	struct process *p;

	if (httpreq__query(query, "pid", val, sizeof(val)) == 1) {
		pid = strtol(val, &end, 10);
		if (*end || pid <= 0 || val[0] < '0' || val[0] > '9') {
			http__respondf(c, 400, "invalid value for pid: '%s'\n", val);
			return NULL;
		}
		if (scope && pid != scope) {
			http__respondf(c, 400, "pid=%ld disagrees with /pid/%d/ in the path\n", pid,
				       scope);
			return NULL;
		}
	} else if (scope) {
		/* The path named it. */
	} else if (ctx->procs.count(ctx->procs.ctx) == 1) {
		pid = ctx->procs.at(ctx->procs.ctx, 0)->pid;
	} else {
		http__respondf(c, 400, "several processes are traced (or none): add ?pid=\n");
		return NULL;
	}
	p = ctx->procs.find(ctx->procs.ctx, (pid_t)pid);
	if (!p) {
		http__respondf(c, 404, "pid %ld is not traced: see /debug/pprof/\n", pid);
		return NULL;
	}
	/* The report shows the process's stacks: the same rule as its profiles (--http-allow). */
	return serve__may_read(ctx, c, p, true) ? p : NULL;
}

void serve_report__handle(struct serve_ctx *ctx, struct http_conn *c, const char *query,
			  pid_t scope)
{
	char format[16] = "text", *buf = NULL;
	struct process *p;
	size_t len = 0;
	bool json;
	FILE *f;
	int err;

	err = httpreq__query(query, "format", format, sizeof(format));
	if (err < 0 || (strcmp(format, "text") && strcmp(format, "json"))) {
		http__respondf(c, 400, "invalid value for format: give text or json\n");
		return;
	}
	json = !strcmp(format, "json");
	p = pick(ctx, c, query, scope);
	if (!p)
		return;
	f = open_memstream(&buf, &len);
	if (!f) {
		http__respondf(c, 500, "out of memory\n");
		return;
	}
	err = ctx->leaks ? leakwatch__write(ctx->leaks, p, json, f) : -ENOENT;
	if (fclose(f) && !err)
		err = -ENOMEM;
	if (err == -ENOENT) {
		free(buf);
		http__respondf(c, 404,
			       "pid %d has no profile yet: the report follows the periodic "
			       "profiles (-i)\n",
			       p->pid);
		return;
	}
	if (err) {
		free(buf);
		http__respondf(c, 500, "cannot write the report of pid %d: %s\n", p->pid,
			       strerror(-err));
		return;
	}
	http__respond(c, 200, json ? "application/json" : "text/plain; charset=utf-8", NULL, buf,
		      len, 1);
}
