// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* The one hash table (user/util/htab.c): lookups, growth, collisions, removal. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/hash.h"
#include "util/htab.h"
#include "tap.h"

#define NR_MANY 200000

struct item {
	uint64_t key;
	uint32_t value;
};

static int eq_calls;

static bool item_eq(const void *entry, const void *key, const void *ctx)
{
	(void)ctx;
	eq_calls++;
	return ((const struct item *)entry)->key == *(const uint64_t *)key;
}

/* Every key on one hash: the table must fall back on eq alone. */
static uint64_t bad_hash(uint64_t key)
{
	(void)key;
	return 42;
}

static struct item *put(struct htab *t, uint64_t hash, uint64_t key, uint32_t value)
{
	bool found;
	struct item *it = htab__insert(t, hash, &key, item_eq, &found);

	if (it && !found)
		*it = (struct item){ key, value };
	return it;
}

static void test_basic(void)
{
	struct htab t;
	struct item *it;
	uint64_t k = 7, absent = 8;
	bool found = true;

	htab__init(&t, sizeof(struct item), NULL);
	ok(htab__find(&t, mix64(k), &k, item_eq) == NULL, "an empty table finds nothing");
	ok(htab__count(&t) == 0, "an empty table counts 0");
	it = htab__insert(&t, mix64(k), &k, item_eq, &found);
	ok(it && !found, "insert adds an absent key");
	ok(it && it->key == 0 && it->value == 0, "a new entry is zeroed");
	it->key = k;
	it->value = 70;
	it = htab__insert(&t, mix64(k), &k, item_eq, &found);
	ok(it && found && it->value == 70, "insert of a present key returns its entry");
	ok(htab__count(&t) == 1, "one entry");
	it = htab__find(&t, mix64(k), &k, item_eq);
	ok(it && it->value == 70, "find returns it");
	ok(htab__find(&t, mix64(absent), &absent, item_eq) == NULL, "an absent key is not found");
	htab__remove(&t, it);
	ok(htab__find(&t, mix64(k), &k, item_eq) == NULL && htab__count(&t) == 0, "removed");
	htab__release(&t);
	ok(htab__count(&t) == 0 && htab__find(&t, mix64(k), &k, item_eq) == NULL,
	   "released: empty");
	ok(put(&t, mix64(k), k, 1) != NULL, "usable again after release");
	htab__release(&t);
}

/* mix64(0) is 0, the empty marker: key 0 must still work. */
static void test_hash_zero(void)
{
	struct htab t;
	uint64_t z = 0, one = 1;
	struct item *it;

	htab__init(&t, sizeof(struct item), NULL);
	ok(put(&t, 0, z, 5) && put(&t, 1, one, 6), "hashes 0 and 1 inserted");
	it = htab__find(&t, 0, &z, item_eq);
	ok(it && it->value == 5, "hash 0 found");
	it = htab__find(&t, 1, &one, item_eq);
	ok(it && it->value == 6, "hash 1 found beside it");
	ok(htab__count(&t) == 2, "two entries");
	htab__release(&t);
}

static void test_many(void)
{
	struct htab t;
	struct item *it;
	size_t pos = 0, seen = 0;
	uint64_t i, sum = 0, want = 0;
	bool good = true;

	htab__init(&t, sizeof(struct item), NULL);
	for (i = 1; i <= NR_MANY && good; i++)
		good = put(&t, mix64(i), i, (uint32_t)i) != NULL;
	ok(good, "%d keys inserted", NR_MANY);
	ok(htab__count(&t) == NR_MANY, "count is %d (%zu)", NR_MANY, htab__count(&t));
	ok(t.cap >= 2 * NR_MANY && (t.cap & (t.cap - 1)) == 0,
	   "grown to a power of two at least twice the count (%zu)", t.cap);
	for (i = 1; i <= NR_MANY && good; i++) {
		it = htab__find(&t, mix64(i), &i, item_eq);
		good = it && it->key == i && it->value == (uint32_t)i;
	}
	ok(good, "every key found after growth");
	eq_calls = 0;
	for (i = NR_MANY + 1; i <= 2 * NR_MANY; i++)
		good = good && !htab__find(&t, mix64(i), &i, item_eq);
	ok(good, "no absent key found");
	ok(eq_calls < NR_MANY / 1000, "32-bit tags: eq seldom called for absent keys (%d)",
	   eq_calls);
	while ((it = htab__next(&t, &pos))) {
		seen++;
		sum += it->key;
	}
	for (i = 1; i <= NR_MANY; i++)
		want += i;
	ok(seen == NR_MANY && sum == want, "iteration visits every entry once");
	/* Remove the odd keys, then check that the even ones are all still reachable. */
	for (i = 1; i <= NR_MANY; i += 2) {
		it = htab__find(&t, mix64(i), &i, item_eq);
		if (it)
			htab__remove(&t, it);
	}
	ok(htab__count(&t) == NR_MANY / 2, "half removed");
	for (i = 1; i <= NR_MANY && good; i++)
		good = (htab__find(&t, mix64(i), &i, item_eq) != NULL) == !(i & 1);
	ok(good, "after removals: the rest found, the removed not");
	htab__clear(&t);
	ok(htab__count(&t) == 0 && !htab__find(&t, mix64(2), &(uint64_t){ 2 }, item_eq), "cleared");
	htab__release(&t);
}

static void test_collisions(void)
{
	struct htab t;
	struct item *it;
	uint64_t i;
	bool good = true;

	htab__init(&t, sizeof(struct item), NULL);
	for (i = 0; i < 100; i++)
		good = good && put(&t, bad_hash(i), i, (uint32_t)(i * 3));
	ok(good && htab__count(&t) == 100, "100 keys on one hash inserted");
	for (i = 0; i < 100 && good; i++) {
		it = htab__find(&t, bad_hash(i), &i, item_eq);
		good = it && it->value == i * 3;
	}
	ok(good, "each found by eq");
	/* Removing from the middle of one long run must not cut the run. */
	for (i = 0; i < 100; i += 3) {
		it = htab__find(&t, bad_hash(i), &i, item_eq);
		if (it)
			htab__remove(&t, it);
	}
	for (i = 0; i < 100 && good; i++)
		good = (htab__find(&t, bad_hash(i), &i, item_eq) != NULL) == (i % 3 != 0);
	ok(good, "removals within a collision run keep the rest reachable");
	/* Neighbouring home slots: runs that merge across the end of the table. */
	htab__release(&t);
	for (i = 0; i < 8; i++)
		good = good && put(&t, 15 - (i & 1), i, (uint32_t)i);
	for (i = 0; i < 8; i += 2) {
		it = htab__find(&t, 15 - (i & 1), &i, item_eq);
		if (it)
			htab__remove(&t, it);
	}
	for (i = 0; i < 8 && good; i++)
		good = (htab__find(&t, 15 - (i & 1), &i, item_eq) != NULL) == (i & 1);
	ok(good, "runs wrapping past the last slot survive removals");
	htab__release(&t);
}

static bool str_eq(const void *entry, const void *key, const void *ctx)
{
	const char *const *strs = ctx;

	return !strcmp(strs[*(const uint32_t *)entry], key);
}

/* The index-map use: entries are indices into the caller's array, eq reads it through ctx. */
static void test_index_map(void)
{
	static const char *const strs[] = { "alpha", "beta", "gamma", "delta" };
	struct htab t;
	uint32_t *e, i;
	bool found, good = true;

	htab__init(&t, sizeof(uint32_t), strs);
	ok(t.slot_size == 8, "a 4-byte entry takes an 8-byte slot");
	ok(htab__reserve(&t, 1000) == 0 && t.cap == 2048, "reserve(1000): 2048 slots");
	for (i = 0; i < 4; i++) {
		e = htab__insert(&t, hash_str(strs[i]), strs[i], str_eq, &found);
		good = good && e && !found;
		if (e)
			*e = i;
	}
	ok(good, "strings inserted");
	e = htab__find(&t, hash_str("gamma"), "gamma", str_eq);
	ok(e && *e == 2, "found by content");
	ok(!htab__find(&t, hash_str("epsilon"), "epsilon", str_eq),
	   "an absent string is not found");
	ok(hash_str("gamma") == hash_bytes("gamma", 5), "hash_str is hash_bytes of the text");
	htab__release(&t);
}

int main(void)
{
	test_basic();
	test_hash_zero();
	test_many();
	test_collisions();
	test_index_map();
	return done_testing();
}
