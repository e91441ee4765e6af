// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* fuzz_procmaps.c - /proc/PID/maps text: procmaps__parse() and lookups in what it kept. */
#include <stdlib.h>

#include "fuzz.h"
#include "symbol/procmaps.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct procmaps *pm = NULL;
	char *text = malloc(size + 1);
	size_t i;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (!procmaps__parse(text, 1, &pm)) {
		for (i = 0; i < pm->nr; i++) {
			procmaps__find(pm, pm->maps[i].start);
			procmaps__find(pm, pm->maps[i].end - 1);
		}
		procmaps__find(pm, fuzz_tail_u64(data, size));
		procmaps__find_object(pm, "libc.so.6");
	}
	procmaps__free(pm);
	free(text);
	return 0;
}
