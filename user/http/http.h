/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * http.h - a small HTTP/1.x server run from the daemon's event loop.
 *
 * Single-threaded and non-blocking: the caller polls the descriptors
 * http__pollfds() lists (next to its own), then calls http__process() with
 * the results and the current time. A request is read whole (head only,
 * HTTPREQ_MAX_HEADER bytes at most), handed to the handler, and answered
 * with one response after which the connection is closed. The handler
 * answers at once (http__respond) or later (http__defer: the connection
 * waits, without reading, until a deadline, and a callback answers then).
 *
 * Hostile clients are bounded: at most HTTP_MAX_CONNS connections (a new one
 * takes the slot of the first-come client that is idle, i.e. has sent
 * nothing more than was read for half a second since it connected; when no
 * client is idle it is sent 503 and closed), HTTP_TIMEOUT_NS to send a request head and between
 * two writes of the response, one response buffer per connection of at
 * most HTTP_MAX_BODY bytes. Nothing blocks: a stalled client only holds its
 * own slot until its time-out.
 */
#ifndef HEAPTRACE_HTTP_H
#define HEAPTRACE_HTTP_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "http/httpreq.h"
#include "util/evloop.h"

/* --http unix:PATH listens on a Unix socket. */
#define HTTP_UNIX_PREFIX     "unix:"
#define HTTP_UNIX_PREFIX_LEN 5

#define HTTP_MAX_CONNS	16
#define HTTP_TIMEOUT_NS (5ull * 1000000000ull)
#define HTTP_MAX_BODY	(256u << 20)
/* Descriptors http__pollfds() may list: the listener and every connection. */
#define HTTP_MAX_POLLFDS (HTTP_MAX_CONNS + 1)

struct http_server;
struct http_conn;

/* Called once per complete request; must answer with http__respond or http__defer. */
typedef void (*http_handler_fn)(struct http_conn *c, const struct http_request *req, void *ctx);

/* A deferred answer: fire() must call http__respond; drop() frees arg when the client left. */
typedef void (*http_fire_fn)(struct http_conn *c, void *arg);
typedef void (*http_drop_fn)(void *arg);

/*
 * Listens on `addr` (see httpreq__parse_addr), or on a Unix socket of mode
 * 0600 for "unix:PATH" (removed again by http__free). An address others
 * can reach gets a warning. On failure returns a negative errno and writes
 * one line (problem: what to do) into err.
 */
int http__listen(const char *addr, http_handler_fn fn, void *ctx, struct http_server **out,
		 char *err, size_t errlen);

/* The address actually bound, e.g. "127.0.0.1:6060". */
const char *http__address(const struct http_server *s);

/* Fills pfds (room for HTTP_MAX_POLLFDS) and returns how many were filled. */
size_t http__pollfds(struct http_server *s, struct pollfd *pfds);

/* Milliseconds until the next time-out or deferred answer (-1: none), from `now` (CLOCK_MONOTONIC
 * ns). */
int http__timeout_ms(const struct http_server *s, uint64_t now);

/* Does what the poll results say, then what is due at `now`. pfds as filled by http__pollfds. */
void http__process(struct http_server *s, const struct pollfd *pfds, size_t n, uint64_t now);

/*
 * Queues a response: status line, Content-Type, Content-Length, the given
 * extra header lines (NULL or "Name: value\r\n..."), then body. The body is
 * copied, or taken over when `take` is set (a malloc'ed buffer). Returns 0
 * or -ENOMEM (the connection is then closed).
 */
int http__respond(struct http_conn *c, int status, const char *content_type, const char *headers,
		  void *body, size_t len, int take);

/* http__respond with a text/plain body formatted like printf. */
int http__respondf(struct http_conn *c, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Answers later: at CLOCK_MONOTONIC `deadline`, fire(c, arg) is called. */
void http__defer(struct http_conn *c, uint64_t deadline, http_fire_fn fire, http_drop_fn drop,
		 void *arg);

/*
 * The server as an event-loop source: its listener and connections polled
 * with everything else, http__process run after each poll, its deadlines
 * bounding the wait.
 */
void http__as_source(struct http_server *s, struct evloop_source *src);

/*
 * The uid of the client of c, told at accept time (peer.h): false when it
 * could not be told (a client on another host).
 */
bool http__peer_uid(const struct http_conn *c, uid_t *uid);

/* Number of open connections (for tests and -v). */
size_t http__nr_conns(const struct http_server *s);

/* Closes every connection (deferred ones are dropped) and the listener; NULL is a no-op. */
void http__free(struct http_server *s);

#endif /* HEAPTRACE_HTTP_H */
