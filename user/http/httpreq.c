// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/httpreq.h"

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decodes [s, s+n) into out; '+' is a space when plus_space. NUL bytes are refused. */
static int decode(const char *s, size_t n, char *out, size_t outlen, bool plus_space)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		char c = s[i];

		if (c == '%') {
			int hi, lo;

			if (i + 2 >= n)
				return -EINVAL;
			hi = hexval(s[i + 1]);
			lo = hexval(s[i + 2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				return -EINVAL;
			c = (char)(hi * 16 + lo);
			i += 2;
		} else if (c == '+' && plus_space) {
			c = ' ';
		}
		if (o + 1 >= outlen)
			return -EINVAL;
		out[o++] = c;
	}
	out[o] = '\0';
	return 0;
}

/* The end of the head ("\r\n\r\n", or "\n\n" from lax clients), or NULL. */
static const char *head_end(const char *buf, size_t len, size_t *skip)
{
	size_t i;

	for (i = 0; i + 1 < len; i++) {
		if (buf[i] == '\n' && buf[i + 1] == '\n') {
			*skip = 2;
			return buf + i;
		}
		if (i + 3 < len && !memcmp(buf + i, "\r\n\r\n", 4)) {
			*skip = 4;
			return buf + i;
		}
	}
	return NULL;
}

/* Whether header line [p, stop) is named `name` (case-insensitive); *value is after the colon. */
static bool header_is(const char *p, const char *stop, const char *colon, const char *name,
		      const char **value)
{
	size_t n = strlen(name);

	if ((size_t)(colon - p) != n || strncasecmp(p, name, n))
		return false;
	for (p = colon + 1; p < stop && (*p == ' ' || *p == '\t'); p++)
		;
	*value = p;
	return true;
}

/* A Content-Length value: digits only, at most HTTPREQ_MAX_BODY (else 413), else 400. */
static int content_length(const char *v, const char *stop, size_t *out)
{
	size_t n = 0;

	if (v == stop)
		return 400;
	for (; v < stop && *v != ' ' && *v != '\t'; v++) {
		if (*v < '0' || *v > '9')
			return 400;
		n = n * 10 + (size_t)(*v - '0');
		if (n > HTTPREQ_MAX_BODY)
			return 413;
	}
	for (; v < stop; v++)
		if (*v != ' ' && *v != '\t')
			return 400;
	*out = n;
	return 0;
}

int httpreq__parse(const char *buf, size_t len, struct http_request *req)
{
	const char *end, *p, *line_end, *sp1, *sp2, *q;
	size_t skip, mlen, tlen, head_len = len, clen = 0;
	bool has_clen = false;

	/* The head must end within HTTPREQ_MAX_HEADER bytes; a POST's body may follow. */
	if (head_len > HTTPREQ_MAX_HEADER)
		head_len = HTTPREQ_MAX_HEADER + 1;
	end = head_end(buf, head_len, &skip);
	if (!end)
		return head_len > HTTPREQ_MAX_HEADER ? 431 : -EAGAIN;
	if (end + skip - buf > HTTPREQ_MAX_HEADER)
		return 431;
	/* No control characters but CR, LF and tab anywhere in the head. */
	for (p = buf; p < end; p++)
		if (((unsigned char)*p < 32 && *p != '\r' && *p != '\n' && *p != '\t') || *p == 127)
			return 400;

	line_end = memchr(buf, '\n', end + skip - buf);
	if (line_end > buf && line_end[-1] == '\r')
		line_end--;
	sp1 = memchr(buf, ' ', line_end - buf);
	if (!sp1)
		return 400;
	sp2 = memchr(sp1 + 1, ' ', line_end - sp1 - 1);
	if (!sp2 || memchr(sp2 + 1, ' ', line_end - sp2 - 1))
		return 400;
	mlen = sp1 - buf;
	if (line_end - sp2 - 1 != 8 || memcmp(sp2 + 1, "HTTP/1.", 7) ||
	    (sp2[8] != '0' && sp2[8] != '1'))
		/* A version shorter than "HTTP/" is malformed: compare no further than the line. */
		return line_end - sp2 - 1 >= 5 && !memcmp(sp2 + 1, "HTTP/", 5) ? 505 : 400;
	req->head = req->post = false;
	req->body = NULL;
	req->body_len = 0;
	if (mlen == 4 && !memcmp(buf, "HEAD", 4))
		req->head = true;
	else if (mlen == 4 && !memcmp(buf, "POST", 4))
		req->post = true;
	else if (mlen != 3 || memcmp(buf, "GET", 3))
		return mlen ? 405 : 400;

	tlen = sp2 - sp1 - 1;
	if (!tlen || sp1[1] != '/')
		return 400;
	q = memchr(sp1 + 1, '?', tlen);
	if (q) {
		size_t qlen = sp2 - q - 1;

		if (qlen >= sizeof(req->query))
			return 414;
		memcpy(req->query, q + 1, qlen);
		req->query[qlen] = '\0';
		tlen = q - sp1 - 1;
	} else {
		req->query[0] = '\0';
	}
	if (tlen >= sizeof(req->path))
		return 414;
	if (decode(sp1 + 1, tlen, req->path, sizeof(req->path), false))
		return 400;

	/* Each header line is "Name: value"; folded lines are obsolete and refused. */
	req->host[0] = '\0';
	for (p = (const char *)memchr(buf, '\n', end + skip - buf) + 1; p <= end;
	     p = line_end + 1) {
		const char *colon, *stop, *v;

		line_end = memchr(p, '\n', end + skip - p);
		stop = line_end > p && line_end[-1] == '\r' ? line_end - 1 : line_end;
		if (stop == p)
			break;
		if (*p == ' ' || *p == '\t')
			return 400;
		colon = memchr(p, ':', stop - p);
		if (!colon || colon == p)
			return 400;
		for (q = p; q < colon; q++)
			if (*q == ' ' || *q == '\t')
				return 400;
		if (header_is(p, stop, colon, "Host", &v)) {
			size_t hl = (size_t)(stop - v);

			/* Only names a scraper can dial back: longer or odd ones are ignored. */
			if (hl < sizeof(req->host) && !memchr(v, '"', hl) && !memchr(v, '\\', hl)) {
				memcpy(req->host, v, hl);
				req->host[hl] = '\0';
				while (hl &&
				       (req->host[hl - 1] == ' ' || req->host[hl - 1] == '\t'))
					req->host[--hl] = '\0';
			}
		}
		if (req->post) {
			int ret;

			/* A body of unknown length cannot be bounded before it is read. */
			if (header_is(p, stop, colon, "Transfer-Encoding", &v))
				return 411;
			if (header_is(p, stop, colon, "Content-Length", &v)) {
				ret = content_length(v, stop, &clen);
				if (ret)
					return ret;
				if (has_clen)
					return 400;
				has_clen = true;
			}
		}
	}
	if (req->post) {
		size_t body_start = (size_t)(end + skip - buf);

		if (len < body_start + clen)
			return -EAGAIN;
		req->body = buf + body_start;
		req->body_len = clen;
	}
	return 0;
}

int httpreq__query(const char *query, const char *name, char *out, size_t outlen)
{
	size_t nlen = strlen(name);
	const char *p = query;

	while (p && *p) {
		const char *amp = strchr(p, '&'), *eq;
		size_t plen = amp ? (size_t)(amp - p) : strlen(p);

		eq = memchr(p, '=', plen);
		if ((eq ? (size_t)(eq - p) : plen) == nlen && !memcmp(p, name, nlen)) {
			if (!eq)
				return outlen ? (out[0] = '\0', 1) : -EINVAL;
			if (decode(eq + 1, plen - nlen - 1, out, outlen, true))
				return -EINVAL;
			return 1;
		}
		p = amp ? amp + 1 : NULL;
	}
	return 0;
}

int httpreq__parse_addr(const char *addr, char *host, size_t hostlen, char *port, size_t portlen)
{
	const char *colon, *h = "127.0.0.1", *pt;
	size_t hl = strlen(h);
	char *end;
	long v;

	if (!addr || !*addr)
		return -EINVAL;
	if (addr[0] == '[') {
		const char *close = strchr(addr, ']');

		if (!close || close[1] != ':' || close == addr + 1)
			return -EINVAL;
		h = addr + 1;
		hl = close - h;
		pt = close + 2;
	} else if ((colon = strrchr(addr, ':'))) {
		if (strchr(addr, ':') != colon)
			return -EINVAL; /* an IPv6 address needs brackets */
		if (colon != addr) {
			h = addr;
			hl = colon - addr;
		}
		pt = colon + 1;
	} else {
		pt = addr;
	}
	if (*pt < '0' || *pt > '9')
		return -EINVAL;
	v = strtol(pt, &end, 10);
	if (*end || v < 0 || v > 65535 || hl + 1 > hostlen)
		return -EINVAL;
	memcpy(host, h, hl);
	host[hl] = '\0';
	snprintf(port, portlen, "%ld", v);
	return 0;
}
