// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* outdir.c - see outdir.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "output/outdir.h"
#include "util/log.h"
#include "util/fdio.h"

#define TEMP_TAG     ".tmp."
#define TEMP_RANDOM  8
#define PROFILE_TAIL ".heap.pb.gz"
#define NAME_MAX_LEN 255

struct outdir {
	char *path;
	int fd;
	bool allow_unsafe;
};

static int temp_name(const char *name, char *buf, size_t len);

/* A user's name for messages, or "" when it has none. */
static const char *user_name(uid_t uid, char *buf, size_t len)
{
	struct passwd pw, *res = NULL;
	char tmp[1024];

	if (getpwuid_r(uid, &pw, tmp, sizeof(tmp), &res) || !res) {
		snprintf(buf, len, "uid %u", (unsigned)uid);
		return buf;
	}
	snprintf(buf, len, "%s", pw.pw_name);
	return buf;
}

/*
 * Who may change the directory's entries: its owner, and whoever may write
 * it, unless the sticky bit keeps them to their own files. Root's group
 * writing it is as trusted as root.
 */
static int check_trust(const char *path, const struct stat *st, bool verbose_err)
{
	char who[64];
	bool sticky = st->st_mode & S_ISVTX;

	if (st->st_uid != 0 && st->st_uid != geteuid()) {
		if (verbose_err)
			log_error(
			    "output directory '%s' belongs to %s, who could swap or read what "
			    "heaptrace writes there: use a directory of root's (such as "
			    "/var/lib/heaptrace) or accept it with --unsafe-output-dir",
			    path, user_name(st->st_uid, who, sizeof(who)));
		return -EPERM;
	}
	if (!sticky && ((st->st_mode & S_IWOTH) || ((st->st_mode & S_IWGRP) && st->st_gid != 0))) {
		if (verbose_err)
			log_error(
			    "output directory '%s' is writable by others (mode %04o) without the "
			    "sticky bit: chmod go-w '%s' (or +t), or accept it with "
			    "--unsafe-output-dir",
			    path, (unsigned)(st->st_mode & 07777), path);
		return -EPERM;
	}
	return 0;
}

static void say_open_error(const char *path, int err)
{
	switch (err) {
	case -ENOENT:
		log_error("output directory '%s' does not exist: create it (mkdir -p '%s') or "
			  "choose another with -o",
			  path, path);
		break;
	case -ELOOP:
		log_error("output directory '%s' is a symbolic link: give the directory itself "
			  "with -o (a link could be pointed elsewhere while heaptrace runs)",
			  path);
		break;
	case -ENOTDIR:
		log_error("output path '%s' is not a directory: give a directory with -o", path);
		break;
	default:
		log_error("cannot open output directory '%s': %s: choose another with -o", path,
			  strerror(-err));
	}
}

/* Making a file is the only reliable test (read-only mounts, ACLs, attributes, quotas). */
static int check_writable(int fd, const char *path, bool say)
{
	char name[NAME_MAX_LEN + 1];
	int probe, err;

	err = temp_name("heaptrace-probe", name, sizeof(name));
	if (err)
		return err;
	probe = openat(fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (probe < 0) {
		err = -errno;
		if (say)
			log_error(
			    "output directory '%s' is not writable (%s): choose another with -o",
			    path, strerror(-err));
		return err;
	}
	close(probe);
	unlinkat(fd, name, 0);
	return 0;
}

/* Opens and checks the path; messages only when `say`. Returns an fd or -errno. */
static int open_checked(const char *path, bool allow_unsafe, bool say)
{
	struct stat st;
	int fd, err;

	/*
	 * A real descriptor, not O_PATH: the *at() calls need search permission
	 * checked once here, and fsync of the directory needs an open file.
	 */
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		/* O_NOFOLLOW|O_DIRECTORY on a symlink to a directory gives ENOTDIR. */
		if ((err == -ENOTDIR || err == -ELOOP) && !lstat(path, &st) && S_ISLNK(st.st_mode))
			err = -ELOOP;
		if (say)
			say_open_error(path, err);
		return err;
	}
	if (fstat(fd, &st)) {
		err = -errno;
		if (say)
			say_open_error(path, err);
		close(fd);
		return err;
	}
	err = allow_unsafe ? 0 : check_trust(path, &st, say);
	if (!err)
		err = check_writable(fd, path, say);
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

int outdir__open(const char *path, bool allow_unsafe, struct outdir **out)
{
	struct outdir *d;
	int fd;

	fd = open_checked(path, allow_unsafe, true);
	if (fd < 0)
		return fd;
	d = calloc(1, sizeof(*d));
	if (!d || !(d->path = strdup(path))) {
		free(d);
		close(fd);
		log_error("out of memory");
		return -ENOMEM;
	}
	d->fd = fd;
	d->allow_unsafe = allow_unsafe;
	*out = d;
	return 0;
}

int outdir__fd(const struct outdir *d)
{
	return d->fd;
}

void outdir__hand_over(struct outdir *d)
{
	if (d->fd >= 0)
		close(d->fd);
	d->fd = -1;
}

const char *outdir__path(const struct outdir *d)
{
	return d->path;
}

/* ".NAME.tmp.XXXXXXXX" with random hex; -ENAMETOOLONG past one path component. */
static int temp_name(const char *name, char *buf, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char rnd[TEMP_RANDOM / 2];
	size_t i, n;

	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return -errno ? -errno : -EIO;
	n = (size_t)snprintf(buf, len, ".%s" TEMP_TAG, name);
	if (n + TEMP_RANDOM >= len || n + TEMP_RANDOM > NAME_MAX_LEN)
		return -ENAMETOOLONG;
	for (i = 0; i < sizeof(rnd); i++) {
		buf[n + 2 * i] = hex[rnd[i] >> 4];
		buf[n + 2 * i + 1] = hex[rnd[i] & 15];
	}
	buf[n + TEMP_RANDOM] = '\0';
	return 0;
}

/* A temporary file of our own, made new: an existing name (any file, a symlink) is never opened. */
static int create_temp(struct outdir *d, const char *name, char *tmp, size_t len)
{
	int tries, fd, err;

	for (tries = 0; tries < 8; tries++) {
		err = temp_name(name, tmp, len);
		if (err)
			return err;
		fd = openat(d->fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			    OUTDIR_FILE_MODE);
		if (fd >= 0 || errno != EEXIST)
			return fd >= 0 ? fd : -errno;
	}
	return -EEXIST;
}

int outdir__write(struct outdir *d, const char *name, const void *buf, size_t len)
{
	char tmp[NAME_MAX_LEN + 1];
	bool created = false;
	int fd, err;

	fd = create_temp(d, name, tmp, sizeof(tmp));
	if (fd < 0)
		return fd;
	created = true;
	err = fdio__write_all(fd, buf, len);
	/* Some filesystems only report ENOSPC or EIO at fsync() or close(). */
	if (!err && fsync(fd))
		err = -errno;
	if (close(fd) && !err)
		err = -errno;
	if (err)
		goto cleanup;
	/* Never over an existing name: a symlink planted there stays what it is. */
	if (renameat2(d->fd, tmp, d->fd, name, RENAME_NOREPLACE)) {
		err = -errno;
		goto cleanup;
	}
	created = false;
	/* The rename's durability; the file is complete either way. */
	fsync(d->fd);
cleanup:
	if (created)
		unlinkat(d->fd, tmp, 0);
	return err;
}

int outdir__unlink(struct outdir *d, const char *name)
{
	return unlinkat(d->fd, name, 0) ? -errno : 0;
}

int outdir__revive(struct outdir *d)
{
	struct stat st;
	int fd;

	if (fstat(d->fd, &st))
		return -errno;
	if (st.st_nlink > 0)
		return 0;
	/* Removed: whatever is at the path now must pass the checks of the start. */
	fd = open_checked(d->path, d->allow_unsafe, false);
	if (fd < 0)
		return fd == -ENOENT ? -ENOENT : fd;
	close(d->fd);
	d->fd = fd;
	return 0;
}

/* NAME ".tmp." then `len` characters of `set` at the end of `name` (n bytes), NAME a profile's. */
static bool temp_name_of(const char *name, size_t n, size_t len, const char *set)
{
	size_t tag = sizeof(TEMP_TAG) - 1, tail = sizeof(PROFILE_TAIL) - 1, i;

	if (name[0] != '.' || n < 1 + tail + tag + len)
		return false;
	for (i = n - len; i < n; i++)
		if (!strchr(set, name[i]))
			return false;
	if (memcmp(name + n - len - tag, TEMP_TAG, tag))
		return false;
	return !memcmp(name + n - len - tag - tail, PROFILE_TAIL, tail);
}

bool outdir__is_temp_name(const char *name)
{
	size_t n = strlen(name);

	/* Ours, or mkstemp()'s six characters, as earlier versions of heaptrace made them. */
	return temp_name_of(name, n, TEMP_RANDOM, "0123456789abcdef") ||
	       temp_name_of(name, n, 6,
			    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ");
}

int outdir__sweep(struct outdir *d, uint64_t now_real_ns)
{
	struct dirent *e;
	int dfd, removed = 0;
	DIR *dir;

	dfd = openat(d->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return 0;
	dir = fdopendir(dfd);
	if (!dir) {
		close(dfd);
		return 0;
	}
	while ((e = readdir(dir))) {
		struct stat st;
		uint64_t mtime;

		if (!outdir__is_temp_name(e->d_name))
			continue;
		if (fstatat(d->fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) || !S_ISREG(st.st_mode))
			continue;
		/* Another user's file, or one another heaptrace may still be writing. */
		mtime = (uint64_t)st.st_mtim.tv_sec * 1000000000ull + (uint64_t)st.st_mtim.tv_nsec;
		if (st.st_uid != geteuid() || mtime + OUTDIR_STALE_TEMP_NS > now_real_ns)
			continue;
		if (!unlinkat(d->fd, e->d_name, 0)) {
			log_info(
			    "removed stale temporary file '%s/%s' (left by an interrupted write)",
			    d->path, e->d_name);
			removed++;
		}
	}
	closedir(dir);
	return removed;
}

const char *outdir__cause(int err)
{
	switch (err) {
	case -ENOSPC:
	case -EDQUOT:
		return "the filesystem is full: free space there or choose another directory with "
		       "-o";
	case -ENOENT:
		return "the directory was removed: create it again (heaptrace reopens it by its "
		       "path)";
	case -EROFS:
		return "the filesystem is read-only: remount it read-write or choose another "
		       "directory with -o";
	case -EACCES:
	case -EPERM:
		return "permission denied: check the directory's mode, owner and attributes "
		       "(lsattr -d)";
	case -EIO:
		return "an I/O error: check the disk (dmesg)";
	default:
		return NULL;
	}
}

void outdir__free(struct outdir *d)
{
	if (!d)
		return;
	if (d->fd >= 0)
		close(d->fd);
	free(d->path);
	free(d);
}
