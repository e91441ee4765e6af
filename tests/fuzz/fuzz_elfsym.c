// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * fuzz_elfsym.c - an ELF object as heaptrace reads a mapped file: its
 * segments, symbols (.symtab, .dynsym), build id and .gnu_debuglink (and
 * the debug file search that follows), then lookups.
 */
#include "fuzz.h"
#include "symbol/elfsym.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct elfsym *e = NULL;
	uint64_t addr = fuzz_tail_u64(data, size), vaddr, sym;
	int fd = fuzz_memfd(data, size);

	if (fd < 0)
		return 0;
	/* A root of its own, so no debug file of the host is found by a fuzzed name. */
	if (elfsym__open_fd(fd, "/nonexistent-fuzz-root", "/fuzz/object", &e))
		return 0;
	elfsym__build_id(e);
	elfsym__debug_path(e);
	if (elfsym__has_symbols(e)) {
		elfsym__lookup(e, addr, &sym);
		elfsym__lookup(e, addr >> 32, &sym);
	}
	if (!elfsym__offset_to_vaddr(e, addr & 0xffffff, &vaddr))
		elfsym__lookup(e, vaddr, NULL);
	elfsym__free(e);
	return 0;
}
