// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/hash.h"
#include "collect/samples.h"

struct stack_entry {
	uint64_t hash;
	struct ht_agg_val val;
	struct ht_stack stack;
};

/* seq -> index of its stack entry; open addressing, deletion by backward shift. */
struct seq_slot {
	uint64_t seq;  /* 0 = empty (BPF sequence numbers start at 1) */
	uint64_t size; /* the block's, once live */
	uint32_t stack;
	uint32_t live; /* its call returned a block (not only its stack is known) */
};

struct sample_store {
	struct stack_entry **stacks; /* interned, in insertion order */
	uint32_t nr_stacks, max_stacks;
	uint32_t *stack_index; /* open addressing over hashes -> stacks[] index + 1 */
	uint32_t stack_index_cap;
	struct seq_slot *seqs;
	uint32_t nr_seqs, max_seqs, seq_cap;
	uint64_t lost;
};

/* A power of two at least twice n, so probes stay short. */
static uint32_t table_size(uint32_t n)
{
	uint32_t cap = 16;

	while (cap < 2 * (uint64_t)n && cap < (1u << 31))
		cap <<= 1;
	return cap;
}

struct sample_store *samples__new(uint32_t max_stacks, uint32_t max_seqs)
{
	struct sample_store *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->max_stacks = max_stacks;
	s->max_seqs = max_seqs;
	s->stack_index_cap = table_size(max_stacks);
	s->seq_cap = table_size(max_seqs);
	s->stacks = calloc(max_stacks ? max_stacks : 1, sizeof(*s->stacks));
	s->stack_index = calloc(s->stack_index_cap, sizeof(*s->stack_index));
	s->seqs = calloc(s->seq_cap, sizeof(*s->seqs));
	if (!s->stacks || !s->stack_index || !s->seqs) {
		samples__free(s);
		return NULL;
	}
	return s;
}

static uint32_t intern_stack(struct sample_store *s, uint32_t tgid, const uint64_t *pcs, uint32_t n,
			     int *err)
{
	uint64_t h = mix64(tgid + 0x9e3779b97f4a7c15ull);
	uint32_t i, slot, mask = s->stack_index_cap - 1;
	struct stack_entry *e;

	for (i = 0; i < n; i++)
		h = mix64(h ^ pcs[i]) + i;
	for (slot = (uint32_t)h & mask; s->stack_index[slot]; slot = (slot + 1) & mask) {
		e = s->stacks[s->stack_index[slot] - 1];
		if (e->hash == h && e->stack.depth == n &&
		    !memcmp(e->stack.frames, pcs, n * sizeof(*pcs)))
			return s->stack_index[slot] - 1;
	}
	if (s->nr_stacks == s->max_stacks) {
		*err = -ENOSPC;
		return 0;
	}
	e = calloc(1, sizeof(*e));
	if (!e) {
		*err = -ENOMEM;
		return 0;
	}
	e->hash = h;
	e->stack.tgid = tgid;
	e->stack.depth = n;
	memcpy(e->stack.frames, pcs, n * sizeof(*pcs));
	s->stacks[s->nr_stacks] = e;
	s->stack_index[slot] = ++s->nr_stacks;
	*err = 0;
	return s->nr_stacks - 1;
}

static struct seq_slot *find_seq(struct sample_store *s, uint64_t seq)
{
	uint32_t mask = s->seq_cap - 1, slot;

	for (slot = (uint32_t)mix64(seq) & mask; s->seqs[slot].seq; slot = (slot + 1) & mask)
		if (s->seqs[slot].seq == seq)
			return &s->seqs[slot];
	return NULL;
}

/* Removes a slot and shifts later members of its probe run back over it. */
static void remove_seq(struct sample_store *s, struct seq_slot *victim)
{
	uint32_t mask = s->seq_cap - 1, hole = (uint32_t)(victim - s->seqs), next, home;

	for (next = (hole + 1) & mask; s->seqs[next].seq; next = (next + 1) & mask) {
		home = (uint32_t)mix64(s->seqs[next].seq) & mask;
		/* Move it if its home is not within (hole, next]. */
		if (((next - home) & mask) >= ((next - hole) & mask)) {
			s->seqs[hole] = s->seqs[next];
			hole = next;
		}
	}
	s->seqs[hole].seq = 0;
	s->nr_seqs--;
}

/* A new seq (the caller checked that it is absent and that there is room). */
static struct seq_slot *add_seq(struct sample_store *s, uint64_t seq, uint32_t stack)
{
	uint32_t mask = s->seq_cap - 1, slot;

	for (slot = (uint32_t)mix64(seq) & mask; s->seqs[slot].seq; slot = (slot + 1) & mask)
		;
	s->seqs[slot] = (struct seq_slot){.seq = seq, .stack = stack};
	s->nr_seqs++;
	return &s->seqs[slot];
}

int samples__add_stack(struct sample_store *s, uint32_t tgid, uint64_t seq, const uint64_t *pcs,
		       uint32_t n)
{
	uint32_t idx;
	int err = 0;

	if (n > HT_MAX_STACK_DEPTH)
		n = HT_MAX_STACK_DEPTH;
	if (!seq || s->nr_seqs == s->max_seqs || find_seq(s, seq)) {
		s->lost++;
		return -ENOSPC;
	}
	idx = intern_stack(s, tgid, pcs, n, &err);
	if (err) {
		s->lost++;
		return err;
	}
	add_seq(s, seq, idx);
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
	uint32_t i, idx;
	int err, ret = 0;

	for (i = 0; i < parent->seq_cap; i++) {
		const struct seq_slot *ps = &parent->seqs[i];
		const struct stack_entry *pe;
		struct stack_entry *e;
		struct seq_slot *slot;

		if (!ps->seq || !ps->live)
			continue;
		if (s->nr_seqs == s->max_seqs || find_seq(s, ps->seq)) {
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
		e = s->stacks[idx];
		e->val.inherited_objects++;
		e->val.inherited_bytes += ps->size;
		slot = add_seq(s, ps->seq, idx);
		slot->live = 1;
		slot->size = ps->size;
	}
	return ret;
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
	free(s->stack_index);
	free(s->seqs);
	free(s);
}
