// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* utf8.c - see utf8.h. */
#include <string.h>

#include "util/utf8.h"

static int is_cont(unsigned char c)
{
	return (c & 0xc0) == 0x80;
}

/* The length of the well-formed sequence at s (1 to 4), or 0 when there is none. */
static size_t sequence_len(const unsigned char *s)
{
	unsigned char c = s[0];
	unsigned char lo = 0x80, hi = 0xbf; /* the range of the second byte */
	size_t n, i;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return 0;
	/* The first byte narrows the second: overlong forms, surrogates, past U+10FFFF. */
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if (!is_cont(s[i]))
			return 0;
	return n;
}

size_t utf8__sanitize(const char *in, char *out, size_t outlen)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t o = 0;

	if (!outlen)
		return 0;
	while (*s) {
		size_t n = sequence_len(s);
		const char *from = n ? (const char *)s : UTF8_REPLACEMENT;
		size_t len = n ? n : sizeof(UTF8_REPLACEMENT) - 1;

		if (o + len + 1 > outlen)
			break;
		memcpy(out + o, from, len);
		o += len;
		s += n ? n : 1;
	}
	out[o] = '\0';
	return o;
}
