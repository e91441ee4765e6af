/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * retention.h - which of the profiles heaptrace wrote to remove, so that a
 * directory watched for weeks stays bounded (--keep, --max-age,
 * --max-disk). Pure bookkeeping: it knows names, series, times and sizes,
 * and never touches a file; the file sink removes what it is told to.
 *
 * Only files added here are ever chosen: those this run wrote. A series is
 * one process image (its profiles are cumulative since tracing began). Its
 * first profile, the base for `-base` against the start, is never chosen
 * by --keep or --max-age; while the series is live (no final profile yet)
 * neither is its newest.
 *
 *   --keep N       each series keeps its N newest profiles, besides its first
 *   --max-age D    profiles older than D go
 *   --max-disk S   oldest first, until the files kept total at most S bytes;
 *                  when only first profiles are left to take, ended series'
 *                  first profiles go too (oldest first), live ones' never
 *
 * Chosen files are returned oldest first and forgotten.
 */
#ifndef HEAPTRACE_RETENTION_H
#define HEAPTRACE_RETENTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct retention_policy {
	uint32_t keep;		 /* 0: no bound */
	uint64_t max_age_ns;	 /* 0: no bound */
	uint64_t max_disk_bytes; /* 0: no bound */
};

struct retention;

/* NULL when out of memory. */
struct retention *retention__new(const struct retention_policy *p);

/*
 * Records a file just written: `name` (copied) of series `series` (any
 * string naming one process image, copied), made at `time_ns`, `size`
 * bytes; `final` ends the series. Returns 0 or -ENOMEM.
 */
int retention__add(struct retention *r, const char *series, const char *name, int64_t time_ns,
		   uint64_t size, bool final);

/* True when this run wrote a file named `name` that is still kept. */
bool retention__has(const struct retention *r, const char *name);

/*
 * The files to remove now, oldest first: *names is a new array of *nr
 * malloc'ed strings (free them with retention__free_names). Returns 0 or
 * -ENOMEM (nothing chosen).
 */
int retention__choose(struct retention *r, int64_t now_ns, char ***names, size_t *nr);

void retention__free_names(char **names, size_t nr);

/* Bytes of the files kept. */
uint64_t retention__bytes(const struct retention *r);

/* Files kept. */
size_t retention__count(const struct retention *r);

/* retention__free(NULL) is a no-op. */
void retention__free(struct retention *r);

#endif /* HEAPTRACE_RETENTION_H */
