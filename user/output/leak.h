/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * leak.h - leak suspects from the series of heap profiles of one process.
 *
 * A series keeps, for each stack, its in-use and allocated bytes in every
 * profile of the process (cumulative profiles, oldest first). The analysis
 * is pure: it fits each stack's in-use over time and sorts the stacks into
 *
 *   growing  in-use rises steadily (a good linear fit, nearly every
 *            interval non-decreasing, still rising in the later half,
 *            near its high at the end): a leak suspect;
 *   spike    it came and went: the high is at least twice both ends;
 *   churn    allocated many times what is ever held at once;
 *   flat     large but flat: a full cache, held at about its high;
 *   other    too few profiles, shrinking, or no pattern.
 *
 * A stack that is not growing over the whole series is judged again over
 * its last LEAK_RECENT_POINTS profiles, where a leak that began late shows.
 *
 * The age of a stack's live bytes is estimated from the series alone: the
 * bytes that stay at or above their level of time t from t to the end are
 * taken as allocated at t (bytes of one stack are interchangeable, so this
 * is the youngest the surviving bytes can be). docs/leaks.md gives the
 * method, the thresholds and the limits.
 *
 * Ownership: strings passed in are copied. A report points into its
 * series and lives no longer than it. Errors are negative errno values.
 */
#ifndef HEAPTRACE_LEAK_H
#define HEAPTRACE_LEAK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct pprof_builder;

/* A series is capped at this many profiles: past it, every other one is dropped. */
#define LEAK_MAX_POINTS 64
/* And at this many stacks: later new stacks are counted, not followed. */
#define LEAK_MAX_STACKS 20000
/* Fewer profiles than this decide nothing: every stack is "other". */
#define LEAK_MIN_POINTS 4
/* A stack not growing over the whole series is judged again over its last this many. */
#define LEAK_RECENT_POINTS 16
/* Age buckets of a stack's live bytes kept from the last profile (its `age` labels). */
#define LEAK_AGE_SLOTS 8

enum leak_class {
	LEAK_GROWING,
	LEAK_SPIKE,
	LEAK_CHURN,
	LEAK_FLAT,
	LEAK_OTHER,
};

/* "growing", "spike", "churn", "flat", "other". */
const char *leak__class_name(enum leak_class c);

struct leak_series;

/* A new empty series of process pid (comm may be NULL); NULL when out of memory. */
struct leak_series *leak_series__new(int pid, const char *comm);

/*
 * Starts the series' next profile, taken at time_ns (CLOCK_REALTIME; not
 * before the previous one: -EINVAL). Stacks not added to it hold 0 there.
 */
int leak_series__begin(struct leak_series *s, int64_t time_ns);

/*
 * Adds to the current profile a stack's values: `key` names the stack
 * (the same in every profile), `function` its leaf function, `stack` its
 * frames for a person ("leaf;caller;...;main"). A key given twice in one
 * profile adds up (samples of one stack with different labels).
 */
int leak_series__add(struct leak_series *s, const char *key, const char *function,
		     const char *stack, int64_t inuse_bytes, int64_t alloc_bytes);

/*
 * The sample rate of the profiles (pprof's period; 1 or 0: every
 * allocation), which says how much of a change sampling alone can make.
 */
void leak_series__set_rate(struct leak_series *s, int64_t rate);

/*
 * leak_series__add for a sample whose live blocks are all at least age_s
 * seconds old (a profile's `age` label; < 0: none): the series also keeps,
 * for the current profile, each stack's in-use by age.
 */
int leak_series__add_aged(struct leak_series *s, const char *key, const char *function,
			  const char *stack, int64_t inuse_bytes, int64_t alloc_bytes,
			  int64_t age_s);

/*
 * set_rate + begin + add_aged for every sample of a profile (its period, time, inuse_space,
 * alloc_space, age label).
 */
int leak_series__add_profile(struct leak_series *s, const struct pprof_builder *b);

/* Profiles in the series. */
size_t leak_series__len(const struct leak_series *s);

/* The process a series is of. */
int leak_series__pid(const struct leak_series *s);
const char *leak_series__comm(const struct leak_series *s);

/* leak_series__free(NULL) is a no-op. */
void leak_series__free(struct leak_series *s);

/* What the analysis found for one stack. */
struct leak_finding {
	enum leak_class cls;
	size_t judged;	      /* the last this many profiles of the series were judged */
	const char *function; /* leaf function, "" when unknown */
	const char *stack;    /* "leaf;caller;...;main" */
	/* Over the profiles judged: */
	int64_t inuse_bytes;	   /* in the last one */
	int64_t peak_bytes;	   /* the highest */
	int64_t growth_bytes;	   /* last - first */
	int64_t allocated_bytes;   /* allocated between the first and the last */
	double growth_bytes_per_s; /* the least-squares slope */
	double r2;		   /* of that fit; 0 when in-use is constant */
	double steady;		   /* share of intervals in which in-use did not fall */
	size_t rises;		   /* intervals in which it rose */
	/*
	 * Measured in the last profile, from its age labels (heaptrace's
	 * profiles): in-use by the lower bound of its blocks' age, the
	 * oldest first; n_ages 0 when the profile has no age labels.
	 */
	size_t n_ages;
	int64_t age_s[LEAK_AGE_SLOTS];
	int64_t age_bytes[LEAK_AGE_SLOTS];
	/* Over the whole series: */
	double mean_age_s;    /* estimated mean age of its live bytes */
	double oldest_s;      /* estimated age of its oldest live bytes */
	const int64_t *inuse; /* in-use at each profile */
};

struct leak_report {
	int pid;
	const char *comm;
	size_t npoints;
	const int64_t *times_ns;       /* each profile's time */
	const int64_t *totals;	       /* each profile's in-use, every stack */
	double span_s;		       /* first to last profile */
	struct leak_finding *findings; /* suspects first (by growth rate), then by in-use */
	size_t nfindings;
	size_t nsuspects; /* findings[0..nsuspects) are LEAK_GROWING */
	size_t stacks_not_followed;
};

/* Analyses the series into r (zeroed first). Returns 0 or -ENOMEM. */
int leak__analyze(const struct leak_series *s, struct leak_report *r);

/* Frees what leak__analyze allocated; r is zeroed. */
void leak_report__release(struct leak_report *r);

/* One line about the top suspect ("grow_forever +1.0 MiB/s"), "" when none. */
void leak_report__top(const struct leak_report *r, char *buf, size_t len);

/* The report for a person: the suspects, then the other stacks by class. */
int leak_report__write_text(const struct leak_report *r, FILE *f);

/*
 * JSON of several processes' reports: {"processes": [...], "suspects":
 * [...]} where each suspect carries pid, comm, function, stack,
 * inuse_bytes, growth_bytes_per_s, r2, steady, mean_age_s; each process
 * also lists its other findings and its in-use series.
 */
int leak_report__write_json(const struct leak_report *const *r, size_t n, FILE *f);

/* Writes s as a JSON string (quotes included). */
void leak__json_string(FILE *f, const char *s);

#endif /* HEAPTRACE_LEAK_H */
