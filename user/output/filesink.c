// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* filesink.c - see filesink.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "output/filesink.h"
#include "output/pprof.h"
#include "util/clock.h"
#include "util/log.h"

struct filesink {
	struct filesink_opts o;
};

void *filesink__new(const struct filesink_opts *o)
{
	struct filesink *fs = calloc(1, sizeof(*fs));

	if (fs)
		fs->o = *o;
	return fs;
}

static void profile_path(const struct filesink_opts *o, const struct process *p,
			 const struct timespec *now, bool peak, char *path, size_t len)
{
	char comm[64], stamp[32];
	struct tm tm;
	size_t i;

	/* The name must stay one path component and easy to glob. */
	snprintf(comm, sizeof(comm), "%s", *p->comm ? p->comm : "unknown");
	for (i = 0; comm[i]; i++)
		if (comm[i] == '/' || comm[i] == ' ' || comm[i] == '.' ||
		    (unsigned char)comm[i] < 32)
			comm[i] = '_';
	gmtime_r(&now->tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%S", &tm);
	if (o->subsecond_names)
		snprintf(path, len, "%s/%s.%d.%s.%03ldZ.%sheap.pb.gz", o->dir, comm, p->pid, stamp,
			 now->tv_nsec / 1000000, peak ? "peak." : "");
	else
		snprintf(path, len, "%s/%s.%d.%sZ.%sheap.pb.gz", o->dir, comm, p->pid, stamp,
			 peak ? "peak." : "");
}

static int filesink_write(void *state, const struct profile_output *out)
{
	struct filesink *fs = state;
	const struct process *p = out->proc;
	struct timespec now;
	char path[4096];
	int err;

	now.tv_sec = (time_t)(out->time_ns / 1000000000);
	now.tv_nsec = (long)(out->time_ns % 1000000000);
	profile_path(&fs->o, p, &now, out->peak, path, sizeof(path));
	/*
	 * Two dumps within one tick of the name's clock (a final dump right
	 * after a periodic one) would share a name: wait for the next tick
	 * rather than replace a profile someone may be diffing against.
	 */
	while (access(path, F_OK) == 0) {
		struct timespec tick = { 0, fs->o.subsecond_names ? 1000000
								  : 1000000000 - now.tv_nsec };

		uint64_t ns;

		nanosleep(&tick, NULL);
		ns = clock__real_ns();
		now.tv_sec = (time_t)(ns / 1000000000);
		now.tv_nsec = (long)(ns % 1000000000);
		profile_path(&fs->o, p, &now, out->peak, path, sizeof(path));
	}
	err = pprof__write_gz(out->profile, path);
	if (err) {
		log_error("cannot write the profile of pid %d (%s) into '%s': %s: free space or "
			  "choose another directory with -o",
			  p->pid, p->comm, fs->o.dir, strerror(-err));
		return err;
	}
	log_debug("wrote %s", path);
	return 0;
}

const struct sink_ops filesink_ops = {
	.name = "file",
	.write = filesink_write,
	.free = free,
};
