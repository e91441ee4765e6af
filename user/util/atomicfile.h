/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * atomicfile.h - replace a file all at once: a reader of the path sees the
 * old content or the complete new one, never a partial write, and an
 * existing file is only replaced by a complete one.
 *
 * The new content is written to a temporary file in the same directory
 * (".NAME.tmp.XXXXXX": hidden from globs, and on the same filesystem, so
 * that rename(2) is atomic), fsync'ed, closed (some filesystems only
 * report ENOSPC or EIO there), renamed over the path, and the directory
 * is fsync'ed so the rename survives a crash (best effort: the file is
 * complete either way).
 *
 * Nothing is followed: the temporary file is created with O_EXCL (never
 * an existing file or a symlink's target), and rename() replaces a
 * symlink at the path itself rather than writing where it points.
 */
#ifndef HEAPTRACE_ATOMICFILE_H
#define HEAPTRACE_ATOMICFILE_H

#include <sys/types.h>

/* Writes the content into `fd` (not to be closed). Returns 0 or a negative errno. */
typedef int (*atomicfile_fill_fn)(int fd, void *ctx);

/*
 * Replaces `path` with a file of exactly mode `mode` (set with fchmod: the
 * umask does not apply) whose content fill() writes. Returns 0, or
 * fill's error, -EISDIR when `path` ends in '/', or a negative errno of
 * creating, syncing, closing or renaming: the temporary file is then
 * removed and `path` untouched.
 */
int atomicfile__write(const char *path, mode_t mode, atomicfile_fill_fn fill, void *ctx);

#endif /* HEAPTRACE_ATOMICFILE_H */
