// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* html.c - see html.h. */
#include "util/html.h"

void html__escape(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '<')
			fputs("&lt;", f);
		else if (*s == '>')
			fputs("&gt;", f);
		else if (*s == '&')
			fputs("&amp;", f);
		else if (*s == '"')
			fputs("&quot;", f);
		else
			fputc(*s, f);
	}
}
