/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * sampler.h - the parts of libheaptrace-sampler.so shared by its files
 * (docs/sampler.md). Nothing here is exported from the library.
 */
#ifndef HEAPTRACE_PRELOAD_SAMPLER_H
#define HEAPTRACE_PRELOAD_SAMPLER_H

#include <stddef.h>
#include <stdint.h>

#define HT_LIKELY(x)   __builtin_expect(!!(x), 1)
#define HT_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define HT_EXPORT      __attribute__((visibility("default")))
#define HT_TLS	       __thread __attribute__((tls_model("initial-exec")))

/* Bytes before every sampled user pointer: the tag, then the real base. */
#define HT_PREFIX 16
#define HT_PAGE	  4096UL

/*
 * The gate, in .probes: both USDT semaphores (the kernel adds 1 to one for
 * each uprobe attached with its ref_ctr_offset) and the number of live
 * blocks that the real free must not see (sampled ones and bootstrap
 * ones). Each wrapper reads one field of it, or the whole word, once.
 */
union ht_gate {
	struct {
		unsigned short alloc_sem;
		unsigned short free_sem;
		uint32_t live;
	};
	uint64_t word;
};
extern union ht_gate ht_gate;

static inline unsigned short ht_alloc_sem(void)
{
	return __atomic_load_n(&ht_gate.alloc_sem, __ATOMIC_RELAXED);
}

static inline uint32_t ht_live(void)
{
	return __atomic_load_n(&ht_gate.live, __ATOMIC_RELAXED);
}

static inline uint64_t ht_gate_word(void)
{
	return __atomic_load_n(&ht_gate.word, __ATOMIC_RELAXED);
}

static inline void ht_live_add(int d)
{
	__atomic_fetch_add(&ht_gate.live, (uint32_t)d, __ATOMIC_RELAXED);
}

/* The real allocator (real.c): dlsym(RTLD_NEXT) on first use. */
struct ht_real {
	void *(*malloc)(size_t);
	void *(*calloc)(size_t, size_t);
	void *(*realloc)(void *, size_t);
	void (*free)(void *);
	void *(*memalign)(size_t, size_t);
	size_t (*usable)(void *);
	int (*posix_memalign)(void **, size_t, size_t);
	void *(*aligned_alloc)(size_t, size_t);
	void *(*valloc)(size_t);
	void *(*pvalloc)(size_t);
	void *(*reallocarray)(void *, size_t, size_t);
};
extern struct ht_real ht_real;

int ht_bootstrap_owns(const void *p);
size_t ht_bootstrap_size(const void *p);
void ht_bootstrap_release(void *p);

/* Per-process settings (rate.c), set by the constructor. */
struct ht_config {
	uint64_t rate; /* mean bytes between samples; <= 1: every allocation */
	uint64_t secret;
	size_t page;
	int ready;
};
extern struct ht_config ht_config;

/* Per-thread sampling state. */
struct ht_thread {
	uint64_t left; /* bytes until the next sample */
	uint64_t rng;
	unsigned char seeded;
	unsigned char busy; /* inside the sampler: nested calls go straight through */
};
extern HT_TLS struct ht_thread ht_self;

int ht_should_sample(size_t size);
uint64_t ht_weight(size_t size);
void ht_reseed_thread(void);

/* Sampled blocks (block.c). */
void *ht_sampled_alloc(size_t size, size_t align, int zero);
/* What a block is to us (ht_sampled_base). */
enum { HT_BLOCK_NONE, HT_BLOCK_SAMPLED, HT_BLOCK_QUIET };
int ht_sampled_base(const void *p, void **base);
void ht_sampled_release(void *p, void *base, int kind);
void *ht_sampled_resize(void *p, void *base, int kind, size_t size, int sample);
size_t ht_sampled_usable(const void *p, void *base);

#endif /* HEAPTRACE_PRELOAD_SAMPLER_H */
