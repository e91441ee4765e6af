// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* fuzz_pprof.c - the pprof reader (heaptrace print, -base): gzip or not, then a merge. */
#include <stdio.h>

#include "fuzz.h"
#include "output/legacytext.h"
#include "output/pprof.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pprof_builder *b = NULL, *again = NULL;
	char path[64];
	int fd = fuzz_memfd(data, size);
	FILE *devnull;

	if (fd < 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (!pprof__read_gz(path, &b) && !pprof__read_gz(path, &again)) {
		pprof__merge(b, again, -1);
		devnull = fopen("/dev/null", "w");
		if (devnull) {
			legacytext__write(devnull, b, NULL, NULL, 0);
			fclose(devnull);
		}
	}
	pprof__free(again);
	pprof__free(b);
	close(fd);
	return 0;
}
