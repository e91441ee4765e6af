/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * elfsym.h - one ELF object: build id, loadable segments, function symbols.
 *
 * An elfsym owns the object's file descriptor and libelf handle and, when
 * the object lacks .symtab or DWARF, those of its separate debug file
 * (found by build id under /usr/lib/debug/.build-id/, then by
 * .gnu_debuglink next to the object, in its .debug/ directory and under
 * /usr/lib/debug/<dir>/). A debug file is accepted only when its build id
 * matches the object's (or, without a build id, the debuglink CRC does).
 *
 * Every string returned (symbol names, build id) lives as long as the
 * elfsym. Addresses are link-time virtual addresses ("vaddr").
 */
#ifndef HEAPTRACE_ELFSYM_H
#define HEAPTRACE_ELFSYM_H

#include <stdbool.h>
#include <stdint.h>

#include <libelf.h>

struct elfsym;

/*
 * Opens the object readable through `fd`, taking ownership of fd (closed
 * on error too). `path` is where the object lives as seen from `root` ("" or
 * e.g. "/proc/PID/root"): debug files are searched for relative to it, under
 * root first, then on the host. Returns 0, -ENOEXEC when fd is not an ELF
 * object, -ENOMEM or another negative errno.
 */
int elfsym__open_fd(int fd, const char *root, const char *path, struct elfsym **out);

/* Opens the object at `path` (no root prefix). As elfsym__open_fd. */
int elfsym__open(const char *path, struct elfsym **out);

/* Frees everything; elfsym__free(NULL) is a no-op. */
void elfsym__free(struct elfsym *e);

/*
 * Whether a separate debug file would add anything: the object has a build
 * id, lacks .symtab or DWARF, and none was found when it was opened.
 */
bool elfsym__wants_debug_file(const struct elfsym *e);

/*
 * Adopts `path` (e.g. one fetched from debuginfod since the object was
 * opened) as the object's debug file, checked as one found on disk (its
 * build id must match): its .symtab replaces the .dynsym names and its
 * DWARF is used where the object has none. Names returned earlier stay
 * valid. Returns 0, -EEXIST when the object wants no debug file, -ENOENT
 * when `path` is not a debug file of this object, or -ENOMEM.
 */
int elfsym__add_debug_file(struct elfsym *e, const char *path);

/* NT_GNU_BUILD_ID as lowercase hex, or "" when the object has none. */
const char *elfsym__build_id(const struct elfsym *e);

/* Whether any function symbol was found (.symtab, debug file or .dynsym). */
bool elfsym__has_symbols(const struct elfsym *e);

/* The ELF image holding DWARF (.debug_info): the debug file or the object; NULL if none. */
Elf *elfsym__dwarf_elf(const struct elfsym *e);

/* Path of the separate debug file in use, or NULL. */
const char *elfsym__debug_path(const struct elfsym *e);

/*
 * Converts a file offset into a vaddr through the PT_LOAD segment
 * containing it. Returns 0, or -ENOENT when no segment maps that offset.
 */
int elfsym__offset_to_vaddr(const struct elfsym *e, uint64_t offset, uint64_t *vaddr);

/*
 * The function symbol containing vaddr (binary search; a symbol of size 0
 * extends to the next symbol). Of aliases at one address, a global name
 * without a leading underscore is preferred. Returns the raw name and sets
 * *sym_addr (if not NULL), or returns NULL.
 */
const char *elfsym__lookup(const struct elfsym *e, uint64_t vaddr, uint64_t *sym_addr);

#endif /* HEAPTRACE_ELFSYM_H */
