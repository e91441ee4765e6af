// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* metrics.c - see metrics.h. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "collect/snapshot.h"
#include "http/metrics.h"
#include "output/profile.h"
#include "util/clock.h"
#include "util/procfs.h"
#include "util/utf8.h"

/* What one process's series say, gathered first: a metric's series must be written together. */
struct proc_metrics {
	pid_t pid;
	char comm[PROCESS_COMM_LEN];
	char cgroup[256], unit[128];
	bool heap_ok;	  /* the totals could be computed */
	bool inuse_known; /* frees are traced (not --alloc-only): in-use means something */
	struct profile_summary sum;
	struct ht_target counters;
	uint64_t daemon_lost;
	bool dwarf; /* stacks unwound in the daemon: unwind_failures is meaningful */
	uint64_t unwind_failures;
	int64_t rss_bytes; /* -1: unknown (the process is gone) */
	const struct valve *valve;
};

enum metric_kind { GAUGE, COUNTER };

/* One metric family of the per-process page, with how to read its value. */
struct proc_metric {
	const char *name;
	enum metric_kind kind;
	const char *help;
	bool (*value)(const struct proc_metrics *m, uint64_t now, double *out);
};

static bool v_inuse_bytes(const struct proc_metrics *m, uint64_t now, double *out)
{
	(void)now;
	*out = (double)m->sum.inuse_bytes;
	return m->heap_ok && m->inuse_known;
}

static bool v_inuse_objects(const struct proc_metrics *m, uint64_t now, double *out)
{
	(void)now;
	*out = (double)m->sum.inuse_objects;
	return m->heap_ok && m->inuse_known;
}

static bool v_alloc_bytes(const struct proc_metrics *m, uint64_t now, double *out)
{
	(void)now;
	*out = (double)m->sum.alloc_bytes;
	return m->heap_ok;
}

static bool v_alloc_objects(const struct proc_metrics *m, uint64_t now, double *out)
{
	(void)now;
	*out = (double)m->sum.alloc_objects;
	return m->heap_ok;
}

static bool v_samples(const struct proc_metrics *m, uint64_t now, double *out)
{
	(void)now;
	*out = (double)m->counters.samples;
	return true;
}

static bool v_frees(const struct proc_metrics *m, uint64_t now, double *out)
{
	(void)now;
	*out = (double)m->counters.frees_tracked;
	return true;
}

static bool v_calls(const struct proc_metrics *m, uint64_t now, double *out)
{
	(void)now;
	*out = (double)m->counters.calls;
	return true;
}

static bool v_unwind_failures(const struct proc_metrics *m, uint64_t now, double *out)
{
	(void)now;
	*out = (double)m->unwind_failures;
	return m->dwarf;
}

static bool v_stacks(const struct proc_metrics *m, uint64_t now, double *out)
{
	(void)now;
	*out = (double)m->sum.stacks;
	return m->heap_ok;
}

static bool v_rss(const struct proc_metrics *m, uint64_t now, double *out)
{
	(void)now;
	*out = (double)m->rss_bytes;
	return m->rss_bytes >= 0;
}

static bool v_valve_off(const struct proc_metrics *m, uint64_t now, double *out)
{
	(void)now;
	*out = m->valve && m->valve->detached ? 1 : 0;
	return m->valve;
}

static bool v_valve_trips(const struct proc_metrics *m, uint64_t now, double *out)
{
	(void)now;
	*out = m->valve ? (double)m->valve->detaches : 0;
	return m->valve;
}

static bool v_valve_off_seconds(const struct proc_metrics *m, uint64_t now, double *out)
{
	*out = m->valve ? (double)valve__detached_ns(m->valve, now) / 1e9 : 0;
	return m->valve;
}

static bool v_valve_budget(const struct proc_metrics *m, uint64_t now, double *out)
{
	(void)now;
	*out = m->valve ? (double)m->valve->max_rate : 0;
	return m->valve;
}

static const struct proc_metric proc_metrics[] = {
	{ "heaptrace_inuse_bytes", GAUGE,
	  "Bytes allocated and not yet freed, estimated from the samples (exact at -r 1).",
	  v_inuse_bytes },
	{ "heaptrace_inuse_objects", GAUGE,
	  "Blocks allocated and not yet freed, estimated from the samples.", v_inuse_objects },
	{ "heaptrace_alloc_bytes_total", COUNTER,
	  "Bytes allocated since tracing began, estimated from the samples.", v_alloc_bytes },
	{ "heaptrace_alloc_objects_total", COUNTER,
	  "Blocks allocated since tracing began, estimated from the samples.", v_alloc_objects },
	{ "heaptrace_samples_total", COUNTER, "Sampled allocations recorded.", v_samples },
	{ "heaptrace_tracked_frees_total", COUNTER, "Frees that released a sampled block.",
	  v_frees },
	{ "heaptrace_allocator_calls_total", COUNTER,
	  "Allocation calls the probes saw, sampled or not (the traps the valve budgets).",
	  v_calls },
	{ "heaptrace_unwind_failures_total", COUNTER,
	  "DWARF mode: sampled stacks that could not be unwound past their leaf.",
	  v_unwind_failures },
	{ "heaptrace_stacks", GAUGE, "Distinct allocation stacks in the heap profile.", v_stacks },
	{ "heaptrace_process_resident_memory_bytes", GAUGE,
	  "Resident memory of the traced process (VmRSS).", v_rss },
	{ "heaptrace_valve_probes_off", GAUGE,
	  "1 while the safety valve keeps the process's probes off, else 0.", v_valve_off },
	{ "heaptrace_valve_trips_total", COUNTER,
	  "Times the safety valve took the process's probes off.", v_valve_trips },
	{ "heaptrace_valve_probes_off_seconds_total", COUNTER,
	  "Time the process's probes were off because of the safety valve.", v_valve_off_seconds },
	{ "heaptrace_valve_budget_calls_per_second", GAUGE,
	  "Allocation calls a second the safety valve allows (0: the valve is off).",
	  v_valve_budget },
};

/* The reasons of heaptrace_lost_events_total, each a counter the BPF side or the daemon keeps. */
struct lost_reason {
	const char *reason;
	uint64_t (*value)(const struct proc_metrics *m);
};

static uint64_t l_live(const struct proc_metrics *m)
{
	return m->counters.lost_live_full;
}
static uint64_t l_stack(const struct proc_metrics *m)
{
	return m->counters.lost_stack_full;
}
static uint64_t l_agg(const struct proc_metrics *m)
{
	return m->counters.lost_agg_full;
}
static uint64_t l_inflight(const struct proc_metrics *m)
{
	return m->counters.lost_inflight;
}
static uint64_t l_stack_read(const struct proc_metrics *m)
{
	return m->counters.stack_errors;
}
static uint64_t l_ring(const struct proc_metrics *m)
{
	return m->counters.lost_events;
}
static uint64_t l_inherit(const struct proc_metrics *m)
{
	return m->counters.lost_inherited;
}
static uint64_t l_daemon(const struct proc_metrics *m)
{
	return m->daemon_lost;
}

static const struct lost_reason lost_reasons[] = {
	{ "live_map_full", l_live },
	{ "stack_map_full", l_stack },
	{ "agg_map_full", l_agg },
	{ "inflight_map_full", l_inflight },
	{ "stack_unreadable", l_stack_read },
	{ "ring_buffer_full", l_ring },
	{ "fork_copy_full", l_inherit },
	{ "daemon_table_full", l_daemon },
};

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/*
 * A label value as the text format wants it: UTF-8 (Prometheus refuses a
 * whole page for one invalid value), backslash, quote and newline escaped.
 */
static void label_value(FILE *f, const char *in)
{
	char buf[3 * sizeof(((struct proc_metrics *)0)->cgroup) + 1];
	const char *s = buf;

	utf8__sanitize(in, buf, sizeof(buf));
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fprintf(f, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

/*
 * A series' label set: the process's identity (unless the page is scoped to
 * it) and a reason, if any; nothing at all when both are absent.
 */
static void labels(FILE *f, const struct proc_metrics *m, bool scoped, const char *reason)
{
	bool any = false;

	if (!scoped) {
		fprintf(f, "{pid=\"%d\",comm=\"", m->pid);
		label_value(f, m->comm);
		fputc('"', f);
		if (m->cgroup[0]) {
			fputs(",cgroup=\"", f);
			label_value(f, m->cgroup);
			fputc('"', f);
		}
		if (m->unit[0]) {
			fputs(",unit=\"", f);
			label_value(f, m->unit);
			fputc('"', f);
		}
		any = true;
	}
	if (reason) {
		fprintf(f, "%sreason=\"%s\"", any ? "," : "{", reason);
		any = true;
	}
	if (any)
		fputc('}', f);
}

static void family(FILE *f, const char *name, enum metric_kind kind, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
		kind == COUNTER ? "counter" : "gauge");
}

/* Writes a value the way Go's client does: integers without a fraction. */
static void value(FILE *f, double v)
{
	if (v == (double)(int64_t)v)
		fprintf(f, " %" PRId64 "\n", (int64_t)v);
	else
		fprintf(f, " %.9g\n", v);
}

void metrics__cgroup_of(pid_t pid, char *cgroup, size_t cglen, char *unit, size_t unitlen)
{
	char copy[256], *p, *tok, *save = NULL;

	cgroup[0] = unit[0] = '\0';
	if (procfs__cgroup_path(pid, cgroup, cglen))
		cgroup[0] = '\0';
	snprintf(copy, sizeof(copy), "%s", cgroup);
	for (tok = strtok_r(copy, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
		p = strrchr(tok, '.');
		if (p && (!strcmp(p, ".service") || !strcmp(p, ".scope")))
			snprintf(unit, unitlen, "%s", tok);
	}
}

/* A /proc/PID/status figure in bytes, -1 when unknown. */
static int64_t status_bytes(pid_t pid, const char *name)
{
	int64_t v;

	return procfs__status_bytes(pid, name, &v) ? -1 : v;
}

/*
 * The totals the process's heap profile would have now. Its maps are not
 * re-read and nothing is symbolized: totals need neither, and a scrape of
 * many processes must not hold up tracing.
 */
static int heap_totals(struct serve_ctx *ctx, struct process *t, struct profile_summary *sum)
{
	struct heap_snapshot *snap = NULL;
	struct profile_request r = {
		.loader = ctx->loader,
		.symbolizer = ctx->symbolizer,
		.opts = &ctx->opts,
		.proc = t,
	};
	int err;

	err = snapshot__take(ctx->loader, t->pid, t->store, &snap);
	if (err)
		return err;
	r.snap = snap;
	err = profile__totals(&r, sum);
	snapshot__free(snap);
	return err;
}

static void gather(struct serve_ctx *ctx, struct process *t, struct proc_metrics *m)
{
	memset(m, 0, sizeof(*m));
	m->pid = t->pid;
	snprintf(m->comm, sizeof(m->comm), "%s", t->comm);
	metrics__cgroup_of(t->pid, m->cgroup, sizeof(m->cgroup), m->unit, sizeof(m->unit));
	m->heap_ok = heap_totals(ctx, t, &m->sum) == 0;
	/* A zero that only means "not traced" would read as "no leak": leave the series out. */
	m->inuse_known = !ctx->opts.alloc_only;
	loader__target_stats(ctx->loader, t->pid, &m->counters);
	m->daemon_lost = process__lost(t);
	m->dwarf = t->store != NULL;
	m->unwind_failures = t->unwind_failures;
	m->rss_bytes = t->alive ? status_bytes(t->pid, "VmRSS") : -1;
	m->valve = ctx->procs.valve ? ctx->procs.valve(ctx->procs.ctx, t) : NULL;
}

static void write_process_families(FILE *f, const struct proc_metrics *ms, size_t n, bool scoped)
{
	uint64_t now = clock__mono_ns();
	size_t i, j;
	double v;

	for (i = 0; i < ARRAY_LEN(proc_metrics); i++) {
		const struct proc_metric *pm = &proc_metrics[i];

		family(f, pm->name, pm->kind, pm->help);
		for (j = 0; j < n; j++) {
			if (!pm->value(&ms[j], now, &v))
				continue;
			fputs(pm->name, f);
			labels(f, &ms[j], scoped, NULL);
			value(f, v);
		}
	}
	family(f, "heaptrace_lost_events_total", COUNTER,
	       "Samples, frees or calls that could not be recorded, by reason.");
	for (j = 0; j < n; j++)
		for (i = 0; i < ARRAY_LEN(lost_reasons); i++) {
			fputs("heaptrace_lost_events_total", f);
			labels(f, &ms[j], scoped, lost_reasons[i].reason);
			value(f, (double)lost_reasons[i].value(&ms[j]));
		}
}

/* heaptrace's own series: its version, what it traces, and what it costs. */
static void write_self(struct serve_ctx *ctx, FILE *f, size_t nprocs)
{
	struct rusage ru;
	int64_t rss = status_bytes(0, "VmRSS");

	family(f, "heaptrace_build_info", GAUGE, "heaptrace's version, as a label; always 1.");
	fprintf(f, "heaptrace_build_info{version=\"%s\"} 1\n", HEAPTRACE_VERSION);
	family(f, "heaptrace_traced_processes", GAUGE, "Processes traced now.");
	fprintf(f, "heaptrace_traced_processes %zu\n", nprocs);
	family(f, "heaptrace_sample_rate_bytes", GAUGE, "Mean bytes between two samples (-r).");
	fprintf(f, "heaptrace_sample_rate_bytes %" PRIu64 "\n", ctx->opts.sample_rate);
	if (!getrusage(RUSAGE_SELF, &ru)) {
		double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
			     (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;

		family(f, "process_cpu_seconds_total", COUNTER,
		       "CPU time heaptrace used, user and system.");
		fputs("process_cpu_seconds_total", f);
		value(f, cpu);
	}
	if (rss >= 0) {
		family(f, "process_resident_memory_bytes", GAUGE, "heaptrace's resident memory.");
		fprintf(f, "process_resident_memory_bytes %" PRId64 "\n", rss);
	}
}

/* The process the page is about: the path's, or ?pid= (which must agree with it). 0: all. */
static int scope_of(struct http_conn *c, const char *query, pid_t path_pid, pid_t *out)
{
	char val[32], *end;
	long pid;
	int found = httpreq__query(query, "pid", val, sizeof(val));

	*out = path_pid;
	if (found == 0)
		return 0;
	errno = 0;
	pid = strtol(val, &end, 10);
	if (found < 0 || val[0] < '0' || val[0] > '9' || *end || errno || pid <= 0 ||
	    pid > INT_MAX) {
		http__respondf(c, 400, "invalid value for pid: '%s': give a traced process's pid\n",
			       found < 0 ? "" : val);
		return -EINVAL;
	}
	if (path_pid && pid != path_pid) {
		http__respondf(c, 400, "pid=%ld disagrees with the path's pid %d: give one\n", pid,
			       path_pid);
		return -EINVAL;
	}
	*out = (pid_t)pid;
	return 0;
}

void metrics__serve(struct serve_ctx *ctx, struct http_conn *c, const char *query, pid_t scope)
{
	size_t n = ctx->procs.count(ctx->procs.ctx), i, k = 0;
	struct proc_metrics *ms = NULL;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = NULL;
	pid_t pid;

	if (scope_of(c, query, scope, &pid))
		return;
	ms = calloc(n ? n : 1, sizeof(*ms));
	if (!ms)
		goto oom;
	/* Everything the kernel reported so far belongs in the totals. */
	loader__consume_events(ctx->loader);
	for (i = 0; i < n; i++) {
		struct process *t = ctx->procs.at(ctx->procs.ctx, i);

		/* A process named by ?pid= or /pid/PID/ is refused aloud; others are left out. */
		if (pid && t->pid == pid && !serve__may_read(ctx, c, t, true)) {
			free(ms);
			return;
		}
		if ((!pid || t->pid == pid) && serve__may_read(ctx, c, t, false))
			gather(ctx, t, &ms[k++]);
	}
	if (pid && !k) {
		free(ms);
		http__respondf(c, 404, "pid %d is not traced: see /debug/pprof/targets\n", pid);
		return;
	}
	f = open_memstream(&buf, &len);
	if (!f)
		goto oom;
	write_process_families(f, ms, k, pid != 0);
	if (!pid)
		write_self(ctx, f, n);
	if (fclose(f))
		goto oom;
	free(ms);
	http__respond(c, 200, METRICS_CONTENT_TYPE, NULL, buf, len, 1);
	return;
oom:
	free(ms);
	free(buf);
	http__respondf(c, 500, "out of memory\n");
}
