/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * utf8.h - text for consumers that require UTF-8 (Prometheus label values,
 * JSON). A process's name is 15 bytes of whatever it was given, cut without
 * regard to characters, and a cgroup path is any bytes: one invalid label
 * value makes Prometheus refuse a whole scrape.
 */
#ifndef HEAPTRACE_UTF8_H
#define HEAPTRACE_UTF8_H

#include <stddef.h>

/* U+FFFD, the replacement character, in UTF-8. */
#define UTF8_REPLACEMENT "\xef\xbf\xbd"

/*
 * Copies `in` to `out` (room for `outlen` bytes, NUL included) with each
 * byte that does not begin a well-formed UTF-8 sequence (RFC 3629: no
 * overlong forms, no surrogates, nothing above U+10FFFF) replaced by
 * U+FFFD. Stops at a whole character when out is full. Returns the length
 * written.
 */
size_t utf8__sanitize(const char *in, char *out, size_t outlen);

#endif /* HEAPTRACE_UTF8_H */
