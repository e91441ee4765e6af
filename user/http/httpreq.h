/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * httpreq.h - parsing of what an HTTP client sends, and of --http ADDR.
 * Pure code over buffers: no sockets, no allocation.
 *
 * Only what /debug/pprof needs: a GET, HEAD or POST request line of
 * HTTP/1.0 or 1.1, headers checked for form and size but otherwise ignored
 * except Content-Length (only a POST has a body: pprof's symbol lookups),
 * and the query string's parameters.
 */
#ifndef HEAPTRACE_HTTPREQ_H
#define HEAPTRACE_HTTPREQ_H

#include <stdbool.h>
#include <stddef.h>

#define HTTPREQ_MAX_HEADER 8192 /* request line and headers, bytes */
#define HTTPREQ_MAX_PATH   256
#define HTTPREQ_MAX_QUERY  1024
#define HTTPREQ_MAX_HOST   256
#define HTTPREQ_MAX_BODY   (256u << 10) /* a POST's body, bytes */

struct http_request {
	bool head;		       /* HEAD: answer without a body */
	char path[HTTPREQ_MAX_PATH];   /* percent-decoded */
	char query[HTTPREQ_MAX_QUERY]; /* raw, after '?' */
	char host[HTTPREQ_MAX_HOST];   /* the Host header, or "" */
	bool post;		       /* POST: body holds what was sent */
	const char *body;	       /* into the parsed buffer; NULL when none */
	size_t body_len;
};

/*
 * Parses the first `len` bytes a client sent. Returns 0 when a whole
 * request head is there (*req filled), -EAGAIN when more bytes are needed,
 * or the HTTP status to answer for a bad request: 400 (malformed), 405 (not
 * GET/HEAD/POST), 411 (a chunked body), 413 (a body over HTTPREQ_MAX_BODY),
 * 414 (target too long), 431 (head over HTTPREQ_MAX_HEADER), 505 (not
 * HTTP/1.x). A POST is whole once its Content-Length bytes are there (none
 * given: no body).
 */
int httpreq__parse(const char *buf, size_t len, struct http_request *req);

/*
 * Finds parameter `name` in a raw query string and copies its decoded value
 * to out. Returns 1 when found, 0 when absent, -EINVAL when the value is
 * malformed or does not fit.
 */
int httpreq__query(const char *query, const char *name, char *out, size_t outlen);

/*
 * Splits an --http address: "PORT" (host 127.0.0.1), "HOST:PORT",
 * "[IPV6]:PORT", ":PORT" (127.0.0.1 too: loopback unless an address is
 * named). PORT is 0..65535; 0 lets the kernel pick a free port. Returns 0
 * or -EINVAL.
 */
int httpreq__parse_addr(const char *addr, char *host, size_t hostlen, char *port, size_t portlen);

#endif /* HEAPTRACE_HTTPREQ_H */
