// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * dlo.c - a library that the exercise program dlopens: it allocates in its
 * constructor and in a function, and its blocks are freed by the program.
 */
#include <stdlib.h>
#include <string.h>

static char *kept;

__attribute__((constructor)) static void dlo_init(void)
{
	kept = malloc(777);
	if (kept)
		memset(kept, 0x5a, 777);
}

/* n bytes of 0x5a: the caller frees them. */
char *dlo_make(size_t n)
{
	char *p = malloc(n);

	if (p)
		memset(p, 0x5a, n);
	return p;
}

/* The constructor's block, handed over to the caller. */
char *dlo_kept(void)
{
	char *p = kept;

	kept = NULL;
	return p;
}
