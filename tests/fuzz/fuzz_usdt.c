// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* fuzz_usdt.c - .note.stapsdt of an ELF object: every provider, then otel_memory's. */
#include "fuzz.h"
#include "probe/usdt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct usdt_notes n = { 0 };
	int fd = fuzz_memfd(data, size);

	if (fd < 0)
		return 0;
	usdt__read_notes(fd, NULL, &n);
	usdt__notes_release(&n);
	memset(&n, 0, sizeof(n));
	lseek(fd, 0, SEEK_SET);
	usdt__read_notes(fd, USDT_OTEL_PROVIDER, &n);
	usdt__notes_release(&n);
	close(fd);
	return 0;
}
