/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * seed_object.c - the source of the ELF seeds in corpus/ (elfsym, dwinfo,
 * usdt): a shared object with DWARF, a build id, an inlined call and one
 * otel_memory USDT probe with its semaphore, small enough to mutate well.
 * Rebuilt with
 *
 *   clang -shared -nostdlib -g -O1 -fPIC -Wl,--build-id -Wl,-z,noseparate-code \
 *       -o shared-object-with-dwarf seed_object.c
 *   objcopy --only-keep-debug shared-object-with-dwarf separate-debug-file
 *   cp shared-object-with-dwarf stripped-with-debuglink
 *   strip --strip-debug stripped-with-debuglink
 *   objcopy --add-gnu-debuglink=separate-debug-file stripped-with-debuglink
 *
 * It is not part of the build.
 */
#include <sys/sdt.h>

unsigned short otel_memory_alloc_semaphore __attribute__((section(".probes")));

int seed_value(int x)
{
	DTRACE_PROBE3(otel_memory, alloc, x, x, x);
	return x * 3;
}

static inline int seed_inline(int x)
{
	return x + 1;
}

int seed_caller(int x)
{
	return seed_inline(seed_value(x));
}
