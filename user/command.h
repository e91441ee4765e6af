/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * command.h - a command heaptrace starts and traces from its first
 * allocation (`heaptrace -- COMMAND ARGS`).
 *
 * The child waits before exec until the probes are attached. It runs under
 * ptrace only so that heaptrace is told when it is about to exit while its
 * memory map still exists: the final profile is symbolized from the image
 * it actually ran, however short its life. Signals it receives are passed
 * on to it unchanged.
 */
#ifndef HEAPTRACE_COMMAND_H
#define HEAPTRACE_COMMAND_H

#include <signal.h>
#include <sys/types.h>

struct command;

enum command_state {
	COMMAND_RUNNING,
	COMMAND_EXITING, /* stopped at its exit: maps still readable; call command__release */
	COMMAND_GONE,	 /* exited and reaped */
};

/*
 * Forks the child, which waits for command__run. `blocked` is heaptrace's
 * blocked signal set, unblocked again in the child. Prints its own error.
 */
int command__start(char **argv, const sigset_t *blocked, struct command **out);

pid_t command__pid(const struct command *c);

/*
 * Lets the child exec and waits until it has. Returns 0, or a negative errno
 * (printed) when the command could not be run.
 */
int command__run(struct command *c);

/* Handles a SIGCHLD: returns the child's state after it. */
enum command_state command__handle_child(struct command *c);

/* Lets a child stopped at its exit finish exiting. */
void command__release(struct command *c);

/*
 * Ends the child if it still runs (SIGTERM, then SIGKILL after a grace
 * period), reaps it and frees c. Returns its exit status (128 + signal when
 * killed, 127 when it could not be run), or 0 for c == NULL.
 */
int command__free(struct command *c);

#endif /* HEAPTRACE_COMMAND_H */
