// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* retention.c - see retention.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "output/retention.h"
#include "util/vec.h"

struct kept_file {
	char *name;
	size_t series; /* index into series[] */
	int64_t time_ns;
	uint64_t seq; /* order of writing: breaks ties of time */
	uint64_t size;
	bool first;
	bool doomed; /* chosen by this round */
};

struct series {
	char *key;
	bool ended;
	bool has_first; /* its first profile was recorded (and may since have gone) */
	size_t newest;	/* index of its newest file, set by retention__choose */
	uint32_t seen;	/* profiles newer than the one looked at, while choosing */
};

struct retention {
	struct retention_policy p;
	struct kept_file *files;
	size_t nr, cap;
	struct series *series;
	size_t nr_series, cap_series;
	uint64_t next_seq;
};

struct retention *retention__new(const struct retention_policy *p)
{
	struct retention *r = calloc(1, sizeof(*r));

	if (r)
		r->p = *p;
	return r;
}

/* The series' index, made when new; -ENOMEM. */
static long series_of(struct retention *r, const char *key)
{
	size_t i;

	/* An ended series is never continued: the same name and PID again is a new image. */
	for (i = 0; i < r->nr_series; i++)
		if (!r->series[i].ended && !strcmp(r->series[i].key, key))
			return (long)i;
	if (VEC_RESERVE(r->series, r->cap_series, r->nr_series + 1))
		return -ENOMEM;
	r->series[r->nr_series] = (struct series){ .key = strdup(key) };
	if (!r->series[r->nr_series].key)
		return -ENOMEM;
	return (long)r->nr_series++;
}

int retention__add(struct retention *r, const char *series, const char *name, int64_t time_ns,
		   uint64_t size, bool final)
{
	long s = series_of(r, series);
	struct kept_file *f;

	if (s < 0)
		return (int)s;
	if (VEC_RESERVE(r->files, r->cap, r->nr + 1))
		return -ENOMEM;
	f = &r->files[r->nr];
	*f = (struct kept_file){ .series = (size_t)s,
				 .time_ns = time_ns,
				 .seq = r->next_seq++,
				 .size = size,
				 .first = !r->series[s].has_first };
	f->name = strdup(name);
	if (!f->name)
		return -ENOMEM;
	r->series[s].has_first = true;
	/* A new image of the same name and PID after this is a new series. */
	if (final)
		r->series[s].ended = true;
	r->nr++;
	return 0;
}

bool retention__has(const struct retention *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->nr; i++)
		if (!strcmp(r->files[i].name, name))
			return true;
	return false;
}

static int by_age(const void *a, const void *b)
{
	const struct kept_file *x = a, *y = b;

	if (x->time_ns != y->time_ns)
		return x->time_ns < y->time_ns ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Each series' newest file, once per round (files sorted oldest first). */
static void find_newest(struct retention *r)
{
	size_t i;

	for (i = 0; i < r->nr_series; i++)
		r->series[i].newest = (size_t)-1;
	for (i = 0; i < r->nr; i++)
		r->series[r->files[i].series].newest = i;
}

/*
 * Every series keeps its first profile (the base for -base against the
 * start), and a live one its newest too; only --max-disk may take an ended
 * series' first, and only when nothing else is left to take.
 */
static bool protected(const struct retention *r, size_t i, bool take_ended_firsts)
{
	const struct kept_file *f = &r->files[i];
	bool ended = r->series[f->series].ended;

	if (f->first)
		return !(ended && take_ended_firsts);
	return !ended && r->series[f->series].newest == i;
}

static void mark_keep(struct retention *r)
{
	size_t i, s;

	if (!r->p.keep)
		return;
	/* Newest first, counting each series' profiles seen so far. */
	for (s = 0; s < r->nr_series; s++)
		r->series[s].seen = 0;
	for (i = r->nr; i-- > 0;) {
		struct kept_file *f = &r->files[i];

		if (f->first)
			continue;
		if (r->series[f->series].seen++ >= r->p.keep && !protected(r, i, false))
			f->doomed = true;
	}
}

static void mark_age(struct retention *r, int64_t now_ns)
{
	size_t i;

	if (!r->p.max_age_ns)
		return;
	for (i = 0; i < r->nr; i++)
		if (now_ns - r->files[i].time_ns > (int64_t)r->p.max_age_ns &&
		    !protected(r, i, false))
			r->files[i].doomed = true;
}

static void mark_disk(struct retention *r)
{
	uint64_t total = 0;
	int pass;
	size_t i;

	if (!r->p.max_disk_bytes)
		return;
	for (i = 0; i < r->nr; i++)
		if (!r->files[i].doomed)
			total += r->files[i].size;
	/* Oldest first; ended series' first profiles only in a second pass. */
	for (pass = 0; pass < 2; pass++)
		for (i = 0; i < r->nr && total > r->p.max_disk_bytes; i++) {
			if (r->files[i].doomed || protected(r, i, pass == 1))
				continue;
			r->files[i].doomed = true;
			total -= r->files[i].size;
		}
}

int retention__choose(struct retention *r, int64_t now_ns, char ***names, size_t *nr)
{
	size_t i, n = 0, kept = 0;
	char **out;

	*names = NULL;
	*nr = 0;
	qsort(r->files, r->nr, sizeof(*r->files), by_age);
	find_newest(r);
	mark_keep(r);
	mark_age(r, now_ns);
	mark_disk(r);
	for (i = 0; i < r->nr; i++)
		n += r->files[i].doomed;
	if (!n)
		return 0;
	out = calloc(n, sizeof(*out));
	if (!out) {
		for (i = 0; i < r->nr; i++)
			r->files[i].doomed = false;
		return -ENOMEM;
	}
	n = 0;
	for (i = 0; i < r->nr; i++) {
		if (r->files[i].doomed)
			out[n++] = r->files[i].name; /* ownership moves to the caller */
		else
			r->files[kept++] = r->files[i];
	}
	r->nr = kept;
	*names = out;
	*nr = n;
	return 0;
}

void retention__free_names(char **names, size_t nr)
{
	size_t i;

	for (i = 0; i < nr; i++)
		free(names[i]);
	free(names);
}

uint64_t retention__bytes(const struct retention *r)
{
	uint64_t total = 0;
	size_t i;

	for (i = 0; i < r->nr; i++)
		total += r->files[i].size;
	return total;
}

size_t retention__count(const struct retention *r)
{
	return r->nr;
}

void retention__free(struct retention *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->nr; i++)
		free(r->files[i].name);
	for (i = 0; i < r->nr_series; i++)
		free(r->series[i].key);
	free(r->files);
	free(r->series);
	free(r);
}
