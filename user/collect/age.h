/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * age.h - the age buckets of live sampled blocks.
 *
 * A profile splits each stack's in-use memory by how long its blocks have
 * been alive, into the buckets of one table (age.c). A sample carries its
 * bucket's lower bound as the numeric label `age` (unit seconds): fixed
 * values, so that samples of the same stack and bucket line up between two
 * dumps and `go tool pprof -base` subtracts them, where an exact age would
 * differ in every dump. Pure code.
 */
#ifndef HEAPTRACE_AGE_H
#define HEAPTRACE_AGE_H

#include <stdint.h>

#define AGE_BUCKETS 7

/* Lower bounds in seconds, ascending; the first is 0, the last open-ended. */
extern const uint64_t age_bucket_start_s[AGE_BUCKETS];

/* The bucket of a block alive for age_ns nanoseconds. */
unsigned age__bucket(uint64_t age_ns);

#endif /* HEAPTRACE_AGE_H */
