// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* leak_html.c - see leak_html.h. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <time.h>

#include "output/leak_html.h"
#include "util/html.h"

/* The chart's size and margins, in SVG user units (pixels at zoom 1). */
#define CHART_W	  960
#define CHART_H	  360
#define MARGIN_L  90
#define MARGIN_R  20
#define MARGIN_T  20
#define MARGIN_B  40
#define MAX_LINES 5 /* suspects drawn per chart */

static void mib(FILE *f, double bytes)
{
	fprintf(f, "%.1f&nbsp;MiB", bytes / (1024.0 * 1024.0));
}

static void rate(FILE *f, double bytes_per_s)
{
	if (fabs(bytes_per_s) >= 1024 * 1024)
		fprintf(f, "%+.1f&nbsp;MiB/s", bytes_per_s / (1024.0 * 1024.0));
	else
		fprintf(f, "%+.1f&nbsp;KiB/s", bytes_per_s / 1024.0);
}

/*
 * The largest value a line of the chart reaches (at least 1, so the scale
 * is defined): the total's, or in the suspects' own chart theirs.
 */
static double chart_top(const struct leak_report *r, bool suspects_only)
{
	double top = 1;
	size_t i, k;

	for (i = 0; i < r->npoints; i++) {
		if (!suspects_only && (double)r->totals[i] > top)
			top = (double)r->totals[i];
		for (k = 0; k < r->nsuspects && k < MAX_LINES; k++)
			if ((double)r->findings[k].inuse[i] > top)
				top = (double)r->findings[k].inuse[i];
	}
	return top * 1.05;
}

static double x_of(const struct leak_report *r, size_t i)
{
	double span = (double)(r->times_ns[r->npoints - 1] - r->times_ns[0]);
	double w = CHART_W - MARGIN_L - MARGIN_R;

	if (span <= 0)
		return MARGIN_L + w / 2;
	return MARGIN_L + w * (double)(r->times_ns[i] - r->times_ns[0]) / span;
}

static double y_of(double v, double top)
{
	double h = CHART_H - MARGIN_T - MARGIN_B;

	return MARGIN_T + h * (1 - (v < 0 ? 0 : v) / top);
}

static void polyline(FILE *f, const struct leak_report *r, const int64_t *y, double top,
		     const char *colour, int width)
{
	size_t i;

	fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"%d\" points=\"", colour,
		width);
	for (i = 0; i < r->npoints; i++)
		fprintf(f, "%s%.1f,%.1f", i ? " " : "", x_of(r, i), y_of((double)y[i], top));
	fputs("\"/>\n", f);
}

static void axes(FILE *f, const struct leak_report *r, double top)
{
	int k;

	fprintf(f, "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n", CHART_W,
		CHART_H);
	for (k = 0; k <= 4; k++) {
		double v = top * k / 4, y = y_of(v, top);

		fprintf(f,
			"<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#dddddd\"/>\n"
			"<text x=\"%d\" y=\"%.1f\" font-size=\"12\" text-anchor=\"end\">",
			MARGIN_L, y, CHART_W - MARGIN_R, y, MARGIN_L - 6, y + 4);
		mib(f, v);
		fputs("</text>\n", f);
	}
	fprintf(f,
		"<text x=\"%d\" y=\"%d\" font-size=\"12\">0 s</text>\n"
		"<text x=\"%d\" y=\"%d\" font-size=\"12\" text-anchor=\"end\">%.0f s</text>\n",
		MARGIN_L, CHART_H - 12, CHART_W - MARGIN_R, CHART_H - 12, r->span_s);
}

/* In-use over time: every stack's and the suspects', or (suspects_only) the suspects' alone. */
static void chart(FILE *f, const struct leak_report *r, bool suspects_only)
{
	double top = chart_top(r, suspects_only);
	size_t i;

	fprintf(f,
		"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
		"viewBox=\"0 0 %d %d\" role=\"img\">\n",
		CHART_W, CHART_H, CHART_W, CHART_H);
	axes(f, r, top);
	if (r->npoints) {
		if (!suspects_only)
			polyline(f, r, r->totals, top, LEAK_HTML_TOTAL_COLOUR, 2);
		for (i = 0; i < r->nsuspects && i < MAX_LINES; i++)
			polyline(f, r, r->findings[i].inuse, top, LEAK_HTML_SUSPECT_COLOUR, 4);
	}
	fputs("</svg>\n", f);
}

static void findings_table(FILE *f, const struct leak_report *r)
{
	size_t i;

	fputs("<table>\n<tr><th>class</th><th>function</th><th>in use</th><th>high</th>"
	      "<th>growth/s</th><th>R²</th><th>not falling</th><th>mean age</th><th>stack</th>"
	      "</tr>\n",
	      f);
	for (i = 0; i < r->nfindings; i++) {
		const struct leak_finding *x = &r->findings[i];

		fprintf(f, "<tr class=\"%s\"><td>%s</td><td>", leak__class_name(x->cls),
			leak__class_name(x->cls));
		html__escape(f, x->function);
		fputs("</td><td>", f);
		mib(f, (double)x->inuse_bytes);
		fputs("</td><td>", f);
		mib(f, (double)x->peak_bytes);
		fputs("</td><td>", f);
		rate(f, x->growth_bytes_per_s);
		fprintf(f, "</td><td>%.2f</td><td>%.0f%%</td><td>%.0f s</td><td>", x->r2,
			x->steady * 100, x->mean_age_s);
		html__escape(f, x->stack);
		fputs("</td></tr>\n", f);
	}
	fputs("</table>\n", f);
}

int leak_html__write(const struct leak_report *const *r, size_t n, FILE *f)
{
	size_t i;

	fputs("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">\n"
	      "<title>heaptrace leak report</title>\n<style>\n"
	      "body{font-family:sans-serif;margin:16px}table{border-collapse:collapse}\n"
	      "td,th{border:1px solid #ccc;padding:2px 6px;font-size:13px;text-align:left}\n"
	      "tr.growing td{background:#fde0e0}.key{display:inline-block;width:24px;height:4px;"
	      "vertical-align:middle;margin:0 6px}\n"
	      "</style></head><body>\n<h1>heaptrace leak report</h1>\n",
	      f);
	for (i = 0; i < n; i++) {
		fprintf(f, "<h2>pid %d (", r[i]->pid);
		html__escape(f, r[i]->comm);
		fprintf(f, "): %zu profiles over %.0f s, %zu leak suspect%s</h2>\n", r[i]->npoints,
			r[i]->span_s, r[i]->nsuspects, r[i]->nsuspects == 1 ? "" : "s");
		fprintf(f,
			"<p><span class=\"key\" style=\"background:%s\"></span>in use, every stack",
			LEAK_HTML_TOTAL_COLOUR);
		if (r[i]->nsuspects)
			fprintf(f,
				"<span class=\"key\" style=\"background:%s\"></span>in use of each "
				"leak suspect",
				LEAK_HTML_SUSPECT_COLOUR);
		fputs("</p>\n", f);
		chart(f, r[i], false);
		/* On its own scale, a suspect's growth shows even beside a large heap. */
		if (r[i]->nsuspects) {
			fputs("<p>The leak suspects alone, on their own scale:</p>\n", f);
			chart(f, r[i], true);
		}
		findings_table(f, r[i]);
	}
	fputs("</body></html>\n", f);
	return ferror(f) ? -EIO : 0;
}
