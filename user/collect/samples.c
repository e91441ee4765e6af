// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/clock.h"
#include "util/hash.h"
#include "util/htab.h"
#include "collect/samples.h"

struct stack_entry {
	struct ht_agg_val val;
	struct ht_stack stack;
};

/* A sampled call, in the seq table (keyed by seq). */
struct seq_slot {
	uint64_t seq;  /* BPF sequence numbers start at 1 */
	uint64_t size; /* the block's, once live */
	uint32_t stack;
	uint32_t live;	  /* its call returned a block (not only its stack is known) */
	uint64_t time_ns; /* CLOCK_MONOTONIC when the daemon saw it returned, for its age */
};

struct sample_store {
	struct stack_entry **stacks; /* interned, in insertion order */
	uint32_t nr_stacks, max_stacks;
	struct htab stack_index; /* uint32_t index into stacks; ctx: the store */
	struct htab seqs;	 /* struct seq_slot */
	uint32_t max_seqs;
	uint64_t lost;
};

struct stack_key {
	uint32_t tgid;
	uint32_t n;
	const uint64_t *pcs;
};

static bool stack_eq(const void *entry, const void *key, const void *ctx)
{
	const struct sample_store *s = ctx;
	const struct stack_entry *e = s->stacks[*(const uint32_t *)entry];
	const struct stack_key *k = key;

	return e->stack.tgid == k->tgid && e->stack.depth == k->n &&
	       !memcmp(e->stack.frames, k->pcs, k->n * sizeof(*k->pcs));
}

static bool seq_eq(const void *entry, const void *key, const void *ctx)
{
	(void)ctx;
	return ((const struct seq_slot *)entry)->seq == *(const uint64_t *)key;
}

/*
 * The stack table is sized for its bound up front. The seq table grows with
 * the calls pending or live (up to max_seqs): it is probed on every event,
 * and sized for a million entries it would make each probe a cache miss.
 */
struct sample_store *samples__new(uint32_t max_stacks, uint32_t max_seqs)
{
	struct sample_store *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->max_stacks = max_stacks;
	s->max_seqs = max_seqs;
	htab__init(&s->stack_index, sizeof(uint32_t), s);
	htab__init(&s->seqs, sizeof(struct seq_slot), NULL);
	s->stacks = calloc(max_stacks ? max_stacks : 1, sizeof(*s->stacks));
	if (!s->stacks || htab__reserve(&s->stack_index, max_stacks)) {
		samples__free(s);
		return NULL;
	}
	return s;
}

static uint32_t intern_stack(struct sample_store *s, uint32_t tgid, const uint64_t *pcs, uint32_t n,
			     int *err)
{
	struct stack_key key = { tgid, n, pcs };
	uint64_t h = hash_u64s(mix64(tgid + 0x9e3779b97f4a7c15ull), pcs, n);
	struct stack_entry *e;
	uint32_t *idx;
	bool found;

	/* Full: only a known stack is counted (and the table, sized for the bound, never grows). */
	if (s->nr_stacks == s->max_stacks) {
		idx = htab__find(&s->stack_index, h, &key, stack_eq);
		*err = idx ? 0 : -ENOSPC;
		return idx ? *idx : 0;
	}
	idx = htab__insert(&s->stack_index, h, &key, stack_eq, &found);
	if (!idx) {
		*err = -ENOMEM;
		return 0;
	}
	if (found) {
		*err = 0;
		return *idx;
	}
	/* A new entry is only filled in on success: take it out again on failure. */
	e = calloc(1, sizeof(*e));
	if (!e) {
		*err = -ENOMEM;
		htab__remove(&s->stack_index, idx);
		return 0;
	}
	e->stack.tgid = tgid;
	e->stack.depth = n;
	memcpy(e->stack.frames, pcs, n * sizeof(*pcs));
	*idx = s->nr_stacks;
	s->stacks[s->nr_stacks++] = e;
	*err = 0;
	return *idx;
}

static struct seq_slot *find_seq(struct sample_store *s, uint64_t seq)
{
	return htab__find(&s->seqs, mix64(seq), &seq, seq_eq);
}

static void remove_seq(struct sample_store *s, struct seq_slot *victim)
{
	htab__remove(&s->seqs, victim);
}

/* A new seq (the caller checked that it is absent and that there is room); NULL: no memory. */
static struct seq_slot *add_seq(struct sample_store *s, uint64_t seq, uint32_t stack)
{
	struct seq_slot *slot = htab__insert(&s->seqs, mix64(seq), &seq, seq_eq, NULL);

	if (slot)
		*slot = (struct seq_slot){ .seq = seq, .stack = stack };
	return slot;
}

int samples__add_stack(struct sample_store *s, uint32_t tgid, uint64_t seq, const uint64_t *pcs,
		       uint32_t n)
{
	uint32_t idx;
	int err = 0;

	if (n > HT_MAX_STACK_DEPTH)
		n = HT_MAX_STACK_DEPTH;
	if (!seq || htab__count(&s->seqs) == s->max_seqs || find_seq(s, seq)) {
		s->lost++;
		return -ENOSPC;
	}
	idx = intern_stack(s, tgid, pcs, n, &err);
	if (err) {
		s->lost++;
		return err;
	}
	if (!add_seq(s, seq, idx)) {
		s->lost++;
		return -ENOMEM;
	}
	return 0;
}

int samples__add_alloc(struct sample_store *s, uint64_t seq, uint64_t addr, uint64_t size)
{
	struct seq_slot *slot = find_seq(s, seq);
	struct stack_entry *e;

	if (!slot) {
		/* Its stack was dropped (counted then): nothing to count now. */
		return -ENOENT;
	}
	if (!addr) {
		remove_seq(s, slot);
		return 0;
	}
	e = s->stacks[slot->stack];
	e->val.alloc_objects++;
	e->val.alloc_bytes += size;
	slot->live = 1;
	slot->size = size;
	/* The event lags the call by at most a loop turn (50 ms): enough for an age. */
	slot->time_ns = clock__mono_ns();
	return 0;
}

int samples__add_free(struct sample_store *s, uint64_t seq, uint64_t size)
{
	struct seq_slot *slot = find_seq(s, seq);
	struct stack_entry *e;

	if (!slot)
		return -ENOENT;
	e = s->stacks[slot->stack];
	e->val.free_objects++;
	e->val.free_bytes += size;
	remove_seq(s, slot);
	return 0;
}

int samples__inherit(struct sample_store *s, uint32_t tgid, const struct sample_store *parent)
{
	const struct seq_slot *ps;
	size_t pos = 0;
	uint32_t idx;
	int err, ret = 0;

	while ((ps = htab__next(&parent->seqs, &pos))) {
		const struct stack_entry *pe;
		struct stack_entry *e;
		struct seq_slot *slot;

		if (!ps->live)
			continue;
		if (htab__count(&s->seqs) == s->max_seqs || find_seq(s, ps->seq)) {
			s->lost++;
			ret = -ENOSPC;
			continue;
		}
		pe = parent->stacks[ps->stack];
		idx = intern_stack(s, tgid, (const uint64_t *)pe->stack.frames, pe->stack.depth,
				   &err);
		if (err) {
			s->lost++;
			ret = err;
			continue;
		}
		slot = add_seq(s, ps->seq, idx);
		if (!slot) {
			s->lost++;
			ret = -ENOMEM;
			continue;
		}
		e = s->stacks[idx];
		e->val.inherited_objects++;
		e->val.inherited_bytes += ps->size;
		slot->live = 1;
		slot->size = ps->size;
		slot->time_ns = ps->time_ns;
	}
	return ret;
}

int samples__for_each_live(const struct sample_store *s, loader_live_fn fn, void *ctx)
{
	const struct seq_slot *slot;
	size_t pos = 0;
	int ret;

	while ((slot = htab__next(&s->seqs, &pos))) {
		if (!slot->live)
			continue;
		ret = fn(&s->stacks[slot->stack]->stack, slot->size, slot->time_ns, ctx);
		if (ret)
			return ret;
	}
	return 0;
}

int samples__for_each(struct sample_store *s, loader_agg_fn fn, void *ctx)
{
	uint32_t i;
	int ret;

	for (i = 0; i < s->nr_stacks; i++) {
		if (!s->stacks[i]->val.alloc_objects && !s->stacks[i]->val.inherited_objects)
			continue;
		ret = fn(&s->stacks[i]->val, &s->stacks[i]->stack, ctx);
		if (ret)
			return ret;
	}
	return 0;
}

uint64_t samples__lost(const struct sample_store *s)
{
	return s->lost;
}

void samples__free(struct sample_store *s)
{
	uint32_t i;

	if (!s)
		return;
	for (i = 0; i < s->nr_stacks; i++)
		free(s->stacks[i]);
	free(s->stacks);
	htab__release(&s->stack_index);
	htab__release(&s->seqs);
	free(s);
}
