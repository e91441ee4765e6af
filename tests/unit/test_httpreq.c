// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Unit tests of the HTTP request parser, query lookup and --http address parsing. */
#include <errno.h>
#include <string.h>

#include "http/httpreq.h"
#include "tap.h"

static int parse(const char *s, struct http_request *req)
{
	return httpreq__parse(s, strlen(s), req);
}

int main(void)
{
	struct http_request req;
	char big[HTTPREQ_MAX_HEADER + 200], val[64], host[64], port[8];
	int ret;

	ret = parse("GET /debug/pprof/heap?pid=12&debug=1 HTTP/1.1\r\nHost: x\r\nUser-Agent: "
		    "curl\r\n\r\n",
		    &req);
	ok(ret == 0 && !req.head, "GET with headers parses");
	ok(!strcmp(req.path, "/debug/pprof/heap"), "path split from query (%s)", req.path);
	ok(!strcmp(req.query, "pid=12&debug=1"), "query kept raw (%s)", req.query);
	ok(parse("HEAD /debug/pprof/ HTTP/1.0\r\n\r\n", &req) == 0 && req.head && !req.query[0],
	   "HEAD, HTTP/1.0, no headers, no query");
	ok(parse("GET /debug/pprof/ HTTP/1.1\n\n", &req) == 0, "bare LF line ends accepted");
	ok(parse("GET /debug/%70prof/ HTTP/1.1\r\n\r\n", &req) == 0 &&
	       !strcmp(req.path, "/debug/pprof/"),
	   "percent-decoded path");

	ok(parse("GET / HTTP/1.1\r\nHost: x\r\n", &req) == -EAGAIN, "incomplete head: need more");
	ok(parse("", &req) == -EAGAIN, "nothing yet: need more");
	ok(parse("GET", &req) == -EAGAIN, "partial request line: need more");
	ok(parse("PUT / HTTP/1.1\r\n\r\n", &req) == 405, "PUT: 405");
	ok(parse("POST /s HTTP/1.1\r\n\r\n", &req) == 0 && req.post && !req.body_len,
	   "POST without Content-Length: no body");
	ok(parse("POST /s HTTP/1.1\r\ncontent-length: 5\r\n\r\n0x1+", &req) == -EAGAIN,
	   "POST: body incomplete, need more");
	ok(parse("POST /s HTTP/1.1\r\nContent-Length: 5\r\n\r\n0x1+2", &req) == 0 &&
	       req.body_len == 5 && !memcmp(req.body, "0x1+2", 5),
	   "POST: body of Content-Length bytes");
	ok(parse("POST /s HTTP/1.1\r\nContent-Length: 999999999\r\n\r\n", &req) == 413,
	   "POST: body too large: 413");
	ok(parse("POST /s HTTP/1.1\r\nContent-Length: 1x\r\n\r\n", &req) == 400,
	   "POST: bad Content-Length: 400");
	ok(parse("POST /s HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", &req) == 411,
	   "POST: chunked body: 411");
	ok(parse("GET / HTTP/1.1\r\nContent-Length: 3\r\n\r\n", &req) == 0 && !req.post,
	   "GET: Content-Length ignored");
	ok(parse("GET / HTTP/1.1\r\nhost:  box.example:6060 \r\n\r\n", &req) == 0 &&
	       !strcmp(req.host, "box.example:6060"),
	   "Host kept, case-insensitive, blanks trimmed (%s)", req.host);
	ok(parse("GET / HTTP/1.1\r\nHost: a\"b\r\n\r\n", &req) == 0 && !req.host[0],
	   "a Host with a quote is ignored");
	ok(parse("GET / HTTP/1.1\r\n\r\n", &req) == 0 && !req.host[0], "no Host: empty");
	ok(parse("GET / HTTP/2.0\r\n\r\n", &req) == 505, "HTTP/2.0: 505");
	ok(parse("GET / FOO/1.1\r\n\r\n", &req) == 400, "not HTTP: 400");
	ok(parse("GET /\r\n\r\n", &req) == 400, "HTTP/0.9 style line: 400");
	ok(parse("GET  / HTTP/1.1\r\n\r\n", &req) == 400, "double space: 400");
	ok(parse("GET x HTTP/1.1\r\n\r\n", &req) == 400, "target not absolute: 400");
	ok(parse("GET / HTTP/1.1\r\nNoColon\r\n\r\n", &req) == 400, "header without colon: 400");
	ok(parse("GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", &req) == 400,
	   "space in header name: 400");
	ok(parse("GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n", &req) == 400, "folded header: 400");
	ok(parse("GET /%00 HTTP/1.1\r\n\r\n", &req) == 400, "%%00 in path: 400");
	ok(parse("GET /%zz HTTP/1.1\r\n\r\n", &req) == 400, "bad escape: 400");
	ok(parse("GET /\x01 HTTP/1.1\r\n\r\n", &req) == 400, "control byte: 400");
	{
		static const char tls[] = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n";

		ok(httpreq__parse(tls, sizeof(tls) - 1, &req) == 400, "TLS hello bytes: 400");
	}

	memset(big, 'a', sizeof(big));
	memcpy(big, "GET /", 5);
	big[sizeof(big) - 1] = '\0';
	ok(httpreq__parse(big, HTTPREQ_MAX_HEADER + 1, &req) == 431,
	   "head over %d bytes without an end: 431", HTTPREQ_MAX_HEADER);
	memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
	memcpy(big + HTTPREQ_MAX_HEADER + 10, "\r\n\r\n", 4);
	ok(httpreq__parse(big, HTTPREQ_MAX_HEADER + 14, &req) == 431, "huge header line: 431");
	memset(big, 'a', sizeof(big));
	memcpy(big, "GET /", 5);
	memcpy(big + 2000, " HTTP/1.1\r\n\r\n", 13);
	ok(httpreq__parse(big, 2013, &req) == 414, "2000-byte path: 414");

	ok(httpreq__query("pid=12&debug=1", "debug", val, sizeof(val)) == 1 && !strcmp(val, "1"),
	   "query: debug=1");
	ok(httpreq__query("pid=12&debug=1", "pid", val, sizeof(val)) == 1 && !strcmp(val, "12"),
	   "query: pid=12");
	ok(httpreq__query("pid=12&debug=1", "seconds", val, sizeof(val)) == 0, "query: absent");
	ok(httpreq__query("xpid=1", "pid", val, sizeof(val)) == 0, "query: no prefix match");
	ok(httpreq__query("a=%41+b", "a", val, sizeof(val)) == 1 && !strcmp(val, "A b"),
	   "query: decoded value");
	ok(httpreq__query("a=%4", "a", val, sizeof(val)) == -EINVAL, "query: truncated escape");
	ok(httpreq__query("a=123456", "a", val, 4) == -EINVAL, "query: value too long");
	ok(httpreq__query("", "a", val, sizeof(val)) == 0, "query: empty");

	ok(httpreq__parse_addr("6060", host, sizeof(host), port, sizeof(port)) == 0 &&
	       !strcmp(host, "127.0.0.1") && !strcmp(port, "6060"),
	   "addr: bare port is loopback");
	ok(httpreq__parse_addr(":6060", host, sizeof(host), port, sizeof(port)) == 0 &&
	       !strcmp(host, "127.0.0.1"),
	   "addr: :port is loopback");
	ok(httpreq__parse_addr("0.0.0.0:80", host, sizeof(host), port, sizeof(port)) == 0 &&
	       !strcmp(host, "0.0.0.0") && !strcmp(port, "80"),
	   "addr: host:port");
	ok(httpreq__parse_addr("[::1]:6060", host, sizeof(host), port, sizeof(port)) == 0 &&
	       !strcmp(host, "::1"),
	   "addr: [::1]:port");
	ok(httpreq__parse_addr("::1:6060", host, sizeof(host), port, sizeof(port)) == -EINVAL,
	   "addr: IPv6 without brackets refused");
	ok(httpreq__parse_addr("host:70000", host, sizeof(host), port, sizeof(port)) == -EINVAL,
	   "addr: port out of range");
	ok(httpreq__parse_addr("host:", host, sizeof(host), port, sizeof(port)) == -EINVAL,
	   "addr: no port");
	ok(httpreq__parse_addr("", host, sizeof(host), port, sizeof(port)) == -EINVAL,
	   "addr: empty");
	return done_testing();
}
