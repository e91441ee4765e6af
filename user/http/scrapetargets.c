// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* scrapetargets.c - see scrapetargets.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/metrics.h"
#include "http/scrapetargets.h"
#include "util/utf8.h"

/* A JSON string: UTF-8 (as JSON must be), quote, backslash and control characters escaped. */
static void json_string(FILE *f, const char *in)
{
	char buf[3 * 256 + 1];
	const char *s = buf;

	utf8__sanitize(in, buf, sizeof(buf));
	fputc('"', f);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

static void label(FILE *f, const char *name, const char *value, bool *first)
{
	fputs(*first ? "" : ", ", f);
	*first = false;
	json_string(f, name);
	fputs(": ", f);
	json_string(f, value);
}

static void write_target(FILE *f, const struct process *t, const char *host)
{
	char cgroup[256], unit[128], pid[16], path[64];
	bool first = true;

	metrics__cgroup_of(t->pid, cgroup, sizeof(cgroup), unit, sizeof(unit));
	snprintf(pid, sizeof(pid), "%d", t->pid);
	fputs("  {\"targets\": [", f);
	json_string(f, host);
	fputs("], \"labels\": {", f);
	label(f, "pid", pid, &first);
	label(f, "comm", t->comm, &first);
	label(f, "service_name", t->comm, &first);
	if (cgroup[0])
		label(f, "cgroup", cgroup, &first);
	if (unit[0])
		label(f, "unit", unit, &first);
	snprintf(path, sizeof(path), SERVE_PID_PREFIX "%d/metrics", t->pid);
	label(f, "__metrics_path__", path, &first);
	label(f, "__param_pid", pid, &first);
	snprintf(path, sizeof(path), SERVE_PID_PREFIX "%d", t->pid);
	label(f, "__profile_path_prefix__", path, &first);
	fputs("}}", f);
}

void scrapetargets__serve(struct serve_ctx *ctx, struct http_conn *c, const char *host)
{
	size_t n = ctx->procs.count(ctx->procs.ctx), i;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	bool first = true;

	if (!f) {
		http__respondf(c, 500, "out of memory\n");
		return;
	}
	if (!host || !host[0])
		host = ctx->server ? http__address(ctx->server) : "127.0.0.1";
	fputs("[\n", f);
	/* Only the processes the asker may read (serve__may_read). */
	for (i = 0; i < n; i++) {
		struct process *t = ctx->procs.at(ctx->procs.ctx, i);

		if (!serve__may_read(ctx, c, t, false))
			continue;
		fputs(first ? "" : ",\n", f);
		write_target(f, t, host);
		first = false;
	}
	fputs(first ? "" : "\n", f);
	fputs("]\n", f);
	if (fclose(f)) {
		free(buf);
		http__respondf(c, 500, "out of memory\n");
		return;
	}
	http__respond(c, 200, "application/json", NULL, buf, len, 1);
}
