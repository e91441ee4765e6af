/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * diskproc.h - a small process of heaptrace's own that makes the output
 * directory's system calls (output/outdir.h) on request.
 *
 * Why a process and not only a thread: a thread inside fsync(2) on a slow
 * or hung filesystem cannot be killed until the filesystem answers, and a
 * process cannot end while one of its threads is in that state, so a
 * SIGTERM would wait for the disk. The caller (the file sink's writer
 * thread) waits for answers in recvmsg(2), which an exit ends at once;
 * the helper dies with heaptrace (PR_SET_PDEATHSIG) as soon as its own
 * system call returns.
 *
 * The helper keeps nothing of heaptrace open but the directory and its end
 * of the socket (no BPF object outlives heaptrace because of it), and of
 * root's capabilities at most CAP_DAC_OVERRIDE, with no_new_privs.
 *
 * Requests are synchronous; one thread only.
 */
#ifndef HEAPTRACE_DISKPROC_H
#define HEAPTRACE_DISKPROC_H

#include <stddef.h>

struct outdir;
struct diskproc;

/*
 * Forks the helper, which takes `d`'s descriptor over (the caller's `d` is
 * then good for outdir__path only). Returns 0 or a negative errno.
 */
int diskproc__start(struct outdir *d, struct diskproc **out);

/* outdir__write, in the helper. */
int diskproc__write(struct diskproc *p, const char *name, const void *buf, size_t len);

/* outdir__unlink, in the helper. */
int diskproc__unlink(struct diskproc *p, const char *name);

/* outdir__revive, in the helper. */
int diskproc__revive(struct diskproc *p);

/*
 * Ends the helper and reaps it. Only when it is idle: a helper stuck on
 * the disk is left to die with heaptrace instead.
 */
void diskproc__free(struct diskproc *p);

#endif /* HEAPTRACE_DISKPROC_H */
