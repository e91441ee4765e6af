/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * leak_html.h - the leak report as one self-contained HTML page: per
 * process, an inline SVG chart of its in-use over time (every stack) with
 * each suspect's own in-use drawn over it, and the findings as tables. No
 * script, style sheet, font or image is fetched: the page works offline.
 */
#ifndef HEAPTRACE_LEAK_HTML_H
#define HEAPTRACE_LEAK_HTML_H

#include <stddef.h>
#include <stdio.h>

#include "output/leak.h"

/* The colours of the chart's lines, so that a test can look for them. */
#define LEAK_HTML_TOTAL_COLOUR	 "#1f77b4"
#define LEAK_HTML_SUSPECT_COLOUR "#d62728"

/* Writes the page for n processes' reports. Returns 0 or -EIO. */
int leak_html__write(const struct leak_report *const *r, size_t n, FILE *f);

#endif /* HEAPTRACE_LEAK_HTML_H */
