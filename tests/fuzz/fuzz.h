/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * fuzz.h - what the libFuzzer harnesses share: the input as a file, since
 * the readers under test take a descriptor or a path (as they do for the
 * files of a traced process).
 */
#ifndef HEAPTRACE_FUZZ_H
#define HEAPTRACE_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A memory file holding the input, at offset 0; -1 on failure. */
static inline int fuzz_memfd(const uint8_t *data, size_t size)
{
	int fd = memfd_create("heaptrace-fuzz", MFD_CLOEXEC);
	size_t done = 0;

	if (fd < 0)
		return -1;
	while (done < size) {
		ssize_t n = write(fd, data + done, size - done);

		if (n <= 0) {
			close(fd);
			return -1;
		}
		done += (size_t)n;
	}
	lseek(fd, 0, SEEK_SET);
	return fd;
}

/* An address to look up, taken from the input's last bytes (0 when short). */
static inline uint64_t fuzz_tail_u64(const uint8_t *data, size_t size)
{
	uint64_t v = 0;

	if (size >= sizeof(v))
		memcpy(&v, data + size - sizeof(v), sizeof(v));
	return v;
}

#endif /* HEAPTRACE_FUZZ_H */
