/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * signals.h - signals as file descriptor events, so the main loop can wait
 * for signals, target exits and deadlines in one poll().
 */
#ifndef HEAPTRACE_SIGNALS_H
#define HEAPTRACE_SIGNALS_H

#include <signal.h>

/* A signalfd for the signals in `mask` (already blocked). Returns fd or -errno. */
int signals__open(const sigset_t *mask);

/* Reads one pending signal; returns its number, or 0 when none. */
int signals__read(int fd);

#endif /* HEAPTRACE_SIGNALS_H */
