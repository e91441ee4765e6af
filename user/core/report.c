// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* report.c - see report.h. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/report.h"
#include "output/leak.h"
#include "output/leak_html.h"
#include "output/pprof.h"
#include "util/log.h"
#include "util/vec.h"

#define PROFILE_SUFFIX ".heap.pb.gz"

/* One profile file and the process it is of. */
struct report_file {
	char *path;
	int64_t time_ns;
	int pid;
	char comm[64];
	bool from_dir; /* found in a directory given, not named: unreadable is a warning */
};

struct report_files {
	struct report_file *items;
	size_t nr, cap;
};

static int add_path(struct report_files *fs, const char *path, bool from_dir)
{
	char *copy = strdup(path);

	if (!copy || VEC_RESERVE(fs->items, fs->cap, fs->nr + 1)) {
		free(copy);
		return -ENOMEM;
	}
	fs->items[fs->nr++] = (struct report_file){ .path = copy, .from_dir = from_dir };
	return 0;
}

static bool is_profile_name(const char *name)
{
	size_t n = strlen(name), s = strlen(PROFILE_SUFFIX);

	return n > s && !strcmp(name + n - s, PROFILE_SUFFIX);
}

/* The profiles of a directory (not its subdirectories). */
static int add_dir(struct report_files *fs, const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	char path[4096];
	int err = 0;

	if (!d)
		return -errno;
	while (!err && (de = readdir(d)))
		if (is_profile_name(de->d_name)) {
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			err = add_path(fs, path, true);
		}
	closedir(d);
	return err;
}

/* "heaptrace V: pid N (COMM), sample rate ...": the first comment of heaptrace's profiles. */
static bool process_of_comment(const struct pprof_builder *b, struct report_file *f)
{
	const char *c, *open, *close;

	if (!pprof__nr_comments(b))
		return false;
	c = pprof__comment(b, 0);
	c = strncmp(c, "heaptrace ", 10) ? NULL : strstr(c, ": pid ");
	if (!c || sscanf(c, ": pid %d", &f->pid) != 1)
		return false;
	open = strchr(c, '(');
	close = open ? strstr(open, "), sample rate") : NULL;
	if (!close)
		return false;
	snprintf(f->comm, sizeof(f->comm), "%.*s", (int)(close - open - 1), open + 1);
	return true;
}

/* COMM.PID.TIME[...].heap.pb.gz, for profiles written by others or renamed ones. */
static void process_of_name(struct report_file *f)
{
	const char *base = strrchr(f->path, '/');
	const char *dot;

	base = base ? base + 1 : f->path;
	dot = strchr(base, '.');
	f->pid = 0;
	snprintf(f->comm, sizeof(f->comm), "%s", "unknown");
	if (dot && sscanf(dot + 1, "%d.", &f->pid) == 1)
		snprintf(f->comm, sizeof(f->comm), "%.*s", (int)(dot - base), base);
}

static const char *read_error(int err)
{
	return err == -EPROTO || err == -EBADMSG ? "not a heap profile" : strerror(-err);
}

static int read_profile(const char *path, struct pprof_builder **b)
{
	int err = pprof__read_gz(path, b);

	if (err)
		log_error(
		    "cannot read the profile '%s': %s: give heap profiles written by heaptrace "
		    "or Go",
		    path, read_error(err));
	return err;
}

/*
 * Reads each file once for its time and process. A file named on the
 * command line that cannot be read is fatal; one found in a directory is
 * skipped with a warning (a half-copied directory still has a report).
 */
static int identify(struct report_files *fs)
{
	size_t i, kept = 0;
	int err;

	for (i = 0; i < fs->nr; i++) {
		struct report_file *f = &fs->items[i];
		struct pprof_builder *b = NULL;

		err = pprof__read_gz(f->path, &b);
		if (err && !f->from_dir) {
			log_error("cannot read the profile '%s': %s: give heap profiles written by "
				  "heaptrace or Go",
				  f->path, read_error(err));
			return err;
		}
		if (err) {
			log_warn("skipping '%s': %s", f->path, read_error(err));
			free(f->path);
			f->path = NULL;
			continue;
		}
		f->time_ns = pprof__time_nanos(b);
		if (!process_of_comment(b, f))
			process_of_name(f);
		pprof__free(b);
		/* Moved down over the skipped ones; each path stays owned by one entry. */
		if (kept != i) {
			fs->items[kept] = *f;
			f->path = NULL;
		}
		kept++;
	}
	fs->nr = kept;
	if (!kept) {
		log_error(
		    "no readable profile among the files given: give heap profiles written by "
		    "heaptrace or Go");
		return -ENOENT;
	}
	return 0;
}

/* By process, then by time (then name: two profiles within one clock tick). */
static int file_cmp(const void *a, const void *b)
{
	const struct report_file *x = a, *y = b;
	int c;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	c = strcmp(x->comm, y->comm);
	if (c)
		return c;
	if (x->time_ns != y->time_ns)
		return x->time_ns < y->time_ns ? -1 : 1;
	return strcmp(x->path, y->path);
}

/* The series of files [from, to), one process's. */
static int build_series(const struct report_files *fs, size_t from, size_t to,
			struct leak_series **out)
{
	struct leak_series *s = leak_series__new(fs->items[from].pid, fs->items[from].comm);
	size_t i;
	int err = s ? 0 : -ENOMEM;

	for (i = from; i < to && !err; i++) {
		struct pprof_builder *b = NULL;

		err = read_profile(fs->items[i].path, &b);
		if (!err)
			err = leak_series__add_profile(s, b);
		pprof__free(b);
	}
	if (err) {
		leak_series__free(s);
		return err;
	}
	*out = s;
	return 0;
}

static int collect(const struct env *env, struct report_files *fs)
{
	struct stat st;
	int i, err;

	for (i = 0; i < env->nr_report_paths; i++) {
		const char *p = env->report_paths[i];

		if (stat(p, &st)) {
			log_error("cannot read '%s': %s: give a directory of profiles or "
				  ".heap.pb.gz files",
				  p, strerror(errno));
			return -errno;
		}
		err = S_ISDIR(st.st_mode) ? add_dir(fs, p) : add_path(fs, p, false);
		if (err) {
			log_error("cannot list '%s': %s", p, strerror(-err));
			return err;
		}
	}
	if (!fs->nr) {
		log_error("no profiles in %s: heaptrace report reads *" PROFILE_SUFFIX
			  " files (heaptrace -o DIR writes them)",
			  env->report_paths[0]);
		return -ENOENT;
	}
	return 0;
}

static int write_reports(const struct env *env, const struct leak_report *const *r, size_t n)
{
	size_t i;
	int err = 0;

	if (env->report_format == ENV_REPORT_JSON)
		return leak_report__write_json(r, n, stdout);
	if (env->report_format == ENV_REPORT_HTML)
		return leak_html__write(r, n, stdout);
	for (i = 0; i < n && !err; i++)
		err = leak_report__write_text(r[i], stdout);
	return err;
}

int report__run(const struct env *env)
{
	struct report_files fs = {};
	struct leak_series **series = NULL;
	struct leak_report *reports = NULL;
	const struct leak_report **views = NULL;
	size_t i, from, n = 0;
	int err;

	err = collect(env, &fs);
	if (!err)
		err = identify(&fs);
	if (err)
		goto cleanup;
	qsort(fs.items, fs.nr, sizeof(*fs.items), file_cmp);
	series = calloc(fs.nr, sizeof(*series));
	reports = calloc(fs.nr, sizeof(*reports));
	views = calloc(fs.nr, sizeof(*views));
	if (!series || !reports || !views) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (from = 0; from < fs.nr && !err; n++) {
		size_t to = from + 1;

		while (to < fs.nr && fs.items[to].pid == fs.items[from].pid &&
		       !strcmp(fs.items[to].comm, fs.items[from].comm))
			to++;
		err = build_series(&fs, from, to, &series[n]);
		if (!err)
			err = leak__analyze(series[n], &reports[n]);
		views[n] = &reports[n];
		from = to;
	}
	if (!err)
		err = write_reports(env, views, n);
	if (!err && fflush(stdout))
		err = -errno;
	if (err == -ENOMEM)
		log_error("out of memory reading %zu profiles: give fewer files", fs.nr);
	else if (err == -EIO || err == -EPIPE)
		log_error("cannot write the report to stdout: %s", strerror(-err));
cleanup:
	for (i = 0; series && i < fs.nr; i++) {
		leak_report__release(&reports[i]);
		leak_series__free(series[i]);
	}
	for (i = 0; i < fs.nr; i++)
		free(fs.items[i].path);
	free(fs.items);
	free(series);
	free(reports);
	free(views);
	return err ? 1 : 0;
}
