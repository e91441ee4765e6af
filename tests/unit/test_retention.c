// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Which profiles retention removes (user/output/retention.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "output/retention.h"

#define S 1000000000ll

/* Adds n profiles of `series` named SERIES-<i>, one a second from t0, each `size` bytes. */
static void add_series(struct retention *r, const char *series, int first, int n, int64_t t0,
		       uint64_t size, int final_at)
{
	char name[64];
	int i;

	for (i = first; i < first + n; i++) {
		snprintf(name, sizeof(name), "%s-%d", series, i);
		retention__add(r, series, name, t0 + i * S, size, i == final_at);
	}
}

/* The names chosen now, joined by spaces. */
static const char *choose(struct retention *r, int64_t now, char *buf, size_t len)
{
	char **names;
	size_t nr, i, off = 0;

	buf[0] = '\0';
	if (retention__choose(r, now, &names, &nr))
		return "(error)";
	for (i = 0; i < nr; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s", i ? " " : "", names[i]);
	retention__free_names(names, nr);
	return buf;
}

int main(void)
{
	struct retention_policy p = { 0 };
	struct retention *r;
	char out[1024];

	/* No bound: nothing goes. */
	r = retention__new(&p);
	add_series(r, "a", 0, 10, 0, 100, -1);
	ok(!strcmp(choose(r, 1000 * S, out, sizeof(out)), ""), "no bound: nothing chosen");
	ok(retention__count(r) == 10 && retention__bytes(r) == 1000, "all 10 kept, 1000 bytes");
	retention__free(r);

	/* --keep 3: the first and the 3 newest. */
	p = (struct retention_policy){ .keep = 3 };
	r = retention__new(&p);
	add_series(r, "a", 0, 6, 0, 100, -1);
	ok(!strcmp(choose(r, 10 * S, out, sizeof(out)), "a-1 a-2"),
	   "keep 3 of 6: oldest but the first go: '%s'", out);
	ok(retention__has(r, "a-0") && retention__has(r, "a-5") && !retention__has(r, "a-1"),
	   "the first and the newest are kept, a-1 forgotten");
	add_series(r, "a", 6, 1, 0, 100, -1);
	ok(!strcmp(choose(r, 10 * S, out, sizeof(out)), "a-3"),
	   "one more: the next oldest goes: '%s'", out);
	/* Series are counted apart. */
	add_series(r, "b", 0, 2, 0, 100, -1);
	ok(!strcmp(choose(r, 10 * S, out, sizeof(out)), ""), "keep is per series: b's 2 stay");
	retention__free(r);

	/* --max-age 5s: older go, except a live series' first and newest. */
	p = (struct retention_policy){ .max_age_ns = 5 * S };
	r = retention__new(&p);
	add_series(r, "a", 0, 10, 0, 100, -1); /* a-0 at 0 s ... a-9 at 9 s */
	ok(!strcmp(choose(r, 12 * S, out, sizeof(out)), "a-1 a-2 a-3 a-4 a-5 a-6"),
	   "max-age 5 s at 12 s: those before 7 s but the first: '%s'", out);
	ok(!strcmp(choose(r, 100 * S, out, sizeof(out)), "a-7 a-8"),
	   "long after: a live series keeps its first and newest: '%s'", out);
	/* An ended series keeps its first only. */
	add_series(r, "c", 0, 3, 50 * S, 100, 2);
	ok(!strcmp(choose(r, 100 * S, out, sizeof(out)), "c-1 c-2"),
	   "an ended series ages out but for its first: '%s'", out);
	retention__free(r);

	/* --max-disk takes ended series' firsts last, and live ones' never. */
	p = (struct retention_policy){ .max_disk_bytes = 250 };
	r = retention__new(&p);
	add_series(r, "e", 0, 2, 0, 100, 1);	  /* ended: e-0 at 0 s, e-1 at 1 s */
	add_series(r, "l", 0, 2, S / 2, 100, -1); /* live: l-0 at 0.5 s, l-1 at 1.5 s */
	ok(!strcmp(choose(r, 10 * S, out, sizeof(out)), "e-0 e-1"),
	   "400 bytes over 250: e's newest, then its first (listed oldest first): '%s'", out);
	ok(retention__has(r, "l-0") && retention__has(r, "l-1"), "the live series keeps both");
	retention__free(r);

	/* --max-disk 450: oldest first across series, firsts and newests of live ones kept. */
	p = (struct retention_policy){ .max_disk_bytes = 450 };
	r = retention__new(&p);
	add_series(r, "a", 0, 4, 0, 100, -1);	  /* a-0..a-3 at 0..3 s */
	add_series(r, "b", 0, 2, S / 2, 100, -1); /* b-0 at 0.5 s, b-1 at 1.5 s */
	ok(!strcmp(choose(r, 10 * S, out, sizeof(out)), "a-1 a-2"),
	   "600 bytes over 450: a-1, a-2 go (b's first and newest stay): '%s'", out);
	ok(retention__bytes(r) == 400, "400 bytes kept");
	retention__free(r);

	/* A bound below what must stay: nothing more can go, and nothing breaks. */
	p = (struct retention_policy){ .max_disk_bytes = 10 };
	r = retention__new(&p);
	add_series(r, "a", 0, 2, 0, 100, -1);
	ok(!strcmp(choose(r, 10 * S, out, sizeof(out)), ""),
	   "first and newest stay whatever the bound");
	retention__free(r);

	/* Same key after the series ended (an exec of the same comm): a new series with its own first. */
	p = (struct retention_policy){ .keep = 1 };
	r = retention__new(&p);
	add_series(r, "x", 0, 3, 0, 100, 2);
	retention__add(r, "x", "x-new-0", 10 * S, 100, false);
	retention__add(r, "x", "x-new-1", 11 * S, 100, false);
	retention__add(r, "x", "x-new-2", 12 * S, 100, false);
	ok(!strcmp(choose(r, 20 * S, out, sizeof(out)), "x-1 x-new-1"),
	   "an ended series and its successor are two series: '%s'", out);
	retention__free(r);

	/* Ties of time keep the order of writing. */
	p = (struct retention_policy){ .keep = 1 };
	r = retention__new(&p);
	retention__add(r, "t", "t-0", 5 * S, 1, false);
	retention__add(r, "t", "t-1", 5 * S, 1, false);
	retention__add(r, "t", "t-2", 5 * S, 1, false);
	ok(!strcmp(choose(r, 6 * S, out, sizeof(out)), "t-1"), "same time: written order: '%s'",
	   out);
	retention__free(r);

	retention__free(NULL);
	return done_testing();
}
