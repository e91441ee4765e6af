// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http/http.h"

/* Connections accepted per http__process call: a flood cannot starve tracing. */
#define HTTP_ACCEPT_BATCH 64
/* After the response: how long unread input is drained before closing (avoids a reset). */
#define HTTP_LINGER_NS (1000000000ull)

enum conn_state {
	CONN_READ,  /* reading the request head */
	CONN_DEFER, /* waiting for a deferred answer */
	CONN_WRITE, /* sending head then body */
	CONN_DRAIN, /* response sent, write side shut: reading until EOF */
};

struct http_conn {
	struct http_server *srv;
	int fd;
	enum conn_state state;
	uint64_t deadline;
	bool head_only;
	char in[HTTPREQ_MAX_HEADER + HTTPREQ_MAX_BODY + 1]; /* head, then a POST's body */
	size_t in_len;
	char *out_head, *out_body;
	size_t head_len, body_len, sent;
	http_fire_fn fire;
	http_drop_fn drop;
	void *arg;
};

struct http_server {
	int lfd;
	char address[80];
	http_handler_fn handler;
	void *ctx;
	struct http_conn *conns[HTTP_MAX_CONNS];
	uint64_t now; /* time of the http__process call in progress */
};

static const char *reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 411:
		return "Length Required";
	case 413:
		return "Content Too Large";
	case 414:
		return "URI Too Long";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 503:
		return "Service Unavailable";
	case 505:
		return "HTTP Version Not Supported";
	}
	return "Unknown";
}

int http__listen(const char *addr, http_handler_fn fn, void *ctx, struct http_server **out,
		 char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct addrinfo *ai = NULL;
	struct http_server *s = NULL;
	char host[64], port[8], h[INET6_ADDRSTRLEN];
	int one = 1, fd = -1, ret;

	if (httpreq__parse_addr(addr, host, sizeof(host), port, sizeof(port))) {
		snprintf(err, errlen,
			 "invalid --http address '%s': use PORT, HOST:PORT or [IPV6]:PORT", addr);
		return -EINVAL;
	}
	ret = getaddrinfo(host, port, &hints, &ai);
	if (ret) {
		snprintf(err, errlen,
			 "cannot listen on '%s': %s: give a local IP address such as 127.0.0.1",
			 addr, gai_strerror(ret));
		return -EINVAL;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot create a socket for '%s': %s", addr, strerror(errno));
		goto cleanup;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, 64)) {
		ret = -errno;
		if (errno == EADDRINUSE)
			snprintf(
			    err, errlen,
			    "cannot listen on %s: address already in use: stop what serves there "
			    "or choose another port, such as --http %s:%d",
			    addr, host, atoi(port) < 65535 ? atoi(port) + 1 : 6060);
		else if (errno == EACCES)
			snprintf(err, errlen,
				 "cannot listen on %s: permission denied: ports below 1024 need "
				 "CAP_NET_BIND_SERVICE; choose a port above 1023",
				 addr);
		else
			snprintf(err, errlen,
				 "cannot listen on %s: %s: give an address of this host", addr,
				 strerror(errno));
		goto cleanup;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		ret = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto cleanup;
	}
	s->lfd = fd;
	s->handler = fn;
	s->ctx = ctx;
	getsockname(fd, (struct sockaddr *)&ss, &sl);
	if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		inet_ntop(AF_INET6, &a->sin6_addr, h, sizeof(h));
		snprintf(s->address, sizeof(s->address), "[%s]:%d", h, ntohs(a->sin6_port));
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &a->sin_addr, h, sizeof(h));
		snprintf(s->address, sizeof(s->address), "%s:%d", h, ntohs(a->sin_port));
	}
	fd = -1;
	*out = s;
	ret = 0;
cleanup:
	if (fd >= 0)
		close(fd);
	freeaddrinfo(ai);
	return ret;
}

const char *http__address(const struct http_server *s)
{
	return s->address;
}

static void conn_close(struct http_conn *c)
{
	size_t i;

	if (c->state == CONN_DEFER && c->drop)
		c->drop(c->arg);
	for (i = 0; i < HTTP_MAX_CONNS; i++)
		if (c->srv->conns[i] == c)
			c->srv->conns[i] = NULL;
	close(c->fd);
	free(c->out_head);
	free(c->out_body);
	free(c);
}

size_t http__pollfds(struct http_server *s, struct pollfd *pfds)
{
	size_t i, n = 0;

	pfds[n++] = (struct pollfd){ .fd = s->lfd, .events = POLLIN };
	for (i = 0; i < HTTP_MAX_CONNS; i++) {
		struct http_conn *c = s->conns[i];
		short ev = 0;

		if (!c)
			continue;
		switch (c->state) {
		case CONN_READ:
		case CONN_DRAIN:
			ev = POLLIN;
			break;
		case CONN_DEFER:
			ev = POLLRDHUP; /* only to notice a client that gave up */
			break;
		case CONN_WRITE:
			ev = POLLOUT;
			break;
		}
		pfds[n++] = (struct pollfd){ .fd = c->fd, .events = ev };
	}
	return n;
}

int http__timeout_ms(const struct http_server *s, uint64_t now)
{
	uint64_t first = UINT64_MAX;
	size_t i;

	for (i = 0; i < HTTP_MAX_CONNS; i++)
		if (s->conns[i] && s->conns[i]->deadline < first)
			first = s->conns[i]->deadline;
	if (first == UINT64_MAX)
		return -1;
	return first > now ? (int)((first - now + 999999) / 1000000) : 0;
}

int http__respond(struct http_conn *c, int status, const char *content_type, const char *headers,
		  void *body, size_t len, int take)
{
	char *copy = NULL;
	int n;

	if (len > HTTP_MAX_BODY) {
		if (take)
			free(body);
		return http__respondf(c, 500, "response of %zu bytes is over the limit of %u\n",
				      len, HTTP_MAX_BODY);
	}
	if (!take && len) {
		copy = malloc(len);
		if (copy)
			memcpy(copy, body, len);
	} else {
		copy = body;
	}
	free(c->out_head);
	free(c->out_body);
	c->out_body = copy;
	c->body_len = len;
	n = asprintf(&c->out_head,
		     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
		     "X-Content-Type-Options: nosniff\r\nConnection: close\r\n%s\r\n",
		     status, reason(status), content_type, len, headers ? headers : "");
	if (n < 0 || (len && !copy)) {
		c->out_head = NULL;
		/* Closed by the next http__process: its deadline is now. */
		c->state = CONN_DRAIN;
		c->deadline = 0;
		return -ENOMEM;
	}
	c->head_len = (size_t)n;
	if (c->head_only)
		c->body_len = 0;
	c->sent = 0;
	c->state = CONN_WRITE;
	c->deadline = c->srv->now + HTTP_TIMEOUT_NS;
	return 0;
}

int http__respondf(struct http_conn *c, int status, const char *fmt, ...)
{
	va_list ap;
	char *text;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&text, fmt, ap);
	va_end(ap);
	if (n < 0) {
		c->state = CONN_DRAIN;
		c->deadline = 0;
		return -ENOMEM;
	}
	return http__respond(c, status, "text/plain; charset=utf-8", NULL, text, (size_t)n, 1);
}

void http__defer(struct http_conn *c, uint64_t deadline, http_fire_fn fire, http_drop_fn drop,
		 void *arg)
{
	c->state = CONN_DEFER;
	c->deadline = deadline;
	c->fire = fire;
	c->drop = drop;
	c->arg = arg;
}

static void accept_new(struct http_server *s)
{
	static const char busy[] =
	    "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
	    "Content-Length: 38\r\nConnection: close\r\n\r\n"
	    "too many connections: try again later\n";
	int n, i, fd;

	for (n = 0; n < HTTP_ACCEPT_BATCH; n++) {
		struct http_conn *c;

		fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return; /* EAGAIN, or an aborted connection: nothing to do */
		for (i = 0; i < HTTP_MAX_CONNS && s->conns[i]; i++)
			;
		c = i < HTTP_MAX_CONNS ? calloc(1, sizeof(*c)) : NULL;
		if (!c) {
			/* Best effort, never waiting: a full socket buffer just loses the text. */
			if (send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
				(void)0;
			close(fd);
			continue;
		}
		c->srv = s;
		c->fd = fd;
		c->state = CONN_READ;
		c->deadline = s->now + HTTP_TIMEOUT_NS;
		s->conns[i] = c;
	}
}

static void do_read(struct http_conn *c)
{
	struct http_request req;
	ssize_t n;
	int ret;

	n = recv(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		conn_close(c);
		return;
	}
	c->in_len += (size_t)n;
	ret = httpreq__parse(c->in, c->in_len, &req);
	if (ret == -EAGAIN)
		return;
	if (ret > 0) {
		http__respondf(c, ret, "%d %s\n", ret, reason(ret));
		return;
	}
	c->head_only = req.head;
	c->srv->handler(c, &req, c->srv->ctx);
	if (c->state == CONN_READ) /* a handler that forgot to answer */
		http__respondf(c, 500, "no response\n");
}

static void do_write(struct http_conn *c)
{
	while (c->sent < c->head_len + c->body_len) {
		const char *p;
		size_t left;
		ssize_t n;

		if (c->sent < c->head_len) {
			p = c->out_head + c->sent;
			left = c->head_len - c->sent;
		} else {
			p = c->out_body + (c->sent - c->head_len);
			left = c->body_len - (c->sent - c->head_len);
		}
		n = send(c->fd, p, left, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			conn_close(c);
			return;
		}
		c->sent += (size_t)n;
		c->deadline = c->srv->now + HTTP_TIMEOUT_NS;
	}
	shutdown(c->fd, SHUT_WR);
	free(c->out_body);
	c->out_body = NULL;
	c->state = CONN_DRAIN;
	c->deadline = c->srv->now + HTTP_LINGER_NS;
}

static void do_drain(struct http_conn *c)
{
	char buf[4096];
	ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);

	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
		conn_close(c);
}

static struct http_conn *find_conn(struct http_server *s, int fd)
{
	size_t i;

	for (i = 0; i < HTTP_MAX_CONNS; i++)
		if (s->conns[i] && s->conns[i]->fd == fd)
			return s->conns[i];
	return NULL;
}

void http__process(struct http_server *s, const struct pollfd *pfds, size_t n, uint64_t now)
{
	size_t i;

	s->now = now;
	for (i = 0; i < n; i++) {
		struct http_conn *c;

		if (!pfds[i].revents)
			continue;
		if (pfds[i].fd == s->lfd) {
			accept_new(s);
			continue;
		}
		c = find_conn(s, pfds[i].fd);
		if (!c)
			continue;
		if (c->state == CONN_DEFER) {
			/* The client closed or reset while waiting for its answer. */
			conn_close(c);
		} else if (c->state == CONN_READ) {
			do_read(c);
		} else if (c->state == CONN_WRITE) {
			if (pfds[i].revents & (POLLERR | POLLHUP))
				conn_close(c);
			else
				do_write(c);
		} else {
			do_drain(c);
		}
	}
	for (i = 0; i < HTTP_MAX_CONNS; i++) {
		struct http_conn *c = s->conns[i];

		if (!c || c->deadline > now)
			continue;
		switch (c->state) {
		case CONN_DEFER:
			c->state = CONN_READ; /* fire() answers; drop() is no longer due */
			c->fire(c, c->arg);
			if (c->state == CONN_READ)
				http__respondf(c, 500, "no response\n");
			break;
		case CONN_READ:
			if (c->in_len) {
				http__respondf(c, 408, "408 Request Timeout\n");
				break;
			}
			/* A client that never sent a byte gets no answer. */
			__attribute__((fallthrough));
		default:
			conn_close(c);
			break;
		}
		/* An answer just queued goes out in the next round, after a poll. */
	}
}

size_t http__nr_conns(const struct http_server *s)
{
	size_t i, n = 0;

	for (i = 0; i < HTTP_MAX_CONNS; i++)
		n += s->conns[i] != NULL;
	return n;
}

void http__free(struct http_server *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < HTTP_MAX_CONNS; i++)
		if (s->conns[i])
			conn_close(s->conns[i]);
	close(s->lfd);
	free(s);
}

static size_t source_prepare(void *ctx, struct pollfd *fds, size_t max, uint64_t now,
			     int *timeout_ms)
{
	(void)max; /* max_fds is HTTP_MAX_POLLFDS */
	*timeout_ms = http__timeout_ms(ctx, now);
	return http__pollfds(ctx, fds);
}

static void source_dispatch(void *ctx, const struct pollfd *fds, size_t n, uint64_t now)
{
	http__process(ctx, fds, n, now);
}

void http__as_source(struct http_server *s, struct evloop_source *src)
{
	*src = (struct evloop_source){ .max_fds = HTTP_MAX_POLLFDS,
				       .prepare = source_prepare,
				       .dispatch = source_dispatch,
				       .ctx = s };
}
