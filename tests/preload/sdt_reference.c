// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * sdt_reference.c - the same two probes made by systemtap's <sys/sdt.h>,
 * so that a test can compare its notes with libheaptrace-sampler.so's.
 */
#include <stdint.h>
#include <stdio.h>
#define _SDT_HAS_SEMAPHORES 1
#include <sys/sdt.h>

unsigned short otel_memory_alloc_semaphore __attribute__((section(".probes")));
unsigned short otel_memory_free_semaphore __attribute__((section(".probes")));

int main(int argc, char **argv)
{
	uint64_t p = (uintptr_t)argv, n = (uint64_t)argc;

	STAP_PROBE3(otel_memory, alloc, p, n, n);
	STAP_PROBE1(otel_memory, free, p);
	printf("%d\n", otel_memory_alloc_semaphore + otel_memory_free_semaphore);
	return 0;
}
