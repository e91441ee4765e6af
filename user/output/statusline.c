// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* statusline.c - see statusline.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "output/statusline.h"
#include "output/unbias.h"
#include "util/log.h"
#include "util/vec.h"

/* The in-use total of a process's previous profile. */
struct last_inuse {
	pid_t pid;
	uint64_t start_time;
	int64_t bytes;
};

struct statusline {
	struct last_inuse *items;
	size_t nr, cap;
};

void *statusline__new(void)
{
	return calloc(1, sizeof(struct statusline));
}

void statusline__format_bytes(int64_t bytes, char *buf, size_t len)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)(bytes < 0 ? -bytes : bytes);
	const char *sign = bytes < 0 ? "-" : "";
	size_t u = 0;

	while (v >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%s%" PRId64 " B", sign, bytes < 0 ? -bytes : bytes);
	else
		snprintf(buf, len, "%s%.1f %s", sign, v, units[u]);
}

void statusline__format_extra(const struct profile_summary *sum, char *buf, size_t len)
{
	double rel = unbias__rel_error(sum->inuse_samples, sum->rate);
	char rss[32];
	int n;

	/* Inside the parentheses after the in-use figure: no ')' of its own. */
	if (!sum->inuse_samples)
		n = snprintf(buf, len, "%s",
			     ""); /* nothing live (or --alloc-only): nothing to say */
	else if (rel == 0)
		n = snprintf(buf, len, "; exact");
	else
		n = snprintf(buf, len, "; ±%.0f%% from %" PRIu64 " live samples", rel * 100,
			     sum->inuse_samples);
	if (sum->rss_anon >= 0 && n >= 0 && (size_t)n < len) {
		statusline__format_bytes(sum->rss_anon, rss, sizeof(rss));
		snprintf(buf + n, len - (size_t)n, "; RssAnon %s", rss);
	}
}

/* The process's entry, made when new (its previous total then 0); NULL without memory. */
static struct last_inuse *entry_of(struct statusline *sl, const struct process *p)
{
	size_t i;

	for (i = 0; i < sl->nr; i++)
		if (sl->items[i].pid == p->pid && sl->items[i].start_time == p->start_time)
			return &sl->items[i];
	if (VEC_RESERVE(sl->items, sl->cap, sl->nr + 1))
		return NULL;
	sl->items[sl->nr] = (struct last_inuse){ .pid = p->pid, .start_time = p->start_time };
	return &sl->items[sl->nr++];
}

static int statusline_write(void *state, const struct profile_output *out)
{
	const struct profile_summary *sum = out->sum;
	struct statusline *sl = state;
	struct last_inuse *last = entry_of(sl, out->proc);
	int64_t before = last ? last->bytes : 0;
	char inuse[32], delta[32], alloc[32], extra[96], waiting[64] = "";

	/* A peak between two periodic profiles is said by whoever wrote it, not in the series. */
	if (out->peak)
		return 0;

	statusline__format_bytes(sum->inuse_bytes, inuse, sizeof(inuse));
	statusline__format_bytes(sum->inuse_bytes - before, delta, sizeof(delta));
	statusline__format_bytes(sum->alloc_bytes, alloc, sizeof(alloc));
	/* While the disk refuses them: how many profiles wait to be written. */
	if (out->waiting)
		snprintf(waiting, sizeof(waiting), ", %" PRIu64 " profiles waiting for the disk",
			 out->waiting);
	statusline__format_extra(sum, extra, sizeof(extra));
	log_info("pid %d (%s): inuse %s (%s%s%s) in %" PRId64 " objects, allocated %s, %" PRIu64
		 " samples, %" PRIu64 " lost%s%s%s%s%s%s%s%s%s",
		 out->proc->pid, out->proc->comm, inuse, sum->inuse_bytes >= before ? "+" : "",
		 delta, extra, sum->inuse_objects, alloc, sum->samples, sum->lost,
		 out->probes_off ? ", " : "", out->probes_off ? out->probes_off : "",
		 out->memcg_note ? ", " : "", out->memcg_note ? out->memcg_note : "",
		 out->children ? ", " : "", out->children ? out->children : "", waiting,
		 out->leak_suspect && *out->leak_suspect ? ", leak suspect: " : "",
		 out->leak_suspect ? out->leak_suspect : "");
	if (!last)
		return 0;
	if (out->final)
		*last = sl->items[--sl->nr]; /* the series ends: forget it */
	else
		last->bytes = sum->inuse_bytes;
	return 0;
}

static void statusline_free(void *state)
{
	struct statusline *sl = state;

	if (sl)
		free(sl->items);
	free(sl);
}

const struct sink_ops statusline_ops = {
	.name = "status line",
	.write = statusline_write,
	.free = statusline_free,
};
