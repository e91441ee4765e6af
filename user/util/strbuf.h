/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * strbuf.h - a small growable string, for text whose length is not known
 * in advance (what was attached, a profile's notes, a list of aliases).
 *
 * A zeroed struct strbuf is an empty string; `buf` is then NULL, so read it
 * through strbuf__str(), which is never NULL. Appends that run out of
 * memory keep what was there, set `failed`, and return -ENOMEM; nothing is
 * ever silently truncated. strbuf__release() frees the text and leaves an
 * empty strbuf behind.
 */
#ifndef HEAPTRACE_STRBUF_H
#define HEAPTRACE_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

struct strbuf {
	char *buf;
	size_t len, cap;
	bool failed; /* an append ran out of memory */
};

/* Appends printf-formatted text. Returns 0 or -ENOMEM. */
int strbuf__addf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Appends `s`. Returns 0 or -ENOMEM. */
int strbuf__add(struct strbuf *sb, const char *s);

/*
 * Room for `extra` more bytes and the terminating NUL, for a writer that
 * fills sb->buf + sb->len itself and then adds to sb->len. Returns 0 or
 * -ENOMEM.
 */
int strbuf__grow(struct strbuf *sb, size_t extra);

/* Empties the string, keeping its memory. */
void strbuf__reset(struct strbuf *sb);

/* The text; "" for an empty or zeroed strbuf. */
const char *strbuf__str(const struct strbuf *sb);

void strbuf__release(struct strbuf *sb);

#endif /* HEAPTRACE_STRBUF_H */
