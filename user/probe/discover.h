/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * discover.h - which mapped objects serve a process's allocations, and
 * which of their functions are the allocator's entry points.
 *
 * The rule is the dynamic linker's: an exported function name resolves to
 * the first object of the global search list that defines it (defines, not
 * imports). The search list is approximated from the process's own files:
 *
 *   1. the executable (found by AT_ENTRY in /proc/PID/auxv);
 *   2. the objects named by LD_PRELOAD in /proc/PID/environ (the
 *      environment the process started with), in order;
 *   3. those named by /proc/PID/root/etc/ld.so.preload, in order;
 *   4. breadth-first through DT_NEEDED, starting from the executable and
 *      the preloaded objects (a name is matched to a mapped object by its
 *      DT_SONAME, else by its file name);
 *   5. every other mapped ELF object in address order (dlopen'ed ones;
 *      they come last because they never preempt a global name).
 *
 * Every name of a catalogue (the C family, C23 sized frees, jemalloc's
 * *allocx and je_/_rjem_ prefixed names, tcmalloc's tc_*, mimalloc's mi_*,
 * C++ operator new and delete) is resolved this way through .dynsym. The
 * executable's .symtab counts too: a static binary, or a program with a
 * private allocator, has its allocator there, and its own calls use it
 * whatever the rest of the process resolves (such entries are "internal").
 *
 * The result lists, per object that wins at least one name, the entry
 * points to probe. Two names at one address are listed once (tcmalloc's
 * malloc is tc_malloc): the first catalogue name is kept and the others
 * are recorded as aliases. An operator delete whose code is a plain jump
 * to the free the process resolves (libstdc++'s, most of jemalloc's) is
 * not listed but recorded as skipped, since probing it would only make
 * each delete trap twice.
 *
 * Ownership: a struct discover owns every string and array reachable from
 * it; they live until discover__free(). Errors are negative errnos.
 * Objects that cannot be read (permissions, a file gone) are kept in the
 * search list with their error and never win a name.
 */
#ifndef HEAPTRACE_DISCOVER_H
#define HEAPTRACE_DISCOVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "heaptrace.h"
#include "symbol/procmaps.h"

/*
 * What an entry point does, by its arguments: DISCOVER_MALLOC,
 * DISCOVER_CALLOC, ... one per row of HT_ENTRY_KINDS (bpf/entry_kinds.h,
 * which says each kind's signature). Each kind maps onto one BPF entry
 * program (discover__kind_info()).
 */
enum discover_entry_kind {
#define DISCOVER_KIND_ENUM_(KIND, name, ENTRY) DISCOVER_##KIND,
	HT_ENTRY_KINDS(DISCOVER_KIND_ENUM_)
#undef DISCOVER_KIND_ENUM_
	    DISCOVER_NR_KINDS,
};

/* How the BPF side serves a kind: all of it from the table. */
struct discover_kind_info {
	const char *name;    /* "malloc-like" */
	const char *program; /* the BPF entry program: "malloc_entry" */
	enum ht_entry entry; /* ... its index: HT_MALLOC */
	unsigned int nargs;  /* the argument registers it reads, from the first */
	bool allocates;	     /* needs a return probe (a free-family kind does not) */
};

enum discover_allocator {
	DISCOVER_ALLOC_NONE, /* defines none of malloc, free, operator new */
	DISCOVER_ALLOC_GLIBC,
	DISCOVER_ALLOC_JEMALLOC,
	DISCOVER_ALLOC_TCMALLOC,
	DISCOVER_ALLOC_MIMALLOC,
	DISCOVER_ALLOC_CXXRT, /* operator new only, on top of malloc (libstdc++) */
	DISCOVER_ALLOC_OTHER, /* defines malloc or free: a private or unknown allocator */
};

/* Why an object has its place in the search list. */
enum discover_origin {
	DISCOVER_FROM_EXECUTABLE,
	DISCOVER_FROM_LD_PRELOAD,
	DISCOVER_FROM_PRELOAD_FILE, /* /etc/ld.so.preload of the process's root */
	DISCOVER_FROM_NEEDED,	    /* DT_NEEDED, breadth-first */
	DISCOVER_FROM_MAPPED,	    /* mapped, in no one's DT_NEEDED (dlopen) */
};

/* Which of the key names an object serves for the process. */
#define DISCOVER_SERVES_MALLOC (1u << 0)
#define DISCOVER_SERVES_FREE   (1u << 1)
#define DISCOVER_SERVES_NEW    (1u << 2)

/* One entry point to probe. */
struct discover_entry {
	const char *symbol; /* catalogue name (static storage) */
	enum discover_entry_kind kind;
	uint64_t value;	     /* st_value: link-time address */
	uint64_t offset;     /* file offset of its first byte: what a uprobe takes */
	bool internal;	     /* executable's .symtab only: serves its own calls */
	const char *aliases; /* other catalogue names at this address, space separated, or "" */
};

/* A defined entry point deliberately not probed. */
struct discover_skip {
	const char *symbol;
	char why[160];
};

struct discover_object {
	char *path;	/* as heaptrace opens it: /proc/PID/root/..., or map_files */
	char *map_path; /* as /proc/PID/maps shows it */
	enum discover_allocator allocator;
	enum discover_origin origin;
	unsigned int order;  /* position in the search list, 0 = the executable */
	unsigned int serves; /* DISCOVER_SERVES_* */
	struct discover_entry *entries;
	size_t nr_entries;
	struct discover_skip *skipped;
	size_t nr_skipped;
};

struct discover;

/*
 * Discovers the allocator objects of process `pid` from its maps snapshot
 * `pm` (which the result does not keep). Files are read through
 * /proc/PID/root, so the process must still be alive for them to be found
 * (a deleted mapped file is read through /proc/PID/map_files). Returns 0
 * and a result to free with discover__free(), even when no object defines
 * malloc (see discover__allocator()); -ENOMEM; -ESRCH when the process is
 * gone. Objects come in search-list order.
 */
int discover__run(const struct procmaps *pm, pid_t pid, struct discover **out);

void discover__free(struct discover *d); /* discover__free(NULL) is a no-op */

size_t discover__nr_objects(const struct discover *d);
const struct discover_object *discover__object(const struct discover *d, size_t i);

/* The object serving malloc (free, operator new: same idea), or NULL. */
const struct discover_object *discover__serving(const struct discover *d, unsigned int serves);

/* The kind of the allocator serving malloc; DISCOVER_ALLOC_NONE when none does. */
enum discover_allocator discover__allocator(const struct discover *d);

/* The search list: its length, and the i-th object's maps path, origin and read error. */
size_t discover__nr_searched(const struct discover *d);
const char *discover__searched(const struct discover *d, size_t i, enum discover_origin *origin,
			       int *err);

/*
 * How many mapped objects could not be opened or read (a non-ELF file does
 * not count): when none serves malloc, one of them may, so nothing can be
 * said about the process's allocator.
 */
size_t discover__nr_unread(const struct discover *d);

const char *discover__allocator_name(enum discover_allocator a);
const char *discover__origin_name(enum discover_origin o);
const struct discover_kind_info *discover__kind_info(enum discover_entry_kind k);

/*
 * Writes a human-readable account of `d` for process `pid`: the search
 * list, then per object why it was chosen and one line per entry point
 * (and per skipped one, with the reason). Returns 0 or -EIO.
 */
int discover__write(const struct discover *d, pid_t pid, FILE *f);

/*
 * `heaptrace --list-allocators -p PID`: loads the maps of `pid`, discovers
 * and writes as discover__write(). Returns 0 or a negative errno (a message
 * naming the process is written to `f` too).
 */
int discover__print(FILE *f, pid_t pid);

#endif /* HEAPTRACE_DISCOVER_H */
