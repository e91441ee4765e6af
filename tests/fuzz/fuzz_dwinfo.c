// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* fuzz_dwinfo.c - DWARF of an ELF object: dwinfo__open() then line and inline lookups. */
#include <gelf.h>

#include "fuzz.h"
#include "symbol/dwinfo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dwinfo_frame frames[16];
	struct dwinfo *d = NULL;
	uint64_t addr = fuzz_tail_u64(data, size);
	Elf *elf;
	int fd = fuzz_memfd(data, size);

	if (fd < 0)
		return 0;
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (elf && !dwinfo__open(elf, &d)) {
		dwinfo__resolve(d, addr, frames, 16);
		dwinfo__resolve(d, addr & 0xffff, frames, 16);
		dwinfo__resolve(d, 0x1000 + (addr & 0xfff), frames, 16);
		dwinfo__free(d);
	}
	elf_end(elf);
	close(fd);
	return 0;
}
