// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * real.c - the allocator underneath: the next definitions of malloc & co.
 * in the lookup order (dlsym RTLD_NEXT), so that a program linked with
 * jemalloc or tcmalloc keeps its own allocator.
 *
 * Every pointer starts as a stub that resolves all of them and then calls
 * the real function, so the wrappers never test for NULL. dlsym itself may
 * allocate; while this thread is inside it, the stubs hand out blocks of a
 * small static pool instead, which are never passed to the real free.
 */
#include <dlfcn.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "../sampler.h"

#define POOL_SIZE (64 * 1024)

static HT_TLS int in_dlsym;
static _Alignas(4096) char pool[POOL_SIZE];
static size_t pool_used;

static void *first_malloc(size_t n);
static void *first_calloc(size_t n, size_t m);
static void *first_realloc(void *p, size_t n);
static void first_free(void *p);
static void *first_memalign(size_t align, size_t n);
static size_t first_usable(void *p);
static int first_posix_memalign(void **out, size_t align, size_t n);
static void *first_aligned_alloc(size_t align, size_t n);
static void *first_valloc(size_t n);
static void *first_pvalloc(size_t n);
static void *first_reallocarray(void *p, size_t n, size_t m);

struct ht_real ht_real = {
	.malloc = first_malloc,
	.calloc = first_calloc,
	.realloc = first_realloc,
	.free = first_free,
	.memalign = first_memalign,
	.usable = first_usable,
	.posix_memalign = first_posix_memalign,
	.aligned_alloc = first_aligned_alloc,
	.valloc = first_valloc,
	.pvalloc = first_pvalloc,
	.reallocarray = first_reallocarray,
};

/* Pool blocks: size_t size, padding to 16, then the block (aligned as asked). */
static void *pool_alloc(size_t n, size_t align)
{
	size_t need, start, at;

	if (align < 16)
		align = 16;
	if (n > POOL_SIZE || align > 4096)
		return NULL;
	need = (n + 16 + align + 15) & ~(size_t)15;
	start = __atomic_fetch_add(&pool_used, need, __ATOMIC_RELAXED);
	if (start + need > POOL_SIZE)
		return NULL;
	at = ((uintptr_t)pool + start + 16 + align - 1) & ~(uintptr_t)(align - 1);
	((size_t *)at)[-1] = n;
	ht_live_add(1);
	return (void *)at;
}

int ht_bootstrap_owns(const void *p)
{
	return (const char *)p >= pool && (const char *)p < pool + POOL_SIZE;
}

size_t ht_bootstrap_size(const void *p)
{
	return ((const size_t *)p)[-1];
}

/* The pool is not reused: a released block only stops counting as live. */
void ht_bootstrap_release(void *p)
{
	(void)p;
	ht_live_add(-1);
}

static void die(const char *what)
{
	static const char pre[] = "libheaptrace-sampler: cannot find the real ";
	ssize_t r;

	r = write(2, pre, sizeof(pre) - 1);
	r = write(2, what, strlen(what));
	r = write(2, "\n", 1);
	(void)r;
	_exit(127);
}

static void *need(const char *name)
{
	void *f = dlsym(RTLD_NEXT, name);

	if (!f)
		die(name);
	return f;
}

#define SET_REAL(field, fn) __atomic_store_n(&ht_real.field, (fn), __ATOMIC_RELAXED)

static void resolve(void)
{
	void *f[11];

	in_dlsym = 1;
	f[0] = need("malloc");
	f[1] = need("calloc");
	f[2] = need("realloc");
	f[3] = need("free");
	f[4] = need("memalign");
	f[5] = need("malloc_usable_size");
	f[6] = need("posix_memalign");
	f[7] = need("aligned_alloc");
	f[8] = need("valloc");
	f[9] = need("pvalloc");
	f[10] = need("reallocarray");
	in_dlsym = 0;
	SET_REAL(malloc, (void *(*)(size_t))f[0]);
	SET_REAL(calloc, (void *(*)(size_t, size_t))f[1]);
	SET_REAL(realloc, (void *(*)(void *, size_t))f[2]);
	SET_REAL(free, (void (*)(void *))f[3]);
	SET_REAL(memalign, (void *(*)(size_t, size_t))f[4]);
	SET_REAL(usable, (size_t(*)(void *))f[5]);
	SET_REAL(posix_memalign, (int (*)(void **, size_t, size_t))f[6]);
	SET_REAL(aligned_alloc, (void *(*)(size_t, size_t))f[7]);
	SET_REAL(valloc, (void *(*)(size_t))f[8]);
	SET_REAL(pvalloc, (void *(*)(size_t))f[9]);
	SET_REAL(reallocarray, (void *(*)(void *, size_t, size_t))f[10]);
}

static void *first_malloc(size_t n)
{
	if (in_dlsym)
		return pool_alloc(n, 16);
	resolve();
	return ht_real.malloc(n);
}

static void *first_calloc(size_t n, size_t m)
{
	if (in_dlsym) {
		/* The pool is static and never reused: it is still all zeros. */
		if (m && n > (size_t)-1 / m)
			return NULL;
		return pool_alloc(n * m, 16);
	}
	resolve();
	return ht_real.calloc(n, m);
}

static void *first_realloc(void *p, size_t n)
{
	void *q;

	if (in_dlsym) {
		/* Only pool blocks can exist while the real allocator is unknown. */
		q = pool_alloc(n, 16);
		if (q && p && ht_bootstrap_owns(p)) {
			memcpy(q, p, n < ht_bootstrap_size(p) ? n : ht_bootstrap_size(p));
			ht_bootstrap_release(p);
		}
		return q;
	}
	resolve();
	return ht_real.realloc(p, n);
}

static void first_free(void *p)
{
	if (in_dlsym)
		return;
	resolve();
	ht_real.free(p);
}

static void *first_memalign(size_t align, size_t n)
{
	if (in_dlsym)
		return pool_alloc(n, align);
	resolve();
	return ht_real.memalign(align, n);
}

static size_t first_usable(void *p)
{
	if (in_dlsym)
		return 0;
	resolve();
	return ht_real.usable(p);
}

static int first_posix_memalign(void **out, size_t align, size_t n)
{
	if (in_dlsym) {
		*out = pool_alloc(n, align);
		return *out ? 0 : ENOMEM;
	}
	resolve();
	return ht_real.posix_memalign(out, align, n);
}

static void *first_aligned_alloc(size_t align, size_t n)
{
	if (in_dlsym)
		return pool_alloc(n, align);
	resolve();
	return ht_real.aligned_alloc(align, n);
}

static void *first_valloc(size_t n)
{
	if (in_dlsym)
		return pool_alloc(n, HT_PAGE);
	resolve();
	return ht_real.valloc(n);
}

static void *first_pvalloc(size_t n)
{
	if (in_dlsym)
		return pool_alloc((n + HT_PAGE - 1) & ~(HT_PAGE - 1), HT_PAGE);
	resolve();
	return ht_real.pvalloc(n);
}

static void *first_reallocarray(void *p, size_t n, size_t m)
{
	if (in_dlsym)
		return m && n > (size_t)-1 / m ? NULL : first_realloc(p, n * m);
	resolve();
	return ht_real.reallocarray(p, n, m);
}
