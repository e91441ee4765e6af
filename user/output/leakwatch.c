// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* leakwatch.c - see leakwatch.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "output/leak.h"
#include "output/leakwatch.h"
#include "output/pprof.h"
#include "util/vec.h"

struct watched {
	pid_t pid;
	uint64_t start_time;
	struct leak_series *series;
};

struct leakwatch {
	struct watched *items;
	size_t nr, cap;
};

struct leakwatch *leakwatch__new(void)
{
	return calloc(1, sizeof(struct leakwatch));
}

static struct watched *find(struct leakwatch *w, const struct process *p)
{
	size_t i;

	for (i = 0; i < w->nr; i++)
		if (w->items[i].pid == p->pid && w->items[i].start_time == p->start_time)
			return &w->items[i];
	return NULL;
}

static struct watched *find_or_add(struct leakwatch *w, const struct process *p)
{
	struct watched *x = find(w, p);
	struct leak_series *s;

	if (x)
		return x;
	s = leak_series__new(p->pid, p->comm);
	if (!s || VEC_RESERVE(w->items, w->cap, w->nr + 1)) {
		leak_series__free(s);
		return NULL;
	}
	w->items[w->nr] =
	    (struct watched){ .pid = p->pid, .start_time = p->start_time, .series = s };
	return &w->items[w->nr++];
}

/* One comment per suspect: what pprof -comments and `heaptrace print` show. */
static int mark_suspects(const struct leak_report *r, struct pprof_builder *b)
{
	char comment[1024];
	size_t i;
	int err = 0;

	for (i = 0; i < r->nsuspects && i < LEAKWATCH_MAX_COMMENTS && !err; i++) {
		const struct leak_finding *f = &r->findings[i];

		snprintf(comment, sizeof(comment),
			 "heaptrace leak suspect: %s in use %lld bytes, growing %.0f bytes/s "
			 "(R² %.2f over %zu profiles, %.0f%% of intervals not falling, live bytes "
			 "~%.0f s old); stack %s",
			 *f->function ? f->function : "?", (long long)f->inuse_bytes,
			 f->growth_bytes_per_s, f->r2, r->npoints, f->steady * 100, f->mean_age_s,
			 f->stack);
		err = pprof__add_comment(b, comment);
	}
	return err;
}

int leakwatch__observe(struct leakwatch *w, const struct process *p, struct pprof_builder *b,
		       char *top, size_t len)
{
	struct watched *x = find_or_add(w, p);
	struct leak_report r;
	int err;

	if (len)
		top[0] = '\0';
	if (!x)
		return -ENOMEM;
	err = leak_series__add_profile(x->series, b);
	if (!err)
		err = leak__analyze(x->series, &r);
	if (err)
		return err;
	leak_report__top(&r, top, len);
	err = mark_suspects(&r, b);
	leak_report__release(&r);
	return err;
}

void leakwatch__forget(struct leakwatch *w, const struct process *p)
{
	struct watched *x = find(w, p);

	if (!x)
		return;
	leak_series__free(x->series);
	*x = w->items[--w->nr];
}

int leakwatch__write(struct leakwatch *w, const struct process *p, bool json, FILE *f)
{
	struct watched *x = find(w, p);
	const struct leak_report *views[1];
	struct leak_report r;
	int err;

	if (!x || !leak_series__len(x->series))
		return -ENOENT;
	err = leak__analyze(x->series, &r);
	if (err)
		return err;
	views[0] = &r;
	err = json ? leak_report__write_json(views, 1, f) : leak_report__write_text(&r, f);
	leak_report__release(&r);
	return err;
}

void leakwatch__free(struct leakwatch *w)
{
	size_t i;

	if (!w)
		return;
	for (i = 0; i < w->nr; i++)
		leak_series__free(w->items[i].series);
	free(w->items);
	free(w);
}
