/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * entry_kinds.h - the one table of allocator entry points: which BPF
 * programs exist, what each reads from its arguments, and which program
 * every kind of entry point discovery finds is served by.
 *
 * Both sides include it (through heaptrace.h). From it come enum ht_entry,
 * the BPF wrappers (heaptrace.bpf.c), discovery's kinds and their names
 * (discover.h), the registers a probe site must leave untouched
 * (allocator.c, probeplace.h) and the loader's choice of program for a
 * site (loader.c). A new entry point is one row here, and the consumers
 * follow; none of them repeats what a row says.
 *
 * Arguments are x86-64's: rdi, rsi, rdx.
 */
#ifndef HEAPTRACE_ENTRY_KINDS_H
#define HEAPTRACE_ENTRY_KINDS_H

/*
 * Signatures: the argument registers a program reads, and what it makes of
 * them. X(SIG, nargs), nargs counted from the first argument (a program
 * reads every argument up to the last one it uses).
 *
 *   PTR             (ptr): the block to release
 *   SIZE            (size)
 *   PAGES           (size), rounded up to whole pages, 0 to one page (pvalloc)
 *   N_SIZE          (n, size): n * size; nothing is counted when it overflows
 *   PTR_SIZE        (ptr, size): ptr is the old block
 *   PTR_N_SIZE      (ptr, n, size): as N_SIZE, ptr is the old block
 *   ALIGN_SIZE      (align, size)
 *   OUT_ALIGN_SIZE  (void **out, align, size): the block is written to *out
 *   ARENA           (addr, len): mmap's first two; counted only for a new
 *                   mapping of HT_PY_ARENA_SIZE (CPython's pymalloc arena)
 */
#define HT_SIGNATURES(X)                                                                           \
	X(PTR, 1)                                                                                  \
	X(SIZE, 1)                                                                                 \
	X(PAGES, 1)                                                                                \
	X(N_SIZE, 2)                                                                               \
	X(PTR_SIZE, 2)                                                                             \
	X(PTR_N_SIZE, 3)                                                                           \
	X(ALIGN_SIZE, 2)                                                                           \
	X(OUT_ALIGN_SIZE, 3)                                                                       \
	X(ARENA, 2)

/*
 * The BPF entry programs: X(ENTRY, prog, SIG, CLASS, always_track).
 *
 * ENTRY names HT_<ENTRY>; prog names the programs: <prog>_entry (a
 * uprobe), and for CLASS ALLOC <prog>_session (a uprobe session) too, and
 * a return run (alloc_return, or the session's). CLASS FREE programs read
 * a pointer and take no stack; they have no return run.
 *
 * always_track: the call is remembered until it returns even when it is
 * not sampled, because it may call another entry point internally (the
 * record then makes the inner call count once) or must release an old
 * block on return. malloc and calloc never call another entry point.
 */
#define HT_ENTRY_PROGRAMS(X)                                                                       \
	X(MALLOC, malloc, SIZE, ALLOC, 0)                                                          \
	X(CALLOC, calloc, N_SIZE, ALLOC, 0)                                                        \
	X(REALLOC, realloc, PTR_SIZE, ALLOC, 1)                                                    \
	X(REALLOCARRAY, reallocarray, PTR_N_SIZE, ALLOC, 1)                                        \
	X(POSIX_MEMALIGN, posix_memalign, OUT_ALIGN_SIZE, ALLOC, 1)                                \
	X(MEMALIGN, memalign, ALIGN_SIZE, ALLOC, 1)                                                \
	X(VALLOC, valloc, SIZE, ALLOC, 1)                                                          \
	X(PVALLOC, pvalloc, PAGES, ALLOC, 1)                                                       \
	X(OPERATOR_NEW, new, SIZE, ALLOC, 1)                                                       \
	X(FREE, free, PTR, FREE, 0)                                                                \
	X(RALLOCX, rallocx, PTR_SIZE, ALLOC, 1)                                                    \
	X(XALLOCX, xallocx, PTR_SIZE, ALLOC, 1)                                                    \
	X(PY_ARENA, pyarena, ARENA, ALLOC, 0)

/*
 * The kinds of entry point discovery tells apart, by their arguments:
 * X(KIND, name, ENTRY), served by the program of HT_<ENTRY>. Several kinds
 * share a program where it reads what they have in common.
 *
 *   MALLOC          (size) -> ptr; also mi_malloc_aligned(size, align)
 *   CALLOC          (n, size) -> ptr
 *   REALLOC         (ptr, size) -> ptr; size 0 frees
 *   REALLOCARRAY    (ptr, n, size) -> ptr
 *   MEMALIGN        (align, size) -> ptr: memalign, aligned_alloc
 *   POSIX_MEMALIGN  (ptr *out, align, size) -> int
 *   VALLOC          (size) -> ptr, page aligned
 *   PVALLOC         (size) -> ptr, size rounded up to pages
 *   NEW             (size[, align][, nothrow]) -> ptr: operator new family
 *   FREE            (ptr[, align][, nothrow])
 *   SIZED_FREE      (ptr, size[, align]) or free_aligned_sized(ptr, align, size)
 *   MALLOCX         (size, flags) -> ptr: the size first, as operator new's
 *                   (whose program it has shared since jemalloc was first
 *                   probed); the flags change no accounting
 *   RALLOCX         (ptr, size, flags) -> ptr; size 0 is undefined, never frees
 *   XALLOCX         (ptr, size, extra, flags) -> usable size, resized in place
 *   DALLOCX         (ptr, flags)
 *   SDALLOCX        (ptr, size, flags)
 *   PY_ARENA        mmap(addr, len, ...) in a CPython process: a pymalloc
 *                   arena (see discover.c); other mappings count nothing
 *   PY_ARENA_FREE   munmap(addr, len): an arena given back
 */
#define HT_ENTRY_KINDS(X)                                                                          \
	X(MALLOC, "malloc-like", MALLOC)                                                           \
	X(CALLOC, "calloc-like", CALLOC)                                                           \
	X(REALLOC, "realloc-like", REALLOC)                                                        \
	X(REALLOCARRAY, "reallocarray-like", REALLOCARRAY)                                         \
	X(MEMALIGN, "memalign-like", MEMALIGN)                                                     \
	X(POSIX_MEMALIGN, "posix_memalign-like", POSIX_MEMALIGN)                                   \
	X(VALLOC, "valloc-like", VALLOC)                                                           \
	X(PVALLOC, "pvalloc-like", PVALLOC)                                                        \
	X(NEW, "new-like", OPERATOR_NEW)                                                           \
	X(FREE, "free-like", FREE)                                                                 \
	X(SIZED_FREE, "sized-free", FREE)                                                          \
	X(MALLOCX, "mallocx-like", OPERATOR_NEW)                                                   \
	X(RALLOCX, "rallocx-like", RALLOCX)                                                        \
	X(XALLOCX, "xallocx-like", XALLOCX)                                                        \
	X(DALLOCX, "dallocx-like", FREE)                                                           \
	X(SDALLOCX, "sdallocx-like", FREE)                                                         \
	X(PY_ARENA, "pymalloc-arena", PY_ARENA)                                                    \
	X(PY_ARENA_FREE, "pymalloc-arena-free", FREE)

/* Per signature: how many argument registers its programs read (HT_SIG_NARGS_SIZE ...). */
#define HT_SIG_NARGS_ENUM_(SIG, nargs) HT_SIG_NARGS_##SIG = nargs,
enum ht_sig_nargs { HT_SIGNATURES(HT_SIG_NARGS_ENUM_) };
#undef HT_SIG_NARGS_ENUM_

/* Per class: whether its programs allocate (a return run, a stack taken). */
#define HT_CLASS_ALLOCATES_ALLOC 1
#define HT_CLASS_ALLOCATES_FREE	 0

#endif /* HEAPTRACE_ENTRY_KINDS_H */
