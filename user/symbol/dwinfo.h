/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * dwinfo.h - file:line and inlined frames of a link-time address (libdw).
 *
 * A struct dwinfo wraps the DWARF of one ELF image (the object or its
 * separate debug file), which must outlive it. Compilation units are found
 * through a table of CU address ranges (built once, on first use; the
 * .debug_aranges lookup of dwarf_addrdie is the fallback), and functions
 * through a per-CU table of subprogram ranges (built when the CU is first
 * hit), so a lookup is two binary searches plus a walk down one function's
 * inlined scopes.
 *
 * Strings returned (names, files) point into libdw's data and live as long
 * as the struct dwinfo.
 */
#ifndef HEAPTRACE_DWINFO_H
#define HEAPTRACE_DWINFO_H

#include <stdint.h>

#include <libelf.h>

struct dwinfo;

struct dwinfo_frame {
	const char *name;   /* raw: a mangled linkage name, else DW_AT_name; NULL if unknown */
	const char *file;   /* NULL when unknown */
	int64_t line;	    /* 0 when unknown */
	int64_t start_line; /* DW_AT_decl_line of the function, 0 when unknown */
};

/* Opens the DWARF of `elf`. Returns 0, -ENODATA when elf has none, or -ENOMEM. */
int dwinfo__open(Elf *elf, struct dwinfo **out);

/* dwinfo__free(NULL) is a no-op. Does not close the Elf. */
void dwinfo__free(struct dwinfo *d);

/*
 * Resolves link-time address `addr` into at most `max` frames, innermost
 * inlined frame first, the containing function last. The innermost frame
 * takes its line from the line table; each outer frame takes the call site
 * (DW_AT_call_file/DW_AT_call_line) of the inlined scope nested in it.
 * When no function covers addr but the line table does, one frame with a
 * NULL name is returned. Returns the number of frames, 0 when the DWARF
 * knows nothing of addr.
 */
int dwinfo__resolve(struct dwinfo *d, uint64_t addr, struct dwinfo_frame *frames, int max);

#endif /* HEAPTRACE_DWINFO_H */
