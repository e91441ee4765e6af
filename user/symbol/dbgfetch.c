// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* dbgfetch.c - see dbgfetch.h. */
#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <elfutils/debuginfod.h>

#include "symbol/dbgfetch.h"
#include "util/log.h"
#include "util/vec.h"

/* The soname Debian's libdebuginfod1 ships; elfutils' own libdwfl loads it the same way. */
#define DEBUGINFOD_SONAME "libdebuginfod.so.1"

enum fetch_state {
	FETCH_QUEUED,
	FETCH_RUNNING,
	FETCH_DONE,
	FETCH_FAILED,
};

struct fetch {
	char *build_id;
	char *path; /* FETCH_DONE: the cached file */
	enum fetch_state state;
};

/* The few libdebuginfod functions used, resolved from the dlopen'ed library. */
struct debuginfod_api {
	void *handle;
	debuginfod_client *(*begin)(void);
	void (*end)(debuginfod_client *c);
	int (*find_debuginfo)(debuginfod_client *c, const unsigned char *id, int id_len,
			      char **path);
	void (*set_progressfn)(debuginfod_client *c, debuginfod_progressfn_t fn);
};

struct dbgfetch {
	struct debuginfod_api api;
	uint64_t budget_ns;
	pthread_t worker;
	bool started;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool stop;	       /* written under lock, read by the progress callback too */
	struct fetch *fetches; /* in request order, never removed: indexes stay valid */
	size_t nr, cap;
	uint64_t deadline_ns; /* of the fetch in flight (CLOCK_MONOTONIC); the worker's own */
};

/* The worker's dbgfetch, for the progress callback, which runs on the worker's thread. */
static __thread struct dbgfetch *current_fetcher;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int load_api(struct debuginfod_api *api)
{
	api->handle = dlopen(DEBUGINFOD_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!api->handle)
		return -ENOENT;
	*(void **)&api->begin = dlsym(api->handle, "debuginfod_begin");
	*(void **)&api->end = dlsym(api->handle, "debuginfod_end");
	*(void **)&api->find_debuginfo = dlsym(api->handle, "debuginfod_find_debuginfo");
	*(void **)&api->set_progressfn = dlsym(api->handle, "debuginfod_set_progressfn");
	if (!api->begin || !api->end || !api->find_debuginfo || !api->set_progressfn) {
		dlclose(api->handle);
		api->handle = NULL;
		return -ENOENT;
	}
	return 0;
}

/*
 * libdebuginfod calls this about once a second while a transfer runs (also
 * while it connects): a non-zero answer aborts the transfer. This is what
 * bounds a fetch by the budget, whatever DEBUGINFOD_TIMEOUT says, and what
 * lets dbgfetch__free() stop a fetch in flight.
 */
static int on_progress(debuginfod_client *c, long done, long total)
{
	struct dbgfetch *f = current_fetcher;

	(void)c;
	(void)done;
	(void)total;
	if (!f)
		return 0;
	return __atomic_load_n(&f->stop, __ATOMIC_RELAXED) || now_ns() >= f->deadline_ns;
}

static struct fetch *find_fetch(struct dbgfetch *f, const char *build_id)
{
	size_t i;

	for (i = 0; i < f->nr; i++)
		if (!strcmp(f->fetches[i].build_id, build_id))
			return &f->fetches[i];
	return NULL;
}

/* The index of the first queued fetch, or -1. Under lock. */
static long next_queued(const struct dbgfetch *f)
{
	size_t i;

	for (i = 0; i < f->nr; i++)
		if (f->fetches[i].state == FETCH_QUEUED)
			return (long)i;
	return -1;
}

/* One fetch, without the lock: returns the cached file's path (malloc'ed) or NULL. */
static char *fetch_one(struct dbgfetch *f, debuginfod_client *client, const char *build_id)
{
	uint64_t start = now_ns();
	char *path = NULL;
	int fd;

	f->deadline_ns = start + f->budget_ns;
	/* A length of 0 means the id is given as a hex string. */
	fd = f->api.find_debuginfo(client, (const unsigned char *)build_id, 0, &path);
	if (fd >= 0) {
		close(fd);
		log_debug("debuginfod: debug file of build id %s in %" PRIu64 " ms: %s", build_id,
			  (now_ns() - start) / 1000000, path);
		return path;
	}
	free(path);
	if (__atomic_load_n(&f->stop, __ATOMIC_RELAXED))
		return NULL;
	if (now_ns() >= f->deadline_ns)
		log_warn("debuginfod: no answer for build id %s within %" PRIu64
			 " ms: given up (raise --debuginfod-timeout, or check DEBUGINFOD_URLS)",
			 build_id, f->budget_ns / 1000000);
	else
		log_debug("debuginfod: no debug file for build id %s: %s", build_id, strerror(-fd));
	return NULL;
}

static void *worker_main(void *arg)
{
	struct dbgfetch *f = arg;
	debuginfod_client *client = f->api.begin();

	current_fetcher = f;
	if (client)
		f->api.set_progressfn(client, on_progress);
	pthread_mutex_lock(&f->lock);
	for (;;) {
		char *build_id, *path;
		long i;

		while (!f->stop && (i = next_queued(f)) < 0)
			pthread_cond_wait(&f->wake, &f->lock);
		if (f->stop)
			break;
		f->fetches[i].state = FETCH_RUNNING;
		build_id = strdup(f->fetches[i].build_id);
		pthread_mutex_unlock(&f->lock);
		path = client && build_id ? fetch_one(f, client, build_id) : NULL;
		free(build_id);
		pthread_mutex_lock(&f->lock);
		f->fetches[i].path = path;
		f->fetches[i].state = path ? FETCH_DONE : FETCH_FAILED;
	}
	pthread_mutex_unlock(&f->lock);
	if (client)
		f->api.end(client);
	return NULL;
}

/*
 * The worker blocks every signal: the daemon takes SIGCHLD, SIGINT and the
 * rest through a signalfd, and a signal the kernel delivered to a thread
 * that has it unblocked would never reach that fd.
 */
static int start_worker(struct dbgfetch *f)
{
	sigset_t all, old;
	int err;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = -pthread_create(&f->worker, NULL, worker_main, f);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return err;
}

int dbgfetch__new(uint64_t budget_ns, struct dbgfetch **out)
{
	const char *urls = getenv("DEBUGINFOD_URLS");
	struct dbgfetch *f;
	int err;

	*out = NULL;
	if (!urls || !*urls)
		return 0;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->budget_ns = budget_ns;
	if (load_api(&f->api)) {
		log_warn("DEBUGINFOD_URLS is set but %s cannot be loaded: debug files are not "
			 "fetched (install libdebuginfod1)",
			 DEBUGINFOD_SONAME);
		free(f);
		return -ENOENT;
	}
	pthread_mutex_init(&f->lock, NULL);
	pthread_cond_init(&f->wake, NULL);
	err = start_worker(f);
	if (err) {
		dbgfetch__free(f);
		return err;
	}
	f->started = true;
	*out = f;
	return 0;
}

void dbgfetch__free(struct dbgfetch *f)
{
	size_t i;

	if (!f)
		return;
	if (f->started) {
		pthread_mutex_lock(&f->lock);
		__atomic_store_n(&f->stop, true, __ATOMIC_RELAXED);
		pthread_cond_signal(&f->wake);
		pthread_mutex_unlock(&f->lock);
		pthread_join(f->worker, NULL);
	}
	pthread_cond_destroy(&f->wake);
	pthread_mutex_destroy(&f->lock);
	for (i = 0; i < f->nr; i++) {
		free(f->fetches[i].build_id);
		free(f->fetches[i].path);
	}
	free(f->fetches);
	/* The library stays loaded: libcurl's global state does not survive an unload. */
	free(f);
}

int dbgfetch__request(struct dbgfetch *f, const char *build_id)
{
	char *id;
	int err = 0;

	pthread_mutex_lock(&f->lock);
	if (find_fetch(f, build_id))
		goto cleanup;
	id = strdup(build_id);
	if (!id || VEC_RESERVE(f->fetches, f->cap, f->nr + 1)) {
		free(id);
		err = -ENOMEM;
		goto cleanup;
	}
	f->fetches[f->nr++] = (struct fetch){ .build_id = id, .state = FETCH_QUEUED };
	pthread_cond_signal(&f->wake);
cleanup:
	pthread_mutex_unlock(&f->lock);
	return err;
}

int dbgfetch__poll(struct dbgfetch *f, const char *build_id, const char **path)
{
	struct fetch *e;
	int err;

	pthread_mutex_lock(&f->lock);
	e = find_fetch(f, build_id);
	if (!e || e->state == FETCH_FAILED)
		err = -ENOENT;
	else if (e->state == FETCH_DONE)
		err = 0, *path = e->path;
	else
		err = -EINPROGRESS;
	pthread_mutex_unlock(&f->lock);
	return err;
}
