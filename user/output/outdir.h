/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * outdir.h - the output directory, opened once and trusted only after a
 * check, with every file made relative to the descriptor held.
 *
 * Opened with O_DIRECTORY|O_NOFOLLOW: a symlink at the path is refused, and
 * a directory renamed or swapped for a symlink after the start cannot send
 * a profile anywhere else. Refused unless `allow_unsafe`: a directory that
 * another user owns (root's is fine), or that others may write to without
 * the sticky bit (they could rename heaptrace's files away).
 *
 * Files are made as ".NAME.tmp.XXXXXXXX" (hidden, O_CREAT|O_EXCL|O_NOFOLLOW),
 * filled, fsync'ed, then given their name with renameat2(RENAME_NOREPLACE):
 * atomically, never over a file or symlink that is already there (-EEXIST:
 * the caller picks another name, nobody waits). Mode 0640 less the umask.
 *
 * A directory removed while heaptrace runs is reopened by its path, with the
 * same checks, once it exists again.
 *
 * Not thread-safe: one thread (the file sink's writer) uses an outdir.
 */
#ifndef HEAPTRACE_OUTDIR_H
#define HEAPTRACE_OUTDIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Profiles are created with this mode, less what the umask takes away. */
#define OUTDIR_FILE_MODE 0640

/* Temporary files of this pattern older than this are stale: swept at start. */
#define OUTDIR_STALE_TEMP_NS (60ull * 1000000000ull)

struct outdir;

/*
 * Opens and checks `path`. On failure prints one error line naming the
 * problem and its fix, and returns a negative errno.
 */
int outdir__open(const char *path, bool allow_unsafe, struct outdir **out);

/* The descriptor held (for a helper process that must keep it open). */
int outdir__fd(const struct outdir *d);

/*
 * Closes the descriptor once a helper process holds its own copy: a copy
 * kept here would keep a removed directory alive (and its filesystem busy,
 * so that it could not be remounted read-only). Only outdir__path and
 * outdir__free may be called after.
 */
void outdir__hand_over(struct outdir *d);

/* The path as given, for messages. */
const char *outdir__path(const struct outdir *d);

/*
 * Writes `len` bytes as a new file `name`. Returns 0, -EEXIST when the
 * name is taken (nothing is written), or the errno of the failing step:
 * the temporary file is then removed.
 */
int outdir__write(struct outdir *d, const char *name, const void *buf, size_t len);

/* Removes file `name` (never a directory; a symlink itself, not its target). */
int outdir__unlink(struct outdir *d, const char *name);

/*
 * Before a write after a failure: when the directory held was removed,
 * reopens the path (with the checks of outdir__open). 0 when the directory
 * held is usable, else -ENOENT or the reopening's error (not printed).
 */
int outdir__revive(struct outdir *d);

/*
 * Removes stale temporary files of heaptrace's own pattern that belong to
 * this user. Returns how many were removed.
 */
int outdir__sweep(struct outdir *d, uint64_t now_real_ns);

/* What a write's error means for a person, and what to do: one phrase. */
const char *outdir__cause(int err);

/* True when `name` is one heaptrace could have made a temporary file of. */
bool outdir__is_temp_name(const char *name);

/* outdir__free(NULL) is a no-op. */
void outdir__free(struct outdir *d);

#endif /* HEAPTRACE_OUTDIR_H */
