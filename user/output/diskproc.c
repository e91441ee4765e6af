// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* diskproc.c - see diskproc.h. */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "output/diskproc.h"
#include "output/outdir.h"

enum diskproc_op { OP_WRITE = 1, OP_UNLINK, OP_REVIVE };

struct request {
	int32_t op;
	uint32_t name_len; /* bytes of name[] used, with its NUL */
	uint64_t len;	   /* OP_WRITE: bytes of the profile in the memfd sent along */
	char name[256];
};

struct diskproc {
	pid_t pid;
	int sock;
};

/* -------------------------------------------------------- the helper ---- */

/* One request's answer; a memfd comes with OP_WRITE. */
static int32_t serve_one(struct outdir *d, const struct request *rq, int memfd)
{
	void *map;
	int32_t err;

	switch (rq->op) {
	case OP_WRITE:
		if (memfd < 0)
			return -EINVAL;
		if (!rq->len)
			return outdir__write(d, rq->name, "", 0);
		map = mmap(NULL, rq->len, PROT_READ, MAP_PRIVATE, memfd, 0);
		if (map == MAP_FAILED)
			return -errno;
		err = outdir__write(d, rq->name, map, rq->len);
		munmap(map, rq->len);
		return err;
	case OP_UNLINK:
		return outdir__unlink(d, rq->name);
	case OP_REVIVE:
		return outdir__revive(d);
	default:
		return -EINVAL;
	}
}

/* Receives one request and maybe a descriptor; 0 at the end of the stream. */
static ssize_t recv_request(int sock, struct request *rq, int *fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { rq, sizeof(*rq) };
	struct msghdr m = { .msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = cbuf,
			    .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c;
	ssize_t n;

	*fd = -1;
	do
		n = recvmsg(sock, &m, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return n;
	for (c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
			memcpy(fd, CMSG_DATA(c), sizeof(int));
	return n;
}

/*
 * The helper only makes files in one directory: of root's powers it keeps
 * at most CAP_DAC_OVERRIDE (a directory of another user's accepted with
 * --unsafe-output-dir), and it can never gain any back.
 */
static void drop_privileges(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct c[2];
	uint32_t keep = 1u << CAP_DAC_OVERRIDE;

	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	if (syscall(SYS_capget, &h, c))
		return;
	c[0].effective &= keep;
	c[0].permitted &= keep;
	c[0].inheritable = 0;
	c[1].effective = c[1].permitted = c[1].inheritable = 0;
	syscall(SYS_capset, &h, c);
}

static void helper_main(struct outdir *d, int sock)
{
	for (;;) {
		struct request rq;
		int32_t err;
		int fd;
		ssize_t n = recv_request(sock, &rq, &fd);

		if (n <= 0)
			break;
		if ((size_t)n != sizeof(rq) || !rq.name_len || rq.name_len > sizeof(rq.name) ||
		    rq.name[rq.name_len - 1])
			err = -EINVAL;
		else
			err = serve_one(d, &rq, fd);
		if (fd >= 0)
			close(fd);
		if (send(sock, &err, sizeof(err), MSG_NOSIGNAL) != (ssize_t)sizeof(err))
			break;
	}
	_exit(0);
}

/* ------------------------------------------------------- the caller ---- */

int diskproc__start(struct outdir *d, struct diskproc **out)
{
	struct diskproc *p = calloc(1, sizeof(*p));
	int sv[2], err;
	pid_t parent = getpid();

	if (!p)
		return -ENOMEM;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv)) {
		err = -errno;
		free(p);
		return err;
	}
	p->pid = fork();
	if (p->pid < 0) {
		err = -errno;
		close(sv[0]);
		close(sv[1]);
		free(p);
		return err;
	}
	if (p->pid == 0) {
		int keep = outdir__fd(d);

		/* Dies with heaptrace, and holds nothing else of it (BPF maps, links, sockets). */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(0);
		close(sv[0]);
		if (keep < sv[1]) {
			close_range(3, (unsigned)keep - 1, 0);
			close_range((unsigned)keep + 1, (unsigned)sv[1] - 1, 0);
			close_range((unsigned)sv[1] + 1, ~0u, 0);
		} else {
			close_range(3, (unsigned)sv[1] - 1, 0);
			close_range((unsigned)sv[1] + 1, (unsigned)keep - 1, 0);
			close_range((unsigned)keep + 1, ~0u, 0);
		}
		prctl(PR_SET_NAME, "heaptrace-disk");
		drop_privileges();
		helper_main(d, sv[1]);
	}
	close(sv[1]);
	outdir__hand_over(d);
	p->sock = sv[0];
	*out = p;
	return 0;
}

/* Sends one request (with a descriptor when fd >= 0) and waits for its answer. */
static int call(struct diskproc *p, const struct request *rq, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { (void *)rq, sizeof(*rq) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	int32_t answer;
	ssize_t n;

	if (fd >= 0) {
		struct cmsghdr *c;

		memset(cbuf, 0, sizeof(cbuf));
		m.msg_control = cbuf;
		m.msg_controllen = sizeof(cbuf);
		c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	do
		n = sendmsg(p->sock, &m, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(*rq))
		return n < 0 ? -errno : -EIO;
	do
		n = recv(p->sock, &answer, sizeof(answer), 0);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(answer))
		return n < 0 ? -errno : -EPIPE; /* the helper died */
	return answer;
}

static int make_request(struct request *rq, int op, const char *name)
{
	size_t n = strlen(name) + 1;

	memset(rq, 0, sizeof(*rq));
	if (n > sizeof(rq->name))
		return -ENAMETOOLONG;
	rq->op = op;
	rq->name_len = (uint32_t)n;
	memcpy(rq->name, name, n);
	return 0;
}

int diskproc__write(struct diskproc *p, const char *name, const void *buf, size_t len)
{
	struct request rq;
	const char *b = buf;
	size_t done = 0;
	int fd, err;

	err = make_request(&rq, OP_WRITE, name);
	if (err)
		return err;
	/* The profile goes by memory, not through the socket: one copy, any size. */
	fd = memfd_create("heaptrace-profile", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (done < len) {
		ssize_t n = write(fd, b + done, len - done);

		if (n < 0) {
			err = -errno;
			goto cleanup;
		}
		done += (size_t)n;
	}
	rq.len = len;
	err = call(p, &rq, fd);
cleanup:
	close(fd);
	return err;
}

int diskproc__unlink(struct diskproc *p, const char *name)
{
	struct request rq;
	int err = make_request(&rq, OP_UNLINK, name);

	return err ? err : call(p, &rq, -1);
}

int diskproc__revive(struct diskproc *p)
{
	struct request rq;

	make_request(&rq, OP_REVIVE, "");
	return call(p, &rq, -1);
}

void diskproc__free(struct diskproc *p)
{
	if (!p)
		return;
	close(p->sock); /* the helper sees the end of its requests and exits */
	waitpid(p->pid, NULL, 0);
	free(p);
}
