// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * manpage.c - the option table as man(7) paragraphs (manpage.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/env.h"
#include "core/manpage.h"

/*
 * Text as roff reads it. A '-' is a hyphen to roff, which may print it as
 * one (U+2010): in an option ("--cool-down", "-p") it is written "\-", so
 * the option can be copied from the page, and a word such as "system-wide"
 * keeps its hyphen. A backslash is "\e"; a '.' or an apostrophe starting a line
 * would be a request, and "\&" before it keeps it text.
 */
static void put_roff(FILE *out, const char *s, size_t n, bool line_start, bool option)
{
	bool in_option = option;
	size_t i;

	for (i = 0; i < n; i++) {
		if (line_start && i == 0 && (s[i] == '.' || s[i] == '\''))
			fputs("\\&", out);
		if (s[i] == '-' && (i == 0 || s[i - 1] == ' ' || s[i - 1] == '('))
			in_option = true;
		else if (s[i] == ' ')
			in_option = option;
		if (s[i] == '-' && in_option)
			fputs("\\-", out);
		else if (s[i] == '\\')
			fputs("\\e", out);
		else
			fputc(s[i], out);
	}
}

/* --help's lines, joined: roff fills the paragraph itself. */
static void put_help(FILE *out, const char *help)
{
	size_t n;
	bool first = true;

	for (;;) {
		n = strcspn(help, "\n");
		put_roff(out, help, n, first, false);
		fputc('\n', out);
		if (!help[n])
			break;
		help += n + 1;
		first = false;
	}
}

int manpage__print_options(FILE *out)
{
	struct env_option_doc doc;
	size_t i;

	for (i = 0; env__option_doc(i, &doc); i++) {
		fputs(".TP\n", out);
		if (doc.short_name)
			fprintf(out, "\\fB\\-%c\\fR, ", doc.short_name);
		fputs("\\fB\\-\\-", out);
		put_roff(out, doc.name, strlen(doc.name), false, true);
		fputs("\\fR", out);
		if (doc.metavar) {
			fputs(" \\fI", out);
			put_roff(out, doc.metavar, strlen(doc.metavar), false, true);
			fputs("\\fR", out);
		}
		fputc('\n', out);
		put_help(out, doc.help);
	}
	return fflush(out) || ferror(out) ? -EIO : 0;
}
