// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "collect/snapshot.h"
#include "http/metrics.h"
#include "http/scrapetargets.h"
#include "http/serve.h"
#include "http/serve_report.h"
#include "http/symbolz.h"
#include "output/legacytext.h"
#include "output/pprof.h"
#include "output/profile.h"
#include "util/clock.h"
#include "util/procname.h"
#include "util/html.h"

#define PROFILE_HEADERS "Content-Disposition: attachment; filename=\"profile\"\r\n"

/* A delta request waiting for its window to end. */
struct pending {
	struct serve_ctx *ctx;
	pid_t pid;
	int seconds;
	bool allocs;
	struct heap_snapshot *p0;
};

static size_t nr_procs(const struct serve_ctx *ctx)
{
	return ctx->procs.count(ctx->procs.ctx);
}

static struct process *proc_at(const struct serve_ctx *ctx, size_t i)
{
	return ctx->procs.at(ctx->procs.ctx, i);
}

static struct process *find_proc(const struct serve_ctx *ctx, pid_t pid)
{
	return ctx->procs.find(ctx->procs.ctx, pid);
}

/* A non-negative decimal integer, nothing else. */
static int parse_uint(const char *s, long max, long *out)
{
	char *end;
	long v;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

bool serve__may_read(const struct serve_ctx *ctx, struct http_conn *c, const struct process *t,
		     bool answer)
{
	struct access_asker asker;
	char why[256];

	asker.known = http__peer_uid(c, &asker.uid);
	if (access__allows(ctx->access, &asker, t->uid, why, sizeof(why)))
		return true;
	if (answer)
		http__respondf(c, 403, "pid %d: %s\n", t->pid, why);
	return false;
}

/* The index of every traced process, or only of `scope` under /pid/PID/. */
static void serve_index(struct serve_ctx *ctx, struct http_conn *c, pid_t scope)
{
	char *buf = NULL, name[320];
	size_t len = 0, i;
	FILE *f = open_memstream(&buf, &len);

	if (!f) {
		http__respondf(c, 500, "out of memory\n");
		return;
	}
	fprintf(f,
		"<html>\n<head><title>/debug/pprof/</title></head>\n<body>\n<pre>\n"
		"/debug/pprof/ (heaptrace %s, sample rate %" PRIu64 ")\n\n"
		"Traced processes:\n",
		HEAPTRACE_VERSION, ctx->opts.sample_rate);
	for (i = 0; i < nr_procs(ctx); i++) {
		const struct process *t = proc_at(ctx, i);

		if ((scope && t->pid != scope) || !serve__may_read(ctx, c, t, false))
			continue;
		fprintf(f, "  pid %d (", t->pid);
		html__escape(f, procname__describe(t->comm, t->exe, name, sizeof(name)));
		fprintf(f,
			"): <a href=\"heap?pid=%d\">heap</a> <a href=\"heap?pid=%d&amp;debug=1\">"
			"heap?debug=1</a> <a href=\"allocs?pid=%d\">allocs</a> "
			"<a href=\"../heaptrace/report?pid=%d\">leak report</a>\n",
			t->pid, t->pid, t->pid, t->pid);
	}
	fputs("\nProfile descriptions:\n"
	      "  heap:   sampled allocations still in use (inuse_space by default);\n"
	      "          ?debug=1 the text form, ?seconds=N what happened in the next N seconds\n"
	      "  allocs: the same data, all allocations since tracing began (alloc_space)\n"
	      "  leak report: the stacks whose in-use grows steadily (?format=json)\n"
	      "  symbol: names of addresses, for pprof (POST 0xADDR+0xADDR...)\n"
	      "\nFor scrapers: <a href=\"/metrics\">/metrics</a> (Prometheus), "
	      "<a href=\"targets\">targets</a> (HTTP service discovery);\n"
	      "/pid/PID/debug/pprof/heap, /pid/PID/metrics, ...: one process's pages\n"
	      "</pre>\n</body>\n</html>\n",
	      f);
	if (fclose(f)) {
		free(buf);
		http__respondf(c, 500, "out of memory\n");
		return;
	}
	http__respond(c, 200, "text/html; charset=utf-8", NULL, buf, len, 1);
}

/* Values in kB in a /proc file of "Name:   N kB" lines, as bytes, appended to stats. */
static size_t read_kb(const char *path, const char *const *names, size_t nnames,
		      struct legacy_stat *stats, char (*labels)[48], const char *prefix)
{
	char line[256];
	size_t n = 0, i;
	FILE *f = fopen(path, "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f) && n < nnames) {
		for (i = 0; i < nnames; i++) {
			size_t l = strlen(names[i]);
			long long kb;

			if (strncmp(line, names[i], l) || line[l] != ':' ||
			    sscanf(line + l + 1, "%lld", &kb) != 1)
				continue;
			snprintf(labels[n], sizeof(labels[n]), "%s%s", prefix, names[i]);
			stats[n].name = labels[n];
			stats[n].value = kb * 1024;
			n++;
		}
	}
	fclose(f);
	return n;
}

static int sum_live(const struct ht_agg_val *v, const uint64_t *frames, uint32_t depth, void *ctx)
{
	(void)frames;
	(void)depth;
	*(int64_t *)ctx += (int64_t)snapshot__inuse_objects(v);
	return 0;
}

/* The `# runtime.MemStats` analogue: the process's memory and heaptrace's counters. */
static int write_text(struct serve_ctx *ctx, struct process *t, const struct pprof_builder *b,
		      const struct heap_snapshot *snap, FILE *f)
{
	static const char *const status[] = { "VmPeak",	 "VmSize",  "VmHWM",  "VmRSS",
					      "RssAnon", "RssFile", "VmData", "VmSwap" };
	static const char *const rollup[] = { "Rss",	       "Pss",	    "Pss_Anon",
					      "Private_Dirty", "Anonymous", "Swap" };
	struct legacy_stat stats[32];
	char labels[32][48], path[64], title[400], name[320];
	struct ht_target counters = {};
	int64_t live = 0;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/status", t->pid);
	n = read_kb(path, status, 8, stats, labels, "");
	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", t->pid);
	n += read_kb(path, rollup, 6, stats + n, labels + n, "Smaps");
	loader__target_stats(ctx->loader, t->pid, &counters);
	snapshot__for_each(snap, sum_live, &live);
	stats[n++] = (struct legacy_stat){ "SampleRate", (int64_t)ctx->opts.sample_rate };
	stats[n++] = (struct legacy_stat){ "Samples", (int64_t)counters.samples };
	stats[n++] = (struct legacy_stat){ "TrackedFrees", (int64_t)counters.frees_tracked };
	stats[n++] = (struct legacy_stat){ "LiveTrackedBlocks", live };
	stats[n++] = (struct legacy_stat){ "Stacks", (int64_t)snapshot__len(snap) };
	stats[n++] =
	    (struct legacy_stat){ "Lost", (int64_t)(profile__lost(&counters) + process__lost(t)) };
	if (t->store)
		stats[n++] = (struct legacy_stat){ "UnwindFailures", (int64_t)t->unwind_failures };
	snprintf(title, sizeof(title), "heaptrace.MemStats of pid %d (%s)", t->pid,
		 procname__describe(t->comm, t->exe, name, sizeof(name)));
	return legacytext__write(f, b, title, stats, n);
}

/* Builds and sends a profile of t: from snap alone, or snap minus base over `seconds`. */
static void send_profile(struct serve_ctx *ctx, struct http_conn *c, struct process *t,
			 struct heap_snapshot *snap, const struct heap_snapshot *base, int seconds,
			 bool allocs, bool text)
{
	int64_t now = (int64_t)clock__real_ns();
	struct profile_request r = {
		.loader = ctx->loader,
		.symbolizer = ctx->symbolizer,
		.opts = &ctx->opts,
		.proc = t,
		.note = ctx->procs.note ? ctx->procs.note(ctx->procs.ctx, t) : NULL,
		.snap = snap,
		.base = base,
		.time_ns = now,
		.duration_ns =
		    base ? (int64_t)seconds * 1000000000 : now - (int64_t)t->start_realtime_ns,
		.default_alloc = allocs,
	};
	struct pprof_builder *b = NULL;
	struct profile_summary sum;
	void *body = NULL;
	size_t len = 0;
	int err;

	err = profile__build(&r, &sum, &b);
	if (err)
		goto cleanup;
	if (text) {
		FILE *f = open_memstream((char **)&body, &len);

		if (!f) {
			err = -ENOMEM;
			goto cleanup;
		}
		err = write_text(ctx, t, b, snap, f);
		if (fclose(f) && !err)
			err = -ENOMEM;
		if (err)
			goto cleanup;
		http__respond(c, 200, "text/plain; charset=utf-8", NULL, body, len, 1);
	} else {
		err = pprof__encode_gz(b, HTTP_MAX_BODY, &body, &len);
		if (err)
			goto cleanup;
		http__respond(c, 200, "application/octet-stream", PROFILE_HEADERS, body, len, 1);
	}
	body = NULL;
cleanup:
	free(body);
	pprof__free(b);
	if (err)
		http__respondf(c, 500, "cannot build the profile of pid %d: %s\n", t->pid,
			       strerror(-err));
}

/* Everything the kernel reported so far belongs in the snapshot. */
static int take_snapshot(struct serve_ctx *ctx, struct process *t, struct heap_snapshot **out)
{
	loader__consume_events(ctx->loader);
	return profile__snapshot(ctx->loader, t, out);
}

static void pending_drop(void *arg)
{
	struct pending *p = arg;

	snapshot__free(p->p0);
	free(p);
}

static void pending_fire(struct http_conn *c, void *arg)
{
	struct pending *p = arg;
	struct process *t = find_proc(p->ctx, p->pid);
	struct heap_snapshot *p1 = NULL;
	int err;

	if (!t) {
		http__respondf(c, 404,
			       "pid %d is no longer traced: it exited during the %d s window\n",
			       p->pid, p->seconds);
		goto cleanup;
	}
	err = take_snapshot(p->ctx, t, &p1);
	if (err) {
		http__respondf(c, 500, "cannot read the counters of pid %d: %s\n", p->pid,
			       strerror(-err));
		goto cleanup;
	}
	send_profile(p->ctx, c, t, p1, p->p0, p->seconds, p->allocs, false);
cleanup:
	snapshot__free(p1);
	pending_drop(p);
}

static void serve_profile(struct serve_ctx *ctx, struct http_conn *c, const char *query,
			  bool allocs, pid_t scope)
{
	char val[32];
	long pid = 0, debug = 0, seconds = 0;
	struct heap_snapshot *snap = NULL;
	struct pending *p;
	struct process *t;
	size_t i;
	int err;

	/* A value that does not decode (a %00 inside, say) is refused, never cut short. */
	err = httpreq__query(query, "pid", val, sizeof(val));
	if (err < 0) {
		http__respondf(c, 400, "invalid value for pid: give a process ID\n");
		return;
	}
	if (err == 1 && (parse_uint(val, INT_MAX, &pid) || !pid)) {
		http__respondf(c, 400, "invalid value for pid: '%s'\n", val);
		return;
	}
	err = httpreq__query(query, "debug", val, sizeof(val));
	if (err < 0 || (err == 1 && parse_uint(val, INT_MAX, &debug))) {
		http__respondf(c, 400, "invalid value for debug: give 0 or 1\n");
		return;
	}
	err = httpreq__query(query, "seconds", val, sizeof(val));
	if (err < 0 || (err == 1 && (parse_uint(val, SERVE_MAX_SECONDS, &seconds) || !seconds))) {
		http__respondf(c, 400, "invalid value for seconds: give 1 to %d\n",
			       SERVE_MAX_SECONDS);
		return;
	}
	if (seconds && debug) {
		http__respondf(c, 400, "seconds and debug params are incompatible\n");
		return;
	}
	if (scope && pid && pid != scope) {
		http__respondf(c, 400, "pid=%ld disagrees with the path's pid %d: give one\n", pid,
			       scope);
		return;
	}
	if (scope)
		pid = scope;
	if (!pid && nr_procs(ctx) == 1)
		pid = proc_at(ctx, 0)->pid;
	if (!pid) {
		char *buf = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&buf, &len);

		if (!f) {
			http__respondf(c, 500, "out of memory\n");
			return;
		}
		fprintf(f, "several processes are traced: add ?pid= with one of:");
		for (i = 0; i < nr_procs(ctx); i++)
			if (serve__may_read(ctx, c, proc_at(ctx, i), false))
				fprintf(f, " %d", proc_at(ctx, i)->pid);
		fputc('\n', f);
		fclose(f);
		http__respond(c, 400, "text/plain; charset=utf-8", NULL, buf, len, 1);
		return;
	}
	t = find_proc(ctx, (pid_t)pid);
	if (!t) {
		http__respondf(c, 404, "pid %ld is not traced: see /debug/pprof/\n", pid);
		return;
	}
	if (!serve__may_read(ctx, c, t, true))
		return;
	err = take_snapshot(ctx, t, &snap);
	if (err) {
		http__respondf(c, 500, "cannot read the counters of pid %ld: %s\n", pid,
			       strerror(-err));
		return;
	}
	if (!seconds) {
		send_profile(ctx, c, t, snap, NULL, 0, allocs, debug > 0);
		snapshot__free(snap);
		return;
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		snapshot__free(snap);
		http__respondf(c, 500, "out of memory\n");
		return;
	}
	*p = (struct pending){
		.ctx = ctx, .pid = t->pid, .seconds = (int)seconds, .allocs = allocs, .p0 = snap
	};
	http__defer(c, clock__mono_ns() + (uint64_t)seconds * 1000000000ull, pending_fire,
		    pending_drop, p);
}

/*
 * Splits /pid/PID/REST into PID and /REST. Returns 0 with *pid 0 for any
 * other path, 0 with *pid set for this form, or -EINVAL when it is malformed.
 */
static int split_pid_path(const char *path, pid_t *pid, const char **rest)
{
	const char *p = path + strlen(SERVE_PID_PREFIX), *slash;
	char num[16];
	long v;

	*pid = 0;
	*rest = path;
	if (strncmp(path, SERVE_PID_PREFIX, strlen(SERVE_PID_PREFIX)))
		return 0;
	slash = strchr(p, '/');
	if (!slash || (size_t)(slash - p) >= sizeof(num))
		return -EINVAL;
	memcpy(num, p, (size_t)(slash - p));
	num[slash - p] = '\0';
	if (parse_uint(num, INT_MAX, &v) || !v)
		return -EINVAL;
	*pid = (pid_t)v;
	*rest = slash;
	return 0;
}

void serve__handle(struct http_conn *c, const struct http_request *req, void *arg)
{
	struct serve_ctx *ctx = arg;
	const char *path;
	pid_t scope;

	if (split_pid_path(req->path, &scope, &path)) {
		http__respondf(c, 404,
			       "no such page: use /pid/PID/debug/pprof/heap, "
			       "/pid/PID/metrics, ... with the pid of a traced process\n");
		return;
	}
	if (scope && !find_proc(ctx, scope)) {
		http__respondf(c, 404, "pid %d is not traced: see /debug/pprof/targets\n", scope);
		return;
	}
	/* Everything under /pid/PID/ is that process's: one check for every route. */
	if (scope && !serve__may_read(ctx, c, find_proc(ctx, scope), true))
		return;
	if (req->post && strcmp(path, "/debug/pprof/symbol")) {
		http__respondf(c, 405, "only /debug/pprof/symbol takes POST: use GET\n");
		return;
	}
	if (!strcmp(path, "/debug/pprof/") || !strcmp(path, "/debug/pprof"))
		serve_index(ctx, c, scope);
	else if (!strcmp(path, "/debug/pprof/heap"))
		serve_profile(ctx, c, req->query, false, scope);
	else if (!strcmp(path, "/debug/pprof/allocs"))
		serve_profile(ctx, c, req->query, true, scope);
	else if (!strcmp(path, "/debug/pprof/symbol"))
		symbolz__serve(ctx, c, req, scope);
	else if (!strcmp(path, "/metrics"))
		metrics__serve(ctx, c, req->query, scope);
	else if (!strcmp(path, "/debug/pprof/targets") && !scope)
		scrapetargets__serve(ctx, c, req->host);
	else if (!strcmp(path, SERVE_REPORT_PATH))
		serve_report__handle(ctx, c, req->query, scope);
	else
		http__respondf(c, 404,
			       "no such page: heaptrace serves /debug/pprof/, "
			       "/debug/pprof/heap, /debug/pprof/allocs, /debug/pprof/symbol, "
			       "/debug/pprof/targets, /metrics and " SERVE_REPORT_PATH "\n");
}
