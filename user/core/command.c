// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/auxv.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/command.h"
#include "util/clock.h"
#include "util/log.h"

struct command {
	pid_t pid;
	int go_fd;  /* written to let the child exec */
	int err_fd; /* the child writes errno here if exec fails; EOF means exec'ed */
	char *name;
	enum command_state state;
	int status; /* exit status once gone */
	bool exec_failed;
};

pid_t command__pid(const struct command *c)
{
	return c->pid;
}

bool command__ran(const struct command *c)
{
	return !c->exec_failed;
}

static void child_main(char **argv, const sigset_t *blocked, int go_fd, int err_fd)
{
	char go;
	int e;

	sigprocmask(SIG_UNBLOCK, blocked, NULL);
	if (ptrace(PTRACE_TRACEME, 0, NULL, NULL))
		_exit(126);
	if (read(go_fd, &go, 1) != 1)
		_exit(126);
	execvp(argv[0], argv);
	e = errno;
	if (write(err_fd, &e, sizeof(e)) < 0)
		_exit(127);
	_exit(127);
}

int command__start(char **argv, const sigset_t *blocked, struct command **out)
{
	int go[2] = { -1, -1 }, errp[2] = { -1, -1 };
	struct command *c;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->name = strdup(argv[0]);
	if (!c->name || pipe2(go, O_CLOEXEC) || pipe2(errp, O_CLOEXEC)) {
		log_error("cannot start '%s': %s", argv[0], strerror(errno));
		goto fail;
	}
	c->pid = fork();
	if (c->pid < 0) {
		log_error("cannot start '%s': %s", argv[0], strerror(errno));
		goto fail;
	}
	if (c->pid == 0) {
		close(go[1]);
		close(errp[0]);
		child_main(argv, blocked, go[0], errp[1]);
	}
	close(go[0]);
	close(errp[1]);
	c->go_fd = go[1];
	c->err_fd = errp[0];
	c->state = COMMAND_RUNNING;
	*out = c;
	return 0;
fail:
	if (go[0] >= 0) {
		close(go[0]);
		close(go[1]);
	}
	if (errp[0] >= 0) {
		close(errp[0]);
		close(errp[1]);
	}
	free(c->name);
	free(c);
	return -errno ? -errno : -EINVAL;
}

static void record_exit(struct command *c, int status)
{
	c->state = COMMAND_GONE;
	if (WIFEXITED(status))
		c->status = WEXITSTATUS(status);
	else if (WIFSIGNALED(status))
		c->status = 128 + WTERMSIG(status);
}

/* The program's entry point (AT_ENTRY): where the dynamic linker hands over. */
static int read_entry(pid_t pid, uint64_t *entry)
{
	uint64_t av[2];
	char path[64];
	int fd, err = -ENOENT;

	snprintf(path, sizeof(path), "/proc/%d/auxv", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (read(fd, av, sizeof(av)) == (ssize_t)sizeof(av) && av[0] != AT_NULL) {
		if (av[0] == AT_ENTRY) {
			*entry = av[1];
			err = 0;
			break;
		}
	}
	close(fd);
	return err;
}

/*
 * Runs the freshly exec'ed child to its entry point with a one-shot
 * breakpoint: by then the dynamic linker has mapped every library it
 * needs (and any LD_PRELOAD), so discovery sees what will serve malloc.
 */
static int run_to_entry(struct command *c)
{
	struct user_regs_struct regs;
	uint64_t entry = 0;
	long word;
	int status, err;

	err = read_entry(c->pid, &entry);
	if (err)
		return err;
	errno = 0;
	word = ptrace(PTRACE_PEEKTEXT, c->pid, (void *)entry, NULL);
	if (errno)
		return -errno;
	if (ptrace(PTRACE_POKETEXT, c->pid, (void *)entry, (void *)((word & ~0xffL) | 0xcc)))
		return -errno;
	ptrace(PTRACE_CONT, c->pid, NULL, NULL);
	for (;;) {
		if (waitpid(c->pid, &status, 0) != c->pid)
			return -errno;
		if (WIFEXITED(status) || WIFSIGNALED(status)) {
			record_exit(c, status);
			return -ESRCH;
		}
		if (WSTOPSIG(status) == SIGTRAP && !(status >> 16))
			break;
		/* A ptrace event goes on by itself; a signal is delivered. */
		ptrace(PTRACE_CONT, c->pid, NULL,
		       (void *)(long)(status >> 16 ? 0 : WSTOPSIG(status)));
	}
	if (ptrace(PTRACE_GETREGS, c->pid, NULL, &regs) || regs.rip != entry + 1)
		return -EPROTO;
	regs.rip = entry;
	if (ptrace(PTRACE_POKETEXT, c->pid, (void *)entry, (void *)word) ||
	    ptrace(PTRACE_SETREGS, c->pid, NULL, &regs))
		return -errno;
	return 0;
}

int command__run(struct command *c)
{
	int status, e = 0, err;
	ssize_t n;

	if (write(c->go_fd, "g", 1) != 1)
		return -EPIPE;
	close(c->go_fd);
	c->go_fd = -1;
	n = read(c->err_fd, &e, sizeof(e));
	close(c->err_fd);
	c->err_fd = -1;
	if (n == (ssize_t)sizeof(e)) {
		log_error("cannot run '%s': %s: check the command and its PATH", c->name,
			  strerror(e));
		if (waitpid(c->pid, &status, 0) == c->pid)
			record_exit(c, status);
		c->status = 127;
		c->exec_failed = true;
		return -e;
	}
	/* A traced child stops with SIGTRAP right after a successful exec. */
	if (waitpid(c->pid, &status, 0) != c->pid)
		return -errno;
	if (!WIFSTOPPED(status)) {
		record_exit(c, status);
		return -ESRCH;
	}
	/* Later execs must stop as events: as plain SIGTRAPs, passing them on would kill it. */
	ptrace(PTRACE_SETOPTIONS, c->pid, NULL,
	       (void *)(long)(PTRACE_O_TRACEEXIT | PTRACE_O_TRACEEXEC));
	err = run_to_entry(c);
	if (err && c->state != COMMAND_GONE)
		log_error("cannot run '%s' to its entry point: %s", c->name, strerror(-err));
	return err;
}

void command__resume(struct command *c)
{
	if (c->state == COMMAND_EXECED)
		c->state = COMMAND_RUNNING;
	if (c->state == COMMAND_RUNNING)
		ptrace(PTRACE_CONT, c->pid, NULL, NULL);
}

enum command_state command__handle_child(struct command *c)
{
	int status;
	pid_t r;

	while (c->state != COMMAND_GONE && (r = waitpid(c->pid, &status, WNOHANG)) == c->pid) {
		if (WIFEXITED(status) || WIFSIGNALED(status)) {
			record_exit(c, status);
			break;
		}
		if (!WIFSTOPPED(status))
			continue;
		if (status >> 8 == (SIGTRAP | (PTRACE_EVENT_EXIT << 8))) {
			c->state = COMMAND_EXITING;
			return c->state;
		}
		/* A new image (a wrapper such as env exec'ing the real program): run it to its
		 * entry point too, so that its allocator can be found and probed. */
		if (status >> 8 == (SIGTRAP | (PTRACE_EVENT_EXEC << 8))) {
			if (run_to_entry(c) == 0) {
				c->state = COMMAND_EXECED;
				return c->state;
			}
			ptrace(PTRACE_CONT, c->pid, NULL, NULL);
			continue;
		}
		/* A signal meant for the command: deliver it. */
		ptrace(PTRACE_CONT, c->pid, NULL, (void *)(long)WSTOPSIG(status));
	}
	return c->state;
}

void command__release(struct command *c)
{
	if (c->state == COMMAND_EXITING) {
		ptrace(PTRACE_DETACH, c->pid, NULL, NULL);
		c->state = COMMAND_RUNNING;
	}
}

int command__free(struct command *c)
{
	uint64_t start;
	bool killed = false;
	int status;

	if (!c)
		return 0;
	if (c->go_fd >= 0)
		close(c->go_fd);
	if (c->err_fd >= 0)
		close(c->err_fd);
	if (c->state != COMMAND_GONE && c->pid > 0) {
		command__release(c);
		kill(c->pid, SIGTERM);
		start = clock__mono_ns();
		while (c->state != COMMAND_GONE) {
			pid_t r = waitpid(c->pid, &status, WNOHANG);

			if (r == c->pid) {
				if (WIFEXITED(status) || WIFSIGNALED(status)) {
					record_exit(c, status);
					break;
				}
				if (WIFSTOPPED(status)) {
					/* Still traced: let it go with the signal that stopped it,
					 * or none for a ptrace event (exit, exec). */
					int sig = status >> 16 ? 0 : WSTOPSIG(status);

					ptrace(PTRACE_DETACH, c->pid, NULL, (void *)(long)sig);
				}
				continue;
			}
			if (r < 0)
				break;
			/* A grace period for SIGTERM, then SIGKILL. */
			if (!killed && clock__mono_ns() - start >= 5000000000ull) {
				kill(c->pid, SIGKILL);
				killed = true;
			}
			usleep(10000);
		}
	}
	status = c->status;
	free(c->name);
	free(c);
	return status;
}
