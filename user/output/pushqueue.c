// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* pushqueue.c - see pushqueue.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "output/pushqueue.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/strbuf.h"
#include "util/vec.h"
#include "util/fdio.h"

#define SPOOL_SUFFIX ".push"
/* Back-off between attempts while the server is away. */
#define RETRY_FIRST_NS (1000000000ull)
#define RETRY_MAX_NS   (30000000000ull)
/* One request's limits: a server that stalls only delays the next. */
#define CONNECT_TIMEOUT_S 10L
#define REQUEST_TIMEOUT_S 60L
/* Of a refusal's answer, what the warning quotes. */
#define ANSWER_QUOTE 160

enum send_result {
	SEND_OK,
	SEND_RETRY,   /* keep the file, try again after the back-off */
	SEND_REFUSED, /* the server will never take it: drop it */
};

struct pushqueue {
	char *url; /* URL/ingest */
	char *dir;
	int dir_fd; /* held with flock: one heaptrace per spool */
	uint64_t spool_size;
	char *auth_header; /* "Authorization: Bearer ...", or NULL */
	const char *ca_file;
	CURL *curl;
	struct curl_slist *headers;

	pthread_t worker;
	bool started;
	pthread_mutex_t lock;
	pthread_cond_t wake; /* on CLOCK_MONOTONIC */
	bool stop;
	uint64_t drain_deadline_ns; /* once stop: when the worker gives up */
	char *in_flight;	    /* the file being sent: never dropped to make room */
	uint64_t last_seq;	    /* the newest file's number, to keep names increasing */

	/* The worker's own. */
	uint64_t retry_at_ns, backoff_ns;
	unsigned failures; /* attempts failed in a row */
	char answer[ANSWER_QUOTE + 1];
	size_t answer_len;
};

static bool is_spool_file(const char *name)
{
	size_t n = strlen(name), s = strlen(SPOOL_SUFFIX);

	return n > s && name[0] != '.' && !strcmp(name + n - s, SPOOL_SUFFIX);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * The spool's files, oldest first (names are fixed-width numbers), and the
 * bytes they hold. Returns 0 or a negative errno; *names is freed by the
 * caller with free_names().
 */
static int list_spool(const struct pushqueue *q, char ***names, size_t *nr, uint64_t *bytes)
{
	size_t cap = 0, n = 0;
	char **v = NULL;
	struct dirent *de;
	DIR *d = opendir(q->dir);

	*bytes = 0;
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		struct stat st;

		if (!is_spool_file(de->d_name) || fstatat(dirfd(d), de->d_name, &st, 0))
			continue;
		if (VEC_RESERVE(v, cap, n + 1) || !(v[n] = strdup(de->d_name))) {
			closedir(d);
			while (n)
				free(v[--n]);
			free(v);
			return -ENOMEM;
		}
		n++;
		*bytes += (uint64_t)st.st_size;
	}
	closedir(d);
	if (n)
		qsort(v, n, sizeof(*v), cmp_names);
	*names = v;
	*nr = n;
	return 0;
}

static void free_names(char **names, size_t nr)
{
	while (nr)
		free(names[--nr]);
	free(names);
}

/* The oldest spooled file's name (malloc'ed), or NULL. Under lock. */
static char *oldest_file(const struct pushqueue *q)
{
	char **names, *first = NULL;
	uint64_t bytes;
	size_t nr;

	if (list_spool(q, &names, &nr, &bytes) || !nr)
		return NULL;
	first = names[0];
	names[0] = NULL;
	free_names(names, nr);
	return first;
}

static int unlink_spooled(const struct pushqueue *q, const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", q->dir, name);
	return unlink(path) ? -errno : 0;
}

/* Reads a spool file: the query on its first line, the body after. */
static int read_spooled(const struct pushqueue *q, const char *name, struct strbuf *query,
			struct strbuf *body)
{
	char path[PATH_MAX], buf[65536];
	ssize_t n;
	char *nl;
	int fd, err = 0;

	snprintf(path, sizeof(path), "%s/%s", q->dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		err = strbuf__grow(body, (size_t)n);
		if (err)
			break;
		memcpy(body->buf + body->len, buf, (size_t)n);
		body->len += (size_t)n;
		body->buf[body->len] = '\0';
	}
	if (n < 0)
		err = -errno;
	close(fd);
	if (err)
		return err;
	nl = body->len ? memchr(body->buf, '\n', body->len) : NULL;
	if (!nl)
		return -EBADMSG;
	*nl = '\0';
	err = strbuf__add(query, body->buf);
	if (err)
		return err;
	/* The body is what follows the query line. */
	body->len -= (size_t)(nl + 1 - body->buf);
	memmove(body->buf, nl + 1, body->len + 1);
	return 0;
}

static size_t on_answer(char *data, size_t size, size_t nmemb, void *arg)
{
	struct pushqueue *q = arg;
	size_t n = size * nmemb, room = ANSWER_QUOTE - q->answer_len;

	if (room) {
		size_t take = n < room ? n : room;

		memcpy(q->answer + q->answer_len, data, take);
		q->answer_len += take;
		q->answer[q->answer_len] = '\0';
	}
	return n;
}

/* libcurl asks about once a second: a request in flight ends when the drain time is up. */
static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	struct pushqueue *q = arg;
	bool stop;
	uint64_t deadline;

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	pthread_mutex_lock(&q->lock);
	stop = q->stop;
	deadline = q->drain_deadline_ns;
	pthread_mutex_unlock(&q->lock);
	return stop && clock__mono_ns() >= deadline;
}

/* The answer's first line, for a warning. */
static const char *answer_line(struct pushqueue *q)
{
	char *nl = strpbrk(q->answer, "\r\n");

	if (nl)
		*nl = '\0';
	return q->answer;
}

static enum send_result send_spooled(struct pushqueue *q, const char *name)
{
	struct strbuf query = { 0 }, body = { 0 }, url = { 0 };
	enum send_result res = SEND_RETRY;
	long code = 0;
	CURLcode rc;
	int err;

	err = read_spooled(q, name, &query, &body);
	if (err) {
		log_warn("push: cannot read spooled profile '%s/%s': %s: dropped", q->dir, name,
			 strerror(-err));
		res = SEND_REFUSED;
		goto cleanup;
	}
	if (strbuf__addf(&url, "%s?%s", q->url, strbuf__str(&query)))
		goto cleanup;
	q->answer_len = 0;
	q->answer[0] = '\0';
	curl_easy_setopt(q->curl, CURLOPT_URL, strbuf__str(&url));
	curl_easy_setopt(q->curl, CURLOPT_POSTFIELDS, body.buf);
	curl_easy_setopt(q->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body.len);
	rc = curl_easy_perform(q->curl);
	if (rc != CURLE_OK) {
		if (!q->failures)
			log_warn("push: cannot send to %s: %s: retrying, profiles wait in %s",
				 q->url, curl_easy_strerror(rc), q->dir);
		goto cleanup;
	}
	curl_easy_getinfo(q->curl, CURLINFO_RESPONSE_CODE, &code);
	if (code >= 200 && code < 300) {
		res = SEND_OK;
	} else if (code >= 500 || code == 408 || code == 429 || code == 401 || code == 403) {
		/* The server's trouble, or a token it may yet accept: the profile is still good. */
		if (!q->failures)
			log_warn("push: %s answered HTTP %ld (%s): retrying, profiles wait in %s",
				 q->url, code, answer_line(q), q->dir);
	} else {
		log_warn("push: %s refused profile %s: HTTP %ld (%s): dropped", q->url, name, code,
			 answer_line(q));
		res = SEND_REFUSED;
	}
cleanup:
	strbuf__release(&url);
	strbuf__release(&query);
	strbuf__release(&body);
	return res;
}

/* Under lock: what an attempt's result does to the file and the back-off. */
static void settle(struct pushqueue *q, const char *name, enum send_result res)
{
	int err = 0;

	/* A file that cannot be removed would be sent again at once: wait as for a failure. */
	if (res != SEND_RETRY) {
		err = unlink_spooled(q, name);
		if (err && err != -ENOENT) {
			log_warn("push: cannot remove '%s/%s': %s: it will be sent again", q->dir,
				 name, strerror(-err));
			res = SEND_RETRY;
		}
	}
	if (res == SEND_RETRY) {
		q->failures++;
		q->backoff_ns = q->backoff_ns ? q->backoff_ns * 2 : RETRY_FIRST_NS;
		if (q->backoff_ns > RETRY_MAX_NS)
			q->backoff_ns = RETRY_MAX_NS;
		q->retry_at_ns = clock__mono_ns() + q->backoff_ns;
		return;
	}
	if (res == SEND_OK && q->failures)
		log_info("push: %s takes profiles again (after %u failed attempts)", q->url,
			 q->failures);
	if (res == SEND_OK) {
		q->failures = 0;
		q->backoff_ns = 0;
		q->retry_at_ns = 0;
	}
}

static void wait_until(struct pushqueue *q, uint64_t deadline_ns)
{
	struct timespec ts;

	if (!deadline_ns) {
		pthread_cond_wait(&q->wake, &q->lock);
		return;
	}
	ts.tv_sec = (time_t)(deadline_ns / 1000000000ull);
	ts.tv_nsec = (long)(deadline_ns % 1000000000ull);
	pthread_cond_timedwait(&q->wake, &q->lock, &ts);
}

static void *worker_main(void *arg)
{
	struct pushqueue *q = arg;

	pthread_mutex_lock(&q->lock);
	for (;;) {
		uint64_t now = clock__mono_ns();
		char *next = oldest_file(q);
		enum send_result res;

		if (q->stop && (!next || now >= q->drain_deadline_ns ||
				q->retry_at_ns >= q->drain_deadline_ns)) {
			free(next);
			break;
		}
		if (!next || now < q->retry_at_ns) {
			uint64_t until = next ? q->retry_at_ns : 0;

			if (q->stop && (!until || until > q->drain_deadline_ns))
				until = q->drain_deadline_ns;
			free(next);
			wait_until(q, until);
			continue;
		}
		q->in_flight = next;
		pthread_mutex_unlock(&q->lock);
		res = send_spooled(q, next);
		pthread_mutex_lock(&q->lock);
		q->in_flight = NULL;
		settle(q, next, res);
		free(next);
	}
	pthread_mutex_unlock(&q->lock);
	return NULL;
}

/* Under lock: drops the oldest files (never the one in flight) until `need` more bytes fit. */
static int make_room(struct pushqueue *q, uint64_t need)
{
	size_t nr, i, dropped = 0;
	uint64_t bytes;
	char **names;
	int err = list_spool(q, &names, &nr, &bytes);

	if (err)
		return err;
	for (i = 0; i < nr && bytes + need > q->spool_size; i++) {
		char path[PATH_MAX];
		struct stat st;

		if (q->in_flight && !strcmp(names[i], q->in_flight))
			continue;
		snprintf(path, sizeof(path), "%s/%s", q->dir, names[i]);
		if (stat(path, &st) || unlink(path))
			continue;
		bytes -= (uint64_t)st.st_size;
		dropped++;
	}
	if (dropped)
		log_warn("push: spool %s is full (--push-spool-size %" PRIu64
			 " bytes): dropped the %zu oldest unsent profile(s)",
			 q->dir, q->spool_size, dropped);
	free_names(names, nr);
	return 0;
}

int pushqueue__add(struct pushqueue *q, const char *query, const void *body, size_t len)
{
	uint64_t need = strlen(query) + 1 + len, seq;
	char tmp[PATH_MAX], path[PATH_MAX];
	int fd, err;

	if (need > q->spool_size) {
		log_warn("push: a profile of %" PRIu64 " bytes exceeds --push-spool-size %" PRIu64
			 ": not sent",
			 need, q->spool_size);
		return -EFBIG;
	}
	pthread_mutex_lock(&q->lock);
	err = make_room(q, need);
	seq = clock__real_ns();
	if (seq <= q->last_seq)
		seq = q->last_seq + 1;
	q->last_seq = seq;
	pthread_mutex_unlock(&q->lock);
	if (err) {
		log_warn("push: cannot read spool %s: %s: profile not sent", q->dir,
			 strerror(-err));
		return err;
	}
	/* Written aside and renamed: the worker only ever lists whole files. */
	snprintf(tmp, sizeof(tmp), "%s/.%020" PRIu64 ".tmp", q->dir, seq);
	snprintf(path, sizeof(path), "%s/%020" PRIu64 SPOOL_SUFFIX, q->dir, seq);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		err = -errno;
		goto cleanup;
	}
	err = fdio__write_all(fd, query, strlen(query));
	if (!err)
		err = fdio__write_all(fd, "\n", 1);
	if (!err)
		err = fdio__write_all(fd, body, len);
	if (close(fd) && !err)
		err = -errno;
	if (!err && rename(tmp, path))
		err = -errno;
cleanup:
	if (err) {
		unlink(tmp);
		log_warn("push: cannot write '%s': %s: profile not sent", path, strerror(-err));
		return err;
	}
	pthread_mutex_lock(&q->lock);
	pthread_cond_signal(&q->wake);
	pthread_mutex_unlock(&q->lock);
	return 0;
}

static int setup_curl(struct pushqueue *q)
{
	struct curl_slist *h = NULL;

	q->curl = curl_easy_init();
	if (!q->curl)
		return -ENOMEM;
	h = curl_slist_append(h, "Content-Type: multipart/form-data; boundary=" PUSHQUEUE_BOUNDARY);
	/* No "Expect: 100-continue" round trip before each body. */
	if (h)
		h = curl_slist_append(h, "Expect:");
	if (h && q->auth_header)
		h = curl_slist_append(h, q->auth_header);
	if (!h)
		return -ENOMEM;
	q->headers = h;
	curl_easy_setopt(q->curl, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(q->curl, CURLOPT_USERAGENT, "heaptrace/" HEAPTRACE_VERSION);
	curl_easy_setopt(q->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(q->curl, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT_S);
	curl_easy_setopt(q->curl, CURLOPT_TIMEOUT, REQUEST_TIMEOUT_S);
	curl_easy_setopt(q->curl, CURLOPT_WRITEFUNCTION, on_answer);
	curl_easy_setopt(q->curl, CURLOPT_WRITEDATA, q);
	curl_easy_setopt(q->curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(q->curl, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(q->curl, CURLOPT_XFERINFODATA, q);
	if (q->ca_file)
		curl_easy_setopt(q->curl, CURLOPT_CAINFO, q->ca_file);
	return 0;
}

/* The worker blocks every signal: the daemon takes them through its signalfd. */
static int start_worker(struct pushqueue *q)
{
	sigset_t all, old;
	int err;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = -pthread_create(&q->worker, NULL, worker_main, q);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return err;
}

static int init_sync(struct pushqueue *q)
{
	pthread_condattr_t attr;
	int err;

	pthread_mutex_init(&q->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	err = -pthread_cond_init(&q->wake, &attr);
	pthread_condattr_destroy(&attr);
	return err;
}

int pushqueue__new(const struct pushqueue_opts *opts, struct pushqueue **out)
{
	struct strbuf url = { 0 };
	struct pushqueue *q;
	size_t len = strlen(opts->url);
	int err;

	*out = NULL;
	q = calloc(1, sizeof(*q));
	if (!q)
		goto nomem;
	q->dir_fd = -1;
	/* A trailing '/' of the base would make "//ingest". */
	while (len && opts->url[len - 1] == '/')
		len--;
	if (strbuf__addf(&url, "%.*s/ingest", (int)len, opts->url))
		goto nomem;
	q->url = url.buf;
	q->dir = strdup(opts->spool_dir);
	q->spool_size = opts->spool_size;
	q->ca_file = opts->ca_file;
	if (!q->dir)
		goto nomem;
	if (opts->token) {
		struct strbuf h = { 0 };

		if (strbuf__addf(&h, "Authorization: Bearer %s", opts->token))
			goto nomem;
		q->auth_header = h.buf;
	}
	if (mkdir(q->dir, 0700) && errno != EEXIST) {
		err = -errno;
		log_error("cannot create the push spool '%s': %s: create its parent or give "
			  "--push-spool DIR",
			  q->dir, strerror(-err));
		goto cleanup;
	}
	if (access(q->dir, W_OK | X_OK)) {
		err = -errno;
		log_error("cannot write into the push spool '%s': %s: give --push-spool DIR",
			  q->dir, strerror(-err));
		goto cleanup;
	}
	/* Two senders on one spool would both send its oldest file: one of them is refused. */
	q->dir_fd = open(q->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (q->dir_fd < 0) {
		err = -errno;
		log_error("cannot open the push spool '%s': %s: give --push-spool DIR", q->dir,
			  strerror(-err));
		goto cleanup;
	}
	if (flock(q->dir_fd, LOCK_EX | LOCK_NB)) {
		err = -errno;
		log_error("push spool '%s' is in use by another heaptrace: give each its own "
			  "--push-spool DIR",
			  q->dir);
		goto cleanup;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_error("push: libcurl cannot be initialized");
		err = -ENOMEM;
		goto cleanup;
	}
	err = setup_curl(q);
	if (!err)
		err = init_sync(q);
	if (!err)
		err = start_worker(q);
	if (err) {
		log_error("push: cannot start the sender: %s", strerror(-err));
		goto cleanup;
	}
	q->started = true;
	*out = q;
	return 0;
nomem:
	log_error("out of memory");
	err = -ENOMEM;
cleanup:
	pushqueue__free(q, 0);
	return err;
}

void pushqueue__free(struct pushqueue *q, uint64_t drain_ns)
{
	if (!q)
		return;
	if (q->started) {
		pthread_mutex_lock(&q->lock);
		q->stop = true;
		q->drain_deadline_ns = clock__mono_ns() + drain_ns;
		pthread_cond_signal(&q->wake);
		pthread_mutex_unlock(&q->lock);
		pthread_join(q->worker, NULL);
		pthread_cond_destroy(&q->wake);
		pthread_mutex_destroy(&q->lock);
	}
	if (q->curl)
		curl_easy_cleanup(q->curl);
	curl_slist_free_all(q->headers);
	if (q->dir_fd >= 0)
		close(q->dir_fd);
	free(q->auth_header);
	free(q->url);
	free(q->dir);
	free(q);
}
