// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* strbuf.c - see strbuf.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/strbuf.h"
#include "util/vec.h"

int strbuf__grow(struct strbuf *sb, size_t extra)
{
	if (VEC_RESERVE(sb->buf, sb->cap, sb->len + extra + 1)) {
		sb->failed = true;
		return -ENOMEM;
	}
	return 0;
}

int strbuf__addf(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	if (strbuf__grow(sb, (size_t)n))
		return -ENOMEM;
	va_start(ap, fmt);
	vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	sb->len += (size_t)n;
	return 0;
}

int strbuf__add(struct strbuf *sb, const char *s)
{
	size_t n = strlen(s);

	if (strbuf__grow(sb, n))
		return -ENOMEM;
	memcpy(sb->buf + sb->len, s, n + 1);
	sb->len += n;
	return 0;
}

void strbuf__reset(struct strbuf *sb)
{
	sb->len = 0;
	if (sb->buf)
		sb->buf[0] = '\0';
}

const char *strbuf__str(const struct strbuf *sb)
{
	return sb->buf ? sb->buf : "";
}

void strbuf__release(struct strbuf *sb)
{
	free(sb->buf);
	*sb = (struct strbuf){ 0 };
}
