/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * htab.h - the one hash table: open addressing with linear probing over
 * fixed-size entries that the table holds itself, found by a 64-bit hash
 * the caller computes (mix64() and friends, util/hash.h) and an equality
 * callback the caller supplies.
 *
 * An entry is whatever the caller needs: a uint32_t index into an array
 * it keeps (pprof's strings, functions, locations), a pointer to an object
 * it owns (the symbolizer's caches), or the record itself (a sampled
 * call's counters). Each slot keeps 32 bits of the hash beside the entry,
 * so a probe compares those and calls `eq` only on a match: for distinct
 * keys about once in 2^32, so in practice once per successful lookup. An
 * entry of at most 4 bytes takes an 8-byte slot and is 4-byte aligned;
 * larger ones are 8-byte aligned, after 8 bytes of slot header.
 *
 *	struct htab t;
 *	htab__init(&t, sizeof(struct item), ctx);
 *	it = htab__insert(&t, hash, &key, item_eq, &found);
 *	if (!it) return -ENOMEM;
 *	if (!found) *it = (struct item){...};
 *	...
 *	htab__release(&t);
 *
 * Invariants and contract:
 *  - At most half the slots are used (a power of two, at least 16), so
 *    probe runs stay short; the table doubles on insert when needed.
 *  - Entry pointers returned by htab__find, htab__insert and htab__next
 *    stay valid until the next htab__insert, htab__reserve, htab__remove,
 *    htab__clear or htab__release: a growth or a removal moves entries.
 *    Reserve first (htab__reserve) when several must be held at once or an
 *    insert must not fail.
 *  - `eq(entry, key, ctx)` says whether a stored entry is the one `key`
 *    names; `key` is only ever passed through to it, so it may be any type.
 *    Every call on one table passes the same eq (it is a parameter rather
 *    than a field so that lookups inline it: these are hot paths).
 *    Slots keep the hash's low 32 bits (0 marks an empty slot), which also
 *    pick its home slot: give hashes whose low bits are mixed (mix64 and
 *    the hashes of hash.h). A hash never decides equality, `eq` does.
 *  - The table owns its slots, not what entries point to: release those
 *    (iterating with htab__next) before htab__release.
 *  - Iteration order is the slot order: fixed for a given sequence of
 *    inserts and removals, unrelated to insertion order.
 *
 * The fields are private; a zeroed struct is not usable, call htab__init.
 */
#ifndef HEAPTRACE_HTAB_H
#define HEAPTRACE_HTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Whether `entry` (in the table) is the one `key` names; ctx is htab__init's. */
typedef bool (*htab_eq_fn)(const void *entry, const void *key, const void *ctx);

struct htab {
	unsigned char *slots; /* cap slots: a 32-bit tag (0: empty), then the entry */
	size_t cap;	      /* a power of two, or 0 before the first insert */
	size_t nr;	      /* entries in use */
	size_t slot_size;     /* bytes per slot, a multiple of 8 */
	size_t entry_offset;  /* 4 for entries of at most 4 bytes, else 8 */
	size_t entry_size;
	const void *ctx;
};

/* An empty table of entries of `entry_size` bytes (> 0); allocates nothing. */
void htab__init(struct htab *t, size_t entry_size, const void *ctx);

/*
 * Makes room for `n` entries in all, so that inserts up to that count
 * neither fail nor move entries. Returns 0 or -ENOMEM (the table unchanged).
 */
int htab__reserve(struct htab *t, size_t n);

/*
 * The entry `key` names, or NULL. Inline, with `eq` a parameter, so that
 * a call with a known function inlines the whole probe.
 */
static inline void *htab__find(const struct htab *t, uint64_t hash, const void *key, htab_eq_fn eq);

/*
 * The entry `key` names, adding it when absent: a new entry is zeroed for
 * the caller to fill in (the table copies nothing from `key`). *found (when
 * not NULL) tells which. Returns NULL when out of memory (the table
 * unchanged).
 */
static inline void *htab__insert(struct htab *t, uint64_t hash, const void *key, htab_eq_fn eq,
				 bool *found);

/*
 * Removes `entry` (a pointer the table returned, still valid), shifting
 * later members of its probe run back: no tombstones, so lookups after
 * many removals are as fast as before them.
 */
void htab__remove(struct htab *t, void *entry);

/* The number of entries. */
size_t htab__count(const struct htab *t);

/*
 * Iteration: start with *pos = 0; each call returns the next entry, or
 * NULL at the end. The table must not change during a walk.
 */
void *htab__next(const struct htab *t, size_t *pos);

/* Removes every entry, keeping the slots' memory. */
void htab__clear(struct htab *t);

/* Frees the slots; the table is then empty and usable again. */
void htab__release(struct htab *t);

/* ---- inline implementation; not part of the interface ---- */

/*
 * The low 32 bits of the hash (mix64's are as good as any), 0 being kept
 * for empty slots; the home slot is tag & mask.
 */
static inline uint32_t htab_tag_(uint64_t hash)
{
	uint32_t tag = (uint32_t)hash;

	return tag ? tag : 1;
}

/*
 * The slot holding `key`, or the empty slot that ends its probe run (tag
 * 0); the table has slots.
 */
static inline unsigned char *htab_probe_(const struct htab *t, uint32_t tag, const void *key,
					 htab_eq_fn eq)
{
	size_t mask = t->cap - 1, i;
	unsigned char *s;
	uint32_t st;

	for (i = tag & mask;; i = (i + 1) & mask) {
		s = t->slots + i * t->slot_size;
		st = *(const uint32_t *)s;
		if (!st || (st == tag && eq(s + t->entry_offset, key, t->ctx)))
			return s;
	}
}

static inline void *htab__find(const struct htab *t, uint64_t hash, const void *key, htab_eq_fn eq)
{
	unsigned char *s;

	if (!t->cap)
		return NULL;
	s = htab_probe_(t, htab_tag_(hash), key, eq);
	return *(const uint32_t *)s ? s + t->entry_offset : NULL;
}

/* Out of line: the rare part of an insert, filling in the empty `slot` a probe ended at. */
void *htab_add_(struct htab *t, unsigned char *slot, uint32_t tag);

static inline void *htab__insert(struct htab *t, uint64_t hash, const void *key, htab_eq_fn eq,
				 bool *found)
{
	uint32_t tag = htab_tag_(hash);
	unsigned char *s;

	/* Grown before probing, so one probe both looks up and finds the free slot. */
	if ((t->nr + 1) * 2 > t->cap && htab__reserve(t, t->nr + 1))
		return NULL;
	s = htab_probe_(t, tag, key, eq);
	if (found)
		*found = *(const uint32_t *)s != 0;
	if (*(const uint32_t *)s)
		return s + t->entry_offset;
	return htab_add_(t, s, tag);
}

#endif /* HEAPTRACE_HTAB_H */
