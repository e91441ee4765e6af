/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * html.h - text put into an HTML page.
 */
#ifndef HEAPTRACE_HTML_H
#define HEAPTRACE_HTML_H

#include <stdio.h>

/* Writes `s` to `f` with <, >, & and " as entities: safe in text and in quoted attributes. */
void html__escape(FILE *f, const char *s);

#endif /* HEAPTRACE_HTML_H */
