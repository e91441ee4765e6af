/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * privilege.h - once attached, heaptrace keeps only what tracing still needs.
 *
 * Loading BPF, binding --http and starting a command need root's full
 * set; what comes later (reading the maps, attaching probes to processes
 * that appear later or after the safety valve's cool-down, reading their
 * /proc files and ELF files, stepping a command through its execs) needs
 * far less, while the daemon goes on parsing files any user can shape and
 * answering HTTP. privilege__drop() keeps the capabilities privilege.c
 * lists (docs/reliability.md, "Privileges", says which serves what) in
 * the permitted and effective sets and clears every other one
 * from them, from the bounding, inheritable and ambient sets; locks the
 * securebits so that uid 0 gains nothing back; sets no_new_privs; and
 * installs a seccomp filter that refuses (EPERM) a deny-list of system
 * calls heaptrace never makes once running: executing programs, mounting,
 * modules, namespaces, changing ids or capabilities, keyrings, clocks,
 * io_uring (whose operations seccomp cannot see), and the like.
 *
 * Capabilities belong to a thread: call it while heaptrace has one (the
 * seccomp filter is synchronised to every thread anyway).
 */
#ifndef HEAPTRACE_PRIVILEGE_H
#define HEAPTRACE_PRIVILEGE_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Drops what privilege.h says. With `sessions` (uprobe session links are
 * how allocating sites are probed) CAP_SYS_ADMIN is kept too: Linux 6.18
 * refuses to create those links without it (measured: every later attach
 * failed with EPERM), and a process that execs, forks or comes back from
 * the valve needs new ones. CAP_DAC_OVERRIDE is kept when profiles could
 * not be written into output_dir without it (another user's directory).
 * Each step that fails is said in one line (a "warning:", the run goes on
 * with what could be dropped); returns 0 when every step succeeded, else
 * the first step's negative errno.
 */
int privilege__drop(bool sessions, const char *output_dir);

#endif /* HEAPTRACE_PRIVILEGE_H */
