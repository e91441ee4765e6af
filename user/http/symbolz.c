// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* symbolz.c - see symbolz.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/symbolz.h"
#include "symbol/symbolize.h"

#define MAX_FRAMES 16

/* The name of the code at return address `addr` in t, or NULL. */
static const char *name_in(struct serve_ctx *ctx, struct process *t, uint64_t addr)
{
	struct sym_frame sf[MAX_FRAMES];
	const struct procmap *m;
	int n, i;

	if (!t->maps || addr == 0)
		return NULL;
	m = procmaps__find(t->maps, addr);
	/* Code mapped since the snapshot (dlopen): re-read the maps, as a profile would. */
	if (!m && process__refresh_for(t, addr))
		m = procmaps__find(t->maps, addr);
	if (!m)
		return NULL;
	/* The instruction before a return address is the call, as the profiles name it. */
	n = symbolizer__resolve(ctx->symbolizer, t->pid, m, addr - 1, sf, MAX_FRAMES);
	for (i = 0; i < n; i++)
		if (sf[i].function)
			return sf[i].function;
	return NULL;
}

/* Only in the processes the asker may read: a name is as telling as an address. */
static const char *name_of(struct serve_ctx *ctx, struct http_conn *c, struct process *only,
			   uint64_t addr)
{
	size_t n, i;
	const char *name;

	if (only)
		return name_in(ctx, only, addr);
	n = ctx->procs.count(ctx->procs.ctx);
	for (i = 0; i < n; i++) {
		if (!serve__may_read(ctx, c, ctx->procs.at(ctx->procs.ctx, i), false))
			continue;
		name = name_in(ctx, ctx->procs.at(ctx->procs.ctx, i), addr);
		if (name)
			return name;
	}
	return NULL;
}

/* One "0x..." word of the request, or false when it is not a hexadecimal address. */
static bool parse_addr(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (len < 3 || len > 18 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
		return false;
	for (i = 2; i < len; i++) {
		char ch = s[i];
		int d;

		if (ch >= '0' && ch <= '9')
			d = ch - '0';
		else if (ch >= 'a' && ch <= 'f')
			d = ch - 'a' + 10;
		else if (ch >= 'A' && ch <= 'F')
			d = ch - 'A' + 10;
		else
			return false;
		v = v << 4 | (uint64_t)d;
	}
	*out = v;
	return true;
}

void symbolz__serve(struct serve_ctx *ctx, struct http_conn *c, const struct http_request *req,
		    pid_t scope)
{
	const char *in = req->post ? req->body : req->query;
	size_t in_len = req->post ? req->body_len : strlen(req->query), pos = 0, count = 0;
	struct process *only = NULL;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	if (scope) {
		only = ctx->procs.find(ctx->procs.ctx, scope);
		if (!only) {
			http__respondf(c, 404, "pid %d is not traced: see /debug/pprof/targets\n",
				       scope);
			return;
		}
	} else if (ctx->procs.count(ctx->procs.ctx) == 1 &&
		   serve__may_read(ctx, c, ctx->procs.at(ctx->procs.ctx, 0), false)) {
		only = ctx->procs.at(ctx->procs.ctx, 0);
	}
	f = open_memstream(&buf, &len);
	if (!f) {
		http__respondf(c, 500, "out of memory\n");
		return;
	}
	/* pprof only asks whether this is 0 (no symbols at all); net/http/pprof always says 1. */
	fputs("num_symbols: 1\n", f);
	while (in && pos < in_len && count < SYMBOLZ_MAX_ADDRS) {
		const char *word = in + pos, *plus = memchr(word, '+', in_len - pos);
		size_t wlen = plus ? (size_t)(plus - word) : in_len - pos;
		const char *name;
		uint64_t addr;

		pos += wlen + 1;
		/* A word that is no address is skipped, as net/http/pprof skips it. */
		if (!parse_addr(word, wlen, &addr))
			continue;
		count++;
		name = name_of(ctx, c, only, addr);
		if (name)
			fprintf(f, "%#" PRIx64 " %s\n", addr, name);
	}
	if (fclose(f)) {
		free(buf);
		http__respondf(c, 500, "out of memory\n");
		return;
	}
	http__respond(c, 200, "text/plain; charset=utf-8", NULL, buf, len, 1);
}
