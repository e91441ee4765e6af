// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Unit tests of peer.h: the uid of a connection's client, told by the
 * kernel. A child process connects (as uid 65534 when the test runs as
 * root, so that the answer cannot be the test's own uid by accident) over
 * TCP on 127.0.0.1 and ::1 and over a Unix socket pair; the server side
 * asks sock_diag, /proc/net/tcp{,6} and SO_PEERCRED who it is.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <string.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "http/peer.h"
#include "tap.h"

#define OTHER_UID 65534

/* The uid the child runs as. */
static uid_t client_uid(void)
{
	return geteuid() == 0 ? OTHER_UID : geteuid();
}

static void become_client(void)
{
	if (geteuid() == 0 && setresgid(OTHER_UID, OTHER_UID, OTHER_UID) == 0 &&
	    setresuid(OTHER_UID, OTHER_UID, OTHER_UID) == 0)
		return;
	if (geteuid() == 0)
		_exit(3);
}

/* A child connects to a listener on `family`'s loopback; the accepted socket, or -1. */
static int accept_child(int family, pid_t *child, int *hold)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t sl = family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
	int lfd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0), fd, p[2];

	if (lfd < 0 || pipe(p))
		return -1;
	ss.ss_family = (sa_family_t)family;
	if (family == AF_INET)
		((struct sockaddr_in *)&ss)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	else
		((struct sockaddr_in6 *)&ss)->sin6_addr = in6addr_loopback;
	if (bind(lfd, (struct sockaddr *)&ss, sl) || listen(lfd, 1) ||
	    getsockname(lfd, (struct sockaddr *)&ss, &sl))
		return -1;
	*child = fork();
	if (*child == 0) {
		char c;
		int cfd;

		close(p[1]);
		become_client();
		cfd = socket(family, SOCK_STREAM, 0);
		if (cfd < 0 || connect(cfd, (struct sockaddr *)&ss, sl))
			_exit(2);
		/* Hold the connection until the parent has asked. */
		if (read(p[0], &c, 1) < 0)
			_exit(2);
		_exit(0);
	}
	close(p[0]);
	*hold = p[1];
	fd = accept(lfd, NULL, NULL);
	close(lfd);
	return fd;
}

static void release(pid_t child, int hold, int fd)
{
	int status;

	close(hold);
	if (fd >= 0)
		close(fd);
	waitpid(child, &status, 0);
}

static void tcp_case(int family, const char *name)
{
	pid_t child;
	int hold, fd = accept_child(family, &child, &hold);
	uid_t uid = (uid_t)-1, uid2 = (uid_t)-1;
	int err, err2;

	ok(fd >= 0, "%s: a child connected", name);
	if (fd < 0)
		return;
	err = peer__uid(fd, &uid);
	ok(err == 0 && uid == client_uid(), "%s: sock_diag: the client's uid %u (got %d, %u)", name,
	   (unsigned)client_uid(), err, (unsigned)uid);
	err2 = peer__uid_procnet(fd, &uid2);
	ok(err2 == 0 && uid2 == client_uid(), "%s: /proc/net: the client's uid %u (got %d, %u)",
	   name, (unsigned)client_uid(), err2, (unsigned)uid2);
	release(child, hold, fd);
}

/* A Unix socket in the abstract namespace: no file, no mode in the way of the child. */
static void unix_case(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	socklen_t sl = offsetof(struct sockaddr_un, sun_path) + 1 +
		       (socklen_t)snprintf(sa.sun_path + 1, sizeof(sa.sun_path) - 1,
					   "heaptrace-test-peer-%d", (int)getpid());
	int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), fd, p[2], err;
	uid_t uid = (uid_t)-1;
	pid_t child;

	if (lfd < 0 || pipe(p) || bind(lfd, (struct sockaddr *)&sa, sl) || listen(lfd, 1)) {
		ok(0, "unix: a listener");
		return;
	}
	child = fork();
	if (child == 0) {
		char c;
		int cfd;

		close(p[1]);
		become_client();
		cfd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (cfd < 0 || connect(cfd, (struct sockaddr *)&sa, sl))
			_exit(2);
		if (read(p[0], &c, 1) < 0)
			_exit(2);
		_exit(0);
	}
	close(p[0]);
	fd = accept(lfd, NULL, NULL);
	close(lfd);
	err = peer__uid(fd, &uid);
	ok(err == 0 && uid == client_uid(), "unix: SO_PEERCRED: the client's uid %u (got %d, %u)",
	   (unsigned)client_uid(), err, (unsigned)uid);
	release(child, p[1], fd);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	tcp_case(AF_INET, "127.0.0.1");
	tcp_case(AF_INET6, "::1");
	unix_case();
	return done_testing();
}
