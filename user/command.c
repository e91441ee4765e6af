// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "command.h"
#include "log.h"

struct command {
	pid_t pid;
	int go_fd;  /* written to let the child exec */
	int err_fd; /* the child writes errno here if exec fails; EOF means exec'ed */
	char *name;
	enum command_state state;
	int status; /* exit status once gone */
};

pid_t command__pid(const struct command *c)
{
	return c->pid;
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
	int go[2] = {-1, -1}, errp[2] = {-1, -1};
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

int command__run(struct command *c)
{
	int status, e = 0;
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
		return -e;
	}
	/* A traced child stops with SIGTRAP right after a successful exec. */
	if (waitpid(c->pid, &status, 0) != c->pid)
		return -errno;
	if (!WIFSTOPPED(status)) {
		record_exit(c, status);
		return 0;
	}
	/* Later execs must stop as events: as plain SIGTRAPs, passing them on would kill it. */
	ptrace(PTRACE_SETOPTIONS, c->pid, NULL,
	       (void *)(long)(PTRACE_O_TRACEEXIT | PTRACE_O_TRACEEXEC));
	ptrace(PTRACE_CONT, c->pid, NULL, NULL);
	return 0;
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
		/* A new image: the probes follow the files, the maps are re-read on use. */
		if (status >> 8 == (SIGTRAP | (PTRACE_EVENT_EXEC << 8))) {
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
	struct timespec start, now;
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
		clock_gettime(CLOCK_MONOTONIC, &start);
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
			clock_gettime(CLOCK_MONOTONIC, &now);
			if (!killed && now.tv_sec - start.tv_sec >= 5) {
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
