// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* atomicfile.c - see atomicfile.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/atomicfile.h"

/* Makes the rename durable; the file is complete either way, so errors are ignored. */
static void sync_dir(const char *path, size_t dirlen)
{
	char *dir;
	int fd;

	dir = dirlen ? strndup(path, dirlen) : strdup(".");
	if (!dir)
		return;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	free(dir);
}

/* ".NAME.tmp.XXXXXX" beside `path`'s NAME; NULL when out of memory. */
static char *temp_name(const char *path, size_t dirlen, const char *base)
{
	static const char suffix[] = ".tmp.XXXXXX";
	size_t baselen = strlen(base);
	char *tmp = malloc(dirlen + 1 + baselen + sizeof(suffix));

	if (!tmp)
		return NULL;
	memcpy(tmp, path, dirlen);
	tmp[dirlen] = '.';
	memcpy(tmp + dirlen + 1, base, baselen);
	memcpy(tmp + dirlen + 1 + baselen, suffix, sizeof(suffix));
	return tmp;
}

int atomicfile__write(const char *path, mode_t mode, atomicfile_fill_fn fill, void *ctx)
{
	bool created = false, renamed = false;
	const char *base;
	size_t dirlen;
	char *tmp;
	int fd = -1;
	int err;

	base = strrchr(path, '/');
	base = base ? base + 1 : path;
	dirlen = base - path;
	if (!*base)
		return -EISDIR;
	tmp = temp_name(path, dirlen, base);
	if (!tmp)
		return -ENOMEM;

	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		goto cleanup;
	}
	created = true;
	/* mkstemp() makes the file 0600; the caller says who may read it. */
	if (fchmod(fd, mode)) {
		err = -errno;
		goto cleanup;
	}
	err = fill(fd, ctx);
	if (err)
		goto cleanup;
	/* Some filesystems only report ENOSPC or EIO at fsync() or close(). */
	if (fsync(fd)) {
		err = -errno;
		goto cleanup;
	}
	err = close(fd);
	fd = -1;
	if (err) {
		err = -errno;
		goto cleanup;
	}
	if (rename(tmp, path)) {
		err = -errno;
		goto cleanup;
	}
	renamed = true;
	sync_dir(path, dirlen);

cleanup:
	if (fd >= 0)
		close(fd);
	if (created && !renamed)
		unlink(tmp);
	free(tmp);
	return err;
}
