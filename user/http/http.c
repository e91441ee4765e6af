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
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "http/http.h"
#include "http/peer.h"
#include "util/log.h"

/* Connections accepted per http__process call: a flood cannot starve tracing. */
#define HTTP_ACCEPT_BATCH 64
/* How long a connection that sends nothing keeps its slot against newcomers (conn_idle). */
#define HTTP_IDLE_GRACE_NS (500000000ull)
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
	uint64_t accepted; /* CLOCK_MONOTONIC ns: the oldest idle reader is evicted first */
	bool head_only;
	bool peer_known; /* peer_uid is the client's (peer.h) */
	uid_t peer_uid;
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
	char address[HTTP_UNIX_PREFIX_LEN + sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *unix_path; /* a Unix socket's file, removed by http__free; else NULL */
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
	case 403:
		return "Forbidden";
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

static int new_server(int fd, http_handler_fn fn, void *ctx, struct http_server **out, char *err,
		      size_t errlen)
{
	struct http_server *s = calloc(1, sizeof(*s));

	if (!s) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	s->lfd = fd;
	s->handler = fn;
	s->ctx = ctx;
	*out = s;
	return 0;
}

/*
 * unix:PATH: a socket file of mode 0600, so only its owner (root) can even
 * connect. A socket left at PATH by an earlier run is replaced; any other
 * kind of file is refused, never removed.
 */
static int listen_unix(const char *addr, http_handler_fn fn, void *ctx, struct http_server **out,
		       char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *path = addr + HTTP_UNIX_PREFIX_LEN;
	struct http_server *s = NULL;
	struct stat st;
	bool bound = false;
	mode_t old_mask;
	int fd = -1, ret;

	if (path[0] != '/' || strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen,
			 "invalid --http address '%s': give unix: and an absolute path of at most "
			 "%zu bytes, such as unix:/run/heaptrace.sock",
			 addr, sizeof(sa.sun_path) - 1);
		return -EINVAL;
	}
	strcpy(sa.sun_path, path);
	if (!lstat(path, &st)) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen,
				 "cannot listen on %s: '%s' exists and is not a socket: remove it "
				 "or choose another path",
				 addr, path);
			return -EEXIST;
		}
		unlink(path);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot create a socket for '%s': %s", addr, strerror(errno));
		return ret;
	}
	/* The mode is set at creation: no moment when others could connect. */
	old_mask = umask(0177);
	ret = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ? -errno : 0;
	umask(old_mask);
	bound = !ret;
	if (!ret && listen(fd, 64))
		ret = -errno;
	if (ret) {
		snprintf(err, errlen,
			 "cannot listen on %s: %s: give a path in a directory root can "
			 "write, such as unix:/run/heaptrace.sock",
			 addr, strerror(-ret));
		goto cleanup;
	}
	ret = new_server(fd, fn, ctx, &s, err, errlen);
	if (ret)
		goto cleanup;
	s->unix_path = strdup(path);
	snprintf(s->address, sizeof(s->address), "%s", addr);
	fd = -1;
	*out = s;
cleanup:
	if (fd >= 0) {
		close(fd);
		if (bound)
			unlink(path);
	}
	return ret;
}

/* Whether a bound address can be reached only from this host. */
static bool is_loopback(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24) == 127;
	if (ss->ss_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)ss)->sin6_addr;

		return IN6_IS_ADDR_LOOPBACK(a) ||
		       (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
	}
	return false;
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

	if (!strncmp(addr, HTTP_UNIX_PREFIX, HTTP_UNIX_PREFIX_LEN))
		return listen_unix(addr, fn, ctx, out, err, errlen);
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
	ret = new_server(fd, fn, ctx, &s, err, errlen);
	if (ret)
		goto cleanup;
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
	/* 0.0.0.0 included: only local clients can be told apart (peer.h). */
	if (!is_loopback(&ss))
		log_warn("--http %s is reachable from other hosts: heaptrace can tell who "
			 "asks only when the client runs on this host, so remote clients are "
			 "refused (403) unless --http-allow anyone; prefer 127.0.0.1:PORT or "
			 "unix:PATH",
			 s->address);
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

/*
 * A client still sending its head, with nothing unread, for HTTP_IDLE_GRACE_NS
 * since it connected: it is waiting, not being served. The grace spares a
 * client between its connect and its request (a busy host may delay it by
 * tens of milliseconds; a burst of parallel requests is full of them).
 */
static bool conn_idle(const struct http_conn *c)
{
	int pending = 0;

	return c->state == CONN_READ && c->srv->now - c->accepted >= HTTP_IDLE_GRACE_NS &&
	       !ioctl(c->fd, FIONREAD, &pending) && pending == 0;
}

/*
 * A slot for a new connection: a free one, else the one of the idle client
 * (conn_idle) that connected first. Clients that connect and send nothing,
 * or a byte now and then, would otherwise hold every slot until their
 * time-out and lock everyone else out. A client whose request is queued but
 * not read yet (a burst of parallel requests) is never evicted, nor is one
 * being answered: then there is no slot. HTTP_MAX_CONNS: none.
 */
static size_t free_slot(struct http_server *s)
{
	size_t i, oldest = HTTP_MAX_CONNS;

	for (i = 0; i < HTTP_MAX_CONNS; i++) {
		struct http_conn *c = s->conns[i];

		if (!c)
			return i;
		if (conn_idle(c) &&
		    (oldest == HTTP_MAX_CONNS || c->accepted < s->conns[oldest]->accepted))
			oldest = i;
	}
	if (oldest < HTTP_MAX_CONNS)
		conn_close(s->conns[oldest]);
	return oldest;
}

static void accept_new(struct http_server *s)
{
	static const char busy[] =
	    "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
	    "Content-Length: 38\r\nConnection: close\r\n\r\n"
	    "too many connections: try again later\n";
	size_t i;
	int n, fd;

	for (n = 0; n < HTTP_ACCEPT_BATCH; n++) {
		struct http_conn *c;

		fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return; /* EAGAIN, or an aborted connection: nothing to do */
		i = free_slot(s);
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
		c->peer_known = peer__uid(fd, &c->peer_uid) == 0;
		c->state = CONN_READ;
		c->accepted = s->now;
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

bool http__peer_uid(const struct http_conn *c, uid_t *uid)
{
	*uid = c->peer_uid;
	return c->peer_known;
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
	if (s->unix_path)
		unlink(s->unix_path);
	free(s->unix_path);
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
