/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * symbolize.h - turn addresses in a process into source-level frames.
 *
 * Knows nothing of BPF or protobuf. Given a mapping snapshot (procmaps.h)
 * and an address inside it, finds the ELF object, converts the address to
 * the object's link-time address, and resolves the function name (ELF
 * .symtab, then .dynsym, then a separate debug file found by build-id or
 * .gnu_debuglink under /usr/lib/debug) and, where DWARF is present (libdw),
 * file:line with inlined frames. C++ and Rust names are demangled with
 * libiberty; the raw name is kept as the system name.
 *
 * Objects are cached per binary (keyed by build-id, else device and inode),
 * so repeated lookups cost a hash probe. Results are cached per address.
 * Files are opened as /proc/PID/root/PATH while the process lives (so a
 * process in another mount namespace reads its own files), else as PATH.
 */
#ifndef HEAPTRACE_SYMBOLIZE_H
#define HEAPTRACE_SYMBOLIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "symbol/procmaps.h"

struct symbolizer;

/* One source-level frame; strings are owned by the symbolizer and live as long as it does. */
struct sym_frame {
	const char *function;	 /* demangled name, or NULL when unknown */
	const char *system_name; /* raw symbol name, or NULL */
	const char *file;	 /* source file, or NULL */
	int64_t start_line;	 /* first line of the function, 0 when unknown */
	int64_t line;		 /* 0 when unknown */
};

/* What is known of the object behind a mapping. Strings owned by the symbolizer. */
struct sym_object_info {
	const char *path;     /* path as in the maps file */
	const char *build_id; /* hex, or "" */
	bool has_symbols;
	bool has_dwarf;
	/* link-time address = process address - bias (for this mapping) */
	uint64_t bias;
};

struct symbolizer *symbolizer__new(void);
void symbolizer__free(struct symbolizer *s);

/*
 * Where DEBUGINFOD_URLS is set, fetches the debug files of objects that
 * lack symbols or DWARF from debuginfod (dbgfetch.h), each within
 * `budget_ns`, on a worker thread: lookups never wait for it, and an
 * object's addresses are resolved again once its file has arrived (names
 * given out before that stay valid). Call before the first lookup: objects
 * opened earlier are not fetched for. Returns 0 (also when DEBUGINFOD_URLS
 * is unset), -ENOENT when libdebuginfod is missing (a warning said so),
 * -ENOMEM.
 */
int symbolizer__use_debuginfod(struct symbolizer *s, uint64_t budget_ns);

/*
 * Describes the object mapped by `m` in process `pid` (opening and caching
 * it if needed). Returns 0 or a negative errno (-ENOENT when the file
 * cannot be opened: info then holds the path and an empty build id).
 */
int symbolizer__object(struct symbolizer *s, pid_t pid, const struct procmap *m,
		       struct sym_object_info *info);

/*
 * Opens and caches every object `pid` maps code from, while the process
 * lives: a process that exits before its stacks are symbolized (its final
 * profile written after its exit) keeps being symbolized from its own files,
 * even those only its mount namespace had. Returns 0 or -ENOMEM (files that
 * cannot be opened are cached as such, as symbolizer__object does).
 */
int symbolizer__preload(struct symbolizer *s, pid_t pid, const struct procmaps *pm);

/*
 * Resolves `addr` (a process address inside mapping `m`; pass the exact
 * instruction address: for a return address, pass it minus one) into at
 * most `max` frames, innermost inlined frame first, the containing function
 * last. Returns the number of frames (>= 1 on success; a frame with a NULL
 * function when nothing is known) or a negative errno.
 */
int symbolizer__resolve(struct symbolizer *s, pid_t pid, const struct procmap *m, uint64_t addr,
			struct sym_frame *frames, int max);

/*
 * Demangles a C++ or Rust symbol name (libiberty). Returns the demangled
 * name, or `name`'s text when it is not mangled; either way a string owned
 * by the symbolizer (the same pointer for the same name), or NULL when out
 * of memory.
 */
const char *symbolizer__demangle(struct symbolizer *s, const char *name);

#endif /* HEAPTRACE_SYMBOLIZE_H */
