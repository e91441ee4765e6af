/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * command.h - a command heaptrace starts and traces from its first
 * allocation (`heaptrace -- COMMAND ARGS`).
 *
 * The child is stopped at its program entry point, after the dynamic
 * linker has loaded its libraries, until the probes are attached. It runs
 * under ptrace for that, and so that heaptrace is told when it is about to
 * exit while its memory map still exists: the final profile is symbolized from the image
 * it actually ran, however short its life. Signals it receives are passed
 * on to it unchanged.
 */
#ifndef HEAPTRACE_COMMAND_H
#define HEAPTRACE_COMMAND_H

#include <signal.h>
#include <stdbool.h>
#include <sys/types.h>

struct command;

enum command_state {
	COMMAND_RUNNING,
	COMMAND_EXITING, /* stopped at its exit: maps still readable; call command__release */
	COMMAND_EXECED,	 /* exec'ed a new image, stopped at its entry; call command__resume */
	COMMAND_GONE,	 /* exited and reaped */
};

/*
 * Forks the child, which waits for command__run. `blocked` is heaptrace's
 * blocked signal set, unblocked again in the child. Prints its own error.
 */
int command__start(char **argv, const sigset_t *blocked, struct command **out);

pid_t command__pid(const struct command *c);

/* False when the command could not be run at all (exec failed: not found, not executable). */
bool command__ran(const struct command *c);

/*
 * Lets the child exec, and runs it to its program entry point: the dynamic
 * linker has then loaded its libraries, and no code of the program itself
 * has run. The child is left stopped there until command__resume. Returns
 * 0, or a negative errno (printed) when the command could not be run.
 */
int command__run(struct command *c);

/* Lets a child stopped at its entry point (first, or after an exec) run. */
void command__resume(struct command *c);

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
