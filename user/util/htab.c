// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * htab.c - see htab.h.
 *
 * A slot is a 32-bit tag, then the entry: at offset 4 when it takes at most
 * 4 bytes (an index: 8-byte slots, as dense as a hand-written table of
 * hash + index), else at offset 8. The tag is the hash's low half, never 0 (0
 * marks an empty slot), and also gives the home slot, so that growth and
 * removal need no hash recomputed. Lookups are inline (htab.h): the
 * table is a hot path (pprof's interning, per-sample counters).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/htab.h"

#define HTAB_MIN_CAP 16

static inline unsigned char *slot_at(const struct htab *t, size_t i)
{
	return t->slots + i * t->slot_size;
}

static inline uint32_t slot_tag(const unsigned char *slot)
{
	return *(const uint32_t *)slot;
}

void htab__init(struct htab *t, size_t entry_size, const void *ctx)
{
	size_t offset = entry_size <= sizeof(uint32_t) ? sizeof(uint32_t) : sizeof(uint64_t);

	*t = (struct htab){
		.entry_offset = offset,
		.slot_size = (offset + entry_size + sizeof(uint64_t) - 1) & ~(sizeof(uint64_t) - 1),
		.entry_size = entry_size,
		.ctx = ctx,
	};
}

/* Moves every entry into `ncap` fresh slots, where each probes from its tag. */
static int rehash(struct htab *t, size_t ncap)
{
	size_t i, j, mask = ncap - 1, size = t->slot_size;
	unsigned char *slots, *from;

	if (ncap > SIZE_MAX / size)
		return -ENOMEM;
	slots = calloc(ncap, size);
	if (!slots)
		return -ENOMEM;
	for (i = 0; i < t->cap; i++) {
		from = slot_at(t, i);
		if (!slot_tag(from))
			continue;
		for (j = slot_tag(from) & mask; slot_tag(slots + j * size); j = (j + 1) & mask)
			;
		memcpy(slots + j * size, from, size);
	}
	free(t->slots);
	t->slots = slots;
	t->cap = ncap;
	return 0;
}

int htab__reserve(struct htab *t, size_t n)
{
	size_t ncap = t->cap ? t->cap : HTAB_MIN_CAP;

	if (n > ((size_t)1 << 31))
		return -ENOMEM;
	while (ncap < 2 * n)
		ncap *= 2;
	if (ncap == t->cap)
		return 0;
	return rehash(t, ncap);
}

void *htab_add_(struct htab *t, unsigned char *slot, uint32_t tag)
{
	*(uint32_t *)slot = tag;
	memset(slot + t->entry_offset, 0, t->entry_size);
	t->nr++;
	return slot + t->entry_offset;
}

void htab__remove(struct htab *t, void *entry)
{
	size_t mask = t->cap - 1, size = t->slot_size;
	size_t hole = (size_t)((unsigned char *)entry - t->entry_offset - t->slots) / size;
	size_t next, home;
	unsigned char *s;

	for (next = (hole + 1) & mask; slot_tag(s = slot_at(t, next)); next = (next + 1) & mask) {
		home = slot_tag(s) & mask;
		/* Move it back unless its home lies within (hole, next]: it would be lost. */
		if (((next - home) & mask) >= ((next - hole) & mask)) {
			memcpy(slot_at(t, hole), s, size);
			hole = next;
		}
	}
	*(uint32_t *)slot_at(t, hole) = 0;
	t->nr--;
}

size_t htab__count(const struct htab *t)
{
	return t->nr;
}

void *htab__next(const struct htab *t, size_t *pos)
{
	unsigned char *s;

	for (; *pos < t->cap; (*pos)++) {
		s = slot_at(t, *pos);
		if (slot_tag(s)) {
			(*pos)++;
			return s + t->entry_offset;
		}
	}
	return NULL;
}

void htab__clear(struct htab *t)
{
	if (t->slots)
		memset(t->slots, 0, t->cap * t->slot_size);
	t->nr = 0;
}

void htab__release(struct htab *t)
{
	free(t->slots);
	t->slots = NULL;
	t->cap = 0;
	t->nr = 0;
}
