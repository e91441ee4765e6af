// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* filesink.c - see filesink.h. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "output/diskproc.h"
#include "output/filesink.h"
#include "output/outdir.h"
#include "output/pprof.h"
#include "util/clock.h"
#include "util/log.h"

/* A gzipped profile past this is refused rather than queued. */
#define MAX_PROFILE_BYTES (1ull << 30)
/* Names tried after a taken one: "_1" to "_9", then random ones. */
#define NUMBERED_NAMES 9
#define RANDOM_NAMES   32
/* A profile queued longer than this waits for a slow disk (the status line says so). */
#define SLOW_WRITE_NS 1000000000ull

/* One profile waiting for the disk. */
struct job {
	char stem[192];	  /* COMM.PID.TIME without the "Z": names are made from it */
	char series[128]; /* COMM.PID.STARTTIME: one process image */
	char comm[32];
	int pid;
	int64_t time_ns;
	uint64_t queued_ns; /* CLOCK_MONOTONIC */
	bool final;
	bool peak; /* a high between two periodic profiles: ".peak" before ".heap" */
	void *buf;
	size_t len;
};

struct filesink {
	struct filesink_opts o;
	struct outdir *dir;	     /* for its path: the helper makes the system calls */
	struct diskproc *disk;	     /* the writer's only */
	struct retention *retention; /* the writer's only */
	pthread_t writer;
	pthread_mutex_t lock;
	pthread_cond_t work; /* to the writer: a job, or stop */
	pthread_cond_t done; /* from the writer: it ended */
	/* Under lock: */
	struct job *queue[FILESINK_QUEUE_MAX];
	size_t head, nr;
	uint64_t gen;	    /* bumped by each profile queued, and by flush: "try again" */
	uint64_t fault_gen; /* gen when the fault was last seen */
	int fault;	    /* the failing write's error; 0 while writes succeed */
	uint64_t dropped;   /* profiles dropped from a full queue during this fault */
	bool started;	    /* the writer thread runs (made with the first profile) */
	bool stop, exited, abandoned, flushed;
	/* The writer's only: */
	bool said_taken, said_unlink;
};

/* A sink whose writer never came back from the disk stays reachable, not leaked. */
static struct filesink *abandoned_sink;

static void job_free(struct job *j)
{
	if (j)
		free(j->buf);
	free(j);
}

/* ------------------------------------------------------------ names ---- */

static void make_stem(const struct filesink_opts *o, const struct process *p, int64_t time_ns,
		      char *stem, size_t len)
{
	time_t sec = (time_t)(time_ns / 1000000000);
	char comm[64], stamp[32];
	struct tm tm;
	size_t i;

	/* The name must stay one path component and easy to glob. */
	snprintf(comm, sizeof(comm), "%s", *p->comm ? p->comm : "unknown");
	for (i = 0; comm[i]; i++)
		if (comm[i] == '/' || comm[i] == ' ' || comm[i] == '.' ||
		    (unsigned char)comm[i] < 32)
			comm[i] = '_';
	gmtime_r(&sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%S", &tm);
	if (o->subsecond_names)
		snprintf(stem, len, "%s.%d.%s.%03ld", comm, p->pid, stamp,
			 (long)(time_ns % 1000000000 / 1000000));
	else
		snprintf(stem, len, "%s.%d.%s", comm, p->pid, stamp);
}

/*
 * The try-th name for a stem: the plain one, then "_N" (sorting after the
 * plain name, as "_" comes after "."), then random ones nobody can have
 * planted in advance.
 */
static void make_name(const char *stem, bool peak, int try, char *name, size_t len)
{
	const char *kind = peak ? "peak." : "";
	unsigned int rnd = 0;

	if (try == 0)
		snprintf(name, len, "%sZ.%sheap.pb.gz", stem, kind);
	else if (try <= NUMBERED_NAMES)
		snprintf(name, len, "%sZ_%d.%sheap.pb.gz", stem, try, kind);
	else {
		if (getrandom(&rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
			rnd = (unsigned int)clock__mono_ns();
		snprintf(name, len, "%sZ_%08x.%sheap.pb.gz", stem, rnd, kind);
	}
}

/* ------------------------------------------------------------ writer ---- */

static void apply_retention(struct filesink *fs, int64_t now_ns)
{
	char **names;
	size_t nr, i;
	int err;

	if (retention__choose(fs->retention, now_ns, &names, &nr))
		return;
	for (i = 0; i < nr; i++) {
		err = diskproc__unlink(fs->disk, names[i]);
		if (err && err != -ENOENT && !fs->said_unlink) {
			log_warn("cannot remove old profile '%s/%s': %s (retention goes on)",
				 outdir__path(fs->dir), names[i], strerror(-err));
			fs->said_unlink = true;
		} else if (!err) {
			log_debug("removed %s/%s (retention)", outdir__path(fs->dir), names[i]);
		}
	}
	retention__free_names(names, nr);
}

/* Puts one profile on disk under the first free name. Returns 0 or -errno. */
static int write_job(struct filesink *fs, const struct job *j)
{
	char name[256], first[256];
	int try, err;

	err = diskproc__revive(fs->disk);
	if (err)
		return err;
	for (try = 0; try <= NUMBERED_NAMES + RANDOM_NAMES; try++) {
		make_name(j->stem, j->peak, try, name, sizeof(name));
		if (try == 0)
			snprintf(first, sizeof(first), "%s", name);
		err = diskproc__write(fs->disk, name, j->buf, j->len);
		if (err != -EEXIST)
			break;
	}
	if (err)
		return err;
	/* Our own earlier profile of the same tick is no news; someone else's file is. */
	if (try > 0 && !retention__has(fs->retention, first) && !fs->said_taken) {
		log_warn("'%s/%s' already exists and is not heaptrace's: wrote '%s' instead (other "
			 "names taken are not said again)",
			 outdir__path(fs->dir), first, name);
		fs->said_taken = true;
	}
	log_debug("wrote %s/%s", outdir__path(fs->dir), name);
	if (retention__add(fs->retention, j->series, name, j->time_ns, j->len, j->final))
		return 0; /* out of memory: the file is written, only retention misses it */
	apply_retention(fs, (int64_t)clock__real_ns());
	return 0;
}

/* Called with the lock held: a fault begins or changes its cause. */
static void say_fault(struct filesink *fs, const struct job *j, int err)
{
	const char *cause = outdir__cause(err);

	log_warn("cannot write the profile of pid %d (%s) into '%s': %s%s%s; tracing goes on, %zu "
		 "profiles wait and are tried again at the next interval",
		 j->pid, j->comm, outdir__path(fs->dir), strerror(-err), cause ? ": " : "",
		 cause ? cause : "", fs->nr);
}

/* With the lock held: nothing to do until a new profile or a flush. */
static bool writer_idle(const struct filesink *fs)
{
	return !fs->nr || (fs->fault && fs->gen == fs->fault_gen);
}

static void *writer_main(void *arg)
{
	struct filesink *fs = arg;

	pthread_mutex_lock(&fs->lock);
	for (;;) {
		struct job *j;
		uint64_t gen;
		int err;

		while (!fs->stop && writer_idle(fs))
			pthread_cond_wait(&fs->work, &fs->lock);
		if (writer_idle(fs))
			break; /* stopping, and nothing more can be done */
		j = fs->queue[fs->head];
		gen = fs->gen;
		pthread_mutex_unlock(&fs->lock);
		err = write_job(fs, j);
		pthread_mutex_lock(&fs->lock);
		if (err) {
			if (err != fs->fault)
				say_fault(fs, j, err);
			fs->fault = err;
			fs->fault_gen = gen;
			continue;
		}
		/* The job is still at the head: only the writer takes from the head... */
		if (fs->queue[fs->head] == j) {
			fs->queue[fs->head] = NULL;
			fs->head = (fs->head + 1) % FILESINK_QUEUE_MAX;
			fs->nr--;
		}
		job_free(j);
		if (fs->fault) {
			log_info("profiles are written into '%s' again", outdir__path(fs->dir));
			fs->fault = 0;
			fs->dropped = 0;
		}
	}
	fs->exited = true;
	pthread_cond_broadcast(&fs->done);
	pthread_mutex_unlock(&fs->lock);
	return NULL;
}

/* ------------------------------------------------------------- sink ---- */

/* With the lock held. A full queue drops its oldest profile, but never the one being written. */
static void enqueue(struct filesink *fs, struct job *j)
{
	if (fs->nr == FILESINK_QUEUE_MAX) {
		size_t victim = (fs->head + 1) % FILESINK_QUEUE_MAX;

		/* ...so the oldest but one goes: the head may be on its way to the disk. */
		job_free(fs->queue[victim]);
		for (; victim != (fs->head + fs->nr - 1) % FILESINK_QUEUE_MAX;
		     victim = (victim + 1) % FILESINK_QUEUE_MAX)
			fs->queue[victim] = fs->queue[(victim + 1) % FILESINK_QUEUE_MAX];
		fs->nr--;
		if (!fs->dropped++)
			log_warn("%d profiles wait for '%s': the oldest are dropped until it takes "
				 "them again",
				 FILESINK_QUEUE_MAX, outdir__path(fs->dir));
	}
	fs->queue[(fs->head + fs->nr) % FILESINK_QUEUE_MAX] = j;
	fs->nr++;
	fs->gen++;
	pthread_cond_signal(&fs->work);
}

/*
 * The writer thread, made with the first profile rather than at the start:
 * by then heaptrace has given up the privileges it no longer needs, which
 * belong to each thread, and the writer must not keep them.
 */
static int start_writer(struct filesink *fs)
{
	sigset_t all, old;
	int err;

	if (fs->started)
		return 0;
	/* Signals are the event loop's (signalfd): the writer must never take one. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	err = -pthread_create(&fs->writer, NULL, writer_main, fs);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		log_error("cannot start the writer of '%s': %s", outdir__path(fs->dir),
			  strerror(-err));
		return err;
	}
	fs->started = true;
	return 0;
}

static bool is_empty(const struct profile_output *out)
{
	return out->sum && out->sum->samples == 0 && out->sum->alloc_objects == 0;
}

static int filesink_write(void *state, const struct profile_output *out)
{
	struct filesink *fs = state;
	const struct process *p = out->proc;
	struct job *j;
	int err;

	if (!fs->o.write_empty && is_empty(out)) {
		log_debug("pid %d (%s): no sample yet, no file (--write-empty writes one)", p->pid,
			  p->comm);
		return 0;
	}
	err = start_writer(fs);
	if (err)
		return err;
	j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	err = pprof__encode_gz(out->profile, MAX_PROFILE_BYTES, &j->buf, &j->len);
	if (err) {
		log_error("cannot encode the profile of pid %d (%s): %s", p->pid, p->comm,
			  strerror(-err));
		job_free(j);
		return err;
	}
	make_stem(&fs->o, p, out->time_ns, j->stem, sizeof(j->stem));
	snprintf(j->series, sizeof(j->series), "%s.%d.%" PRIu64, p->comm, p->pid, p->start_time);
	snprintf(j->comm, sizeof(j->comm), "%s", p->comm);
	j->pid = p->pid;
	j->time_ns = out->time_ns;
	j->final = out->final;
	j->peak = out->peak;
	j->queued_ns = clock__mono_ns();
	pthread_mutex_lock(&fs->lock);
	enqueue(fs, j);
	pthread_mutex_unlock(&fs->lock);
	return 0;
}

/*
 * Profiles the disk has not taken: all of them during a fault, else those
 * queued for longer than a healthy write takes (not the one just queued).
 */
static uint64_t filesink_waiting(void *state)
{
	struct filesink *fs = state;
	uint64_t n = 0, now = clock__mono_ns();
	size_t i;

	pthread_mutex_lock(&fs->lock);
	for (i = 0; i < fs->nr; i++) {
		const struct job *j = fs->queue[(fs->head + i) % FILESINK_QUEUE_MAX];

		if (fs->fault || j->queued_ns + SLOW_WRITE_NS < now)
			n++;
	}
	pthread_mutex_unlock(&fs->lock);
	return n;
}

/* Deadline (CLOCK_MONOTONIC ns) as the CLOCK_REALTIME timespec condition waits take. */
static struct timespec real_deadline(uint64_t mono_deadline_ns)
{
	uint64_t now = clock__mono_ns();
	uint64_t at = clock__real_ns() + (mono_deadline_ns > now ? mono_deadline_ns - now : 0);

	return (struct timespec){ .tv_sec = (time_t)(at / 1000000000),
				  .tv_nsec = (long)(at % 1000000000) };
}

static int filesink_flush(void *state, uint64_t deadline_ns)
{
	struct filesink *fs = state;
	struct timespec until = real_deadline(deadline_ns);
	size_t left;

	if (!fs->started)
		return 0; /* no profile was ever queued */
	pthread_mutex_lock(&fs->lock);
	if (fs->flushed) {
		left = fs->nr;
		pthread_mutex_unlock(&fs->lock);
		return left ? -EIO : 0;
	}
	fs->flushed = true;
	fs->stop = true;
	fs->gen++; /* one more try of what waits, whatever the fault */
	pthread_cond_signal(&fs->work);
	while (!fs->exited)
		if (pthread_cond_timedwait(&fs->done, &fs->lock, &until) == ETIMEDOUT)
			break;
	left = fs->nr;
	if (!fs->exited) {
		fs->abandoned = true;
		log_warn("%zu profiles not written: '%s' did not take them in time (a slow or "
			 "hung disk); heaptrace ends without them",
			 left, outdir__path(fs->dir));
	} else if (left) {
		log_warn("%zu profiles not written into '%s': %s", left, outdir__path(fs->dir),
			 strerror(-fs->fault));
	}
	pthread_mutex_unlock(&fs->lock);
	return left ? -EIO : 0;
}

static void filesink_free(void *state)
{
	struct filesink *fs = state;
	size_t i;

	if (!fs)
		return;
	filesink_flush(fs, clock__mono_ns() + FILESINK_FLUSH_NS);
	if (fs->abandoned) {
		/* Its writer may be inside write(2) or fsync(2) with this state: leave both. */
		abandoned_sink = fs;
		return;
	}
	if (fs->started)
		pthread_join(fs->writer, NULL);
	diskproc__free(fs->disk);
	for (i = 0; i < fs->nr; i++)
		job_free(fs->queue[(fs->head + i) % FILESINK_QUEUE_MAX]);
	retention__free(fs->retention);
	outdir__free(fs->dir);
	pthread_cond_destroy(&fs->work);
	pthread_cond_destroy(&fs->done);
	pthread_mutex_destroy(&fs->lock);
	free(fs);
}

int filesink__open(const struct filesink_opts *o, void **state)
{
	struct filesink *fs = calloc(1, sizeof(*fs));
	int err, n;

	if (!fs || !(fs->retention = retention__new(&o->retention))) {
		free(fs);
		log_error("out of memory");
		return -ENOMEM;
	}
	fs->o = *o;
	err = outdir__open(o->dir, o->allow_unsafe_dir, &fs->dir);
	if (err)
		goto cleanup;
	n = outdir__sweep(fs->dir, clock__real_ns());
	if (n)
		log_debug("%d stale temporary files removed from '%s'", n, o->dir);
	pthread_mutex_init(&fs->lock, NULL);
	pthread_cond_init(&fs->work, NULL);
	pthread_cond_init(&fs->done, NULL);
	err = diskproc__start(fs->dir, &fs->disk);
	if (err) {
		log_error("cannot start the process that writes into '%s': %s", o->dir,
			  strerror(-err));
		pthread_cond_destroy(&fs->work);
		pthread_cond_destroy(&fs->done);
		pthread_mutex_destroy(&fs->lock);
		goto cleanup;
	}
	*state = fs;
	return 0;
cleanup:
	diskproc__free(fs->disk);
	outdir__free(fs->dir);
	retention__free(fs->retention);
	free(fs);
	return err;
}

const struct sink_ops filesink_ops = {
	.name = "file",
	.write = filesink_write,
	.free = filesink_free,
	.waiting = filesink_waiting,
	.flush = filesink_flush,
};
