/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * pushname.h - the application name a profile is pushed under, as
 * Pyroscope's /ingest reads its `name` parameter: SERVICE{key=value,...}.
 *
 * The server refuses (400) a name whose labels break its rules: label names
 * of letters, digits and '_' not starting with a digit, names starting with
 * "__" reserved, at most 30 labels (service_name included), values of at
 * most 2048 bytes. The user's labels are checked when given
 * (pushname__valid_label); what comes from a process (its comm, its cgroup)
 * is made to fit instead: bytes that are not UTF-8 become U+FFFD,
 * characters the name syntax cannot carry become '_', and labels past the
 * limit are left out (counted, so the caller can say so).
 */
#ifndef HEAPTRACE_PUSHNAME_H
#define HEAPTRACE_PUSHNAME_H

#include <stdbool.h>
#include <stddef.h>

/* Pyroscope's default max_label_names_per_series. */
#define PUSHNAME_MAX_LABELS 30
/* Its default max_label_value_length. */
#define PUSHNAME_MAX_VALUE 2048

struct strbuf;

/* One label, key and value as they come (made to fit by pushname__format). */
struct push_label {
	const char *key;
	const char *value;
};

/* Whether `kv` is KEY=VALUE with a valid, unreserved KEY and a VALUE the syntax carries. */
bool pushname__valid_label(const char *kv);

/*
 * Appends SERVICE{service_name-less labels} to sb: `service` made to fit
 * (letters, digits, '.', '-' and '_'; others become '_'), then the labels
 * in order, each key and value made to fit, a later duplicate key dropped,
 * and at most PUSHNAME_MAX_LABELS - 1 of them (service_name is the
 * first). *dropped (if not NULL) counts the labels left out. Returns 0 or
 * -ENOMEM.
 */
int pushname__format(struct strbuf *sb, const char *service, const struct push_label *labels,
		     size_t nr, size_t *dropped);

#endif /* HEAPTRACE_PUSHNAME_H */
