// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* peer.c - see peer.h. */
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http/peer.h"

/* One end of a TCP connection, as inet_diag spells it. */
struct endpoint {
	int family;
	__be16 port;
	__be32 addr[4];
};

/* An IPv4 client of an IPv6 listener shows as ::ffff:a.b.c.d; its socket is AF_INET. */
static void to_endpoint(const struct sockaddr_storage *ss, struct endpoint *e)
{
	memset(e, 0, sizeof(*e));
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)ss;

		e->family = AF_INET;
		e->port = a->sin_port;
		memcpy(e->addr, &a->sin_addr, 4);
		return;
	}
	const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)ss;

	e->port = a6->sin6_port;
	if (IN6_IS_ADDR_V4MAPPED(&a6->sin6_addr)) {
		e->family = AF_INET;
		memcpy(e->addr, a6->sin6_addr.s6_addr + 12, 4);
	} else {
		e->family = AF_INET6;
		memcpy(e->addr, &a6->sin6_addr, 16);
	}
}

/* The uid owning the socket whose local end is `self` and remote end `other`. */
static int diag_lookup(const struct endpoint *self, const struct endpoint *other, uid_t *uid)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 req;
	} msg = {
		.nlh = { .nlmsg_len = sizeof(msg),
			 .nlmsg_type = SOCK_DIAG_BY_FAMILY,
			 .nlmsg_flags = NLM_F_REQUEST,
			 .nlmsg_seq = 1 },
		.req = { .sdiag_family = (__u8)self->family,
			 .sdiag_protocol = IPPROTO_TCP,
			 .idiag_states = ~0u,
			 .id = { .idiag_sport = self->port,
				 .idiag_dport = other->port,
				 .idiag_cookie = { INET_DIAG_NOCOOKIE, INET_DIAG_NOCOOKIE } } },
	};
	union {
		struct nlmsghdr nlh;
		char buf[1024];
	} reply;
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	const struct inet_diag_msg *d;
	ssize_t n;
	int fd, err;

	memcpy(msg.req.id.idiag_src, self->addr, sizeof(self->addr));
	memcpy(msg.req.id.idiag_dst, other->addr, sizeof(other->addr));
	fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (fd < 0)
		return -errno;
	if (sendto(fd, &msg, sizeof(msg), 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0) {
		err = -errno;
		goto cleanup;
	}
	/* The kernel answers a lookup while handling the request: it is already queued. */
	n = recv(fd, &reply, sizeof(reply), MSG_DONTWAIT);
	if (n < 0) {
		err = -errno;
		goto cleanup;
	}
	if (!NLMSG_OK(&reply.nlh, (size_t)n)) {
		err = -EPROTO;
		goto cleanup;
	}
	if (reply.nlh.nlmsg_type == NLMSG_ERROR) {
		const struct nlmsgerr *e = NLMSG_DATA(&reply.nlh);

		err = e->error ? e->error : -ENOENT;
		goto cleanup;
	}
	if (reply.nlh.nlmsg_type != SOCK_DIAG_BY_FAMILY ||
	    reply.nlh.nlmsg_len < NLMSG_LENGTH(sizeof(*d))) {
		err = -EPROTO;
		goto cleanup;
	}
	d = NLMSG_DATA(&reply.nlh);
	*uid = d->idiag_uid;
	err = 0;
cleanup:
	close(fd);
	return err;
}

/* An endpoint as /proc/net/tcp{,6} prints it: the address's words in memory order, the port. */
static void proc_net_form(const struct endpoint *e, char *buf, size_t len)
{
	if (e->family == AF_INET)
		snprintf(buf, len, "%08X:%04X", (unsigned)e->addr[0], (unsigned)ntohs(e->port));
	else
		snprintf(buf, len, "%08X%08X%08X%08X:%04X", (unsigned)e->addr[0],
			 (unsigned)e->addr[1], (unsigned)e->addr[2], (unsigned)e->addr[3],
			 (unsigned)ntohs(e->port));
}

/*
 * Without sock_diag (a kernel built without inet_diag), the same answer
 * from /proc/net/tcp{,6}: the line whose local and remote ends are the
 * client's, and its uid column.
 */
static int proc_net_lookup(const struct endpoint *self, const struct endpoint *other, uid_t *uid)
{
	char want_local[48], want_remote[48], local[48], remote[48], line[512];
	const char *path = self->family == AF_INET ? "/proc/net/tcp" : "/proc/net/tcp6";
	unsigned long u;
	int err = -ENOENT;
	FILE *f;

	proc_net_form(self, want_local, sizeof(want_local));
	proc_net_form(other, want_remote, sizeof(want_remote));
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, " %*[^:]: %47s %47s %*s %*s %*s %*s %lu", local, remote, &u) != 3)
			continue;
		if (!strcmp(local, want_local) && !strcmp(remote, want_remote)) {
			*uid = (uid_t)u;
			err = 0;
			break;
		}
	}
	fclose(f);
	return err;
}

/* The two ends of a TCP connection, as the client's socket sees them. */
static int tcp_ends(int fd, struct endpoint *client, struct endpoint *server)
{
	struct sockaddr_storage local, remote;
	socklen_t ll = sizeof(local), rl = sizeof(remote);

	if (getsockname(fd, (struct sockaddr *)&local, &ll) ||
	    getpeername(fd, (struct sockaddr *)&remote, &rl))
		return -errno;
	if (local.ss_family != AF_INET && local.ss_family != AF_INET6)
		return -EAFNOSUPPORT;
	to_endpoint(&local, server);
	to_endpoint(&remote, client);
	return 0;
}

int peer__uid_procnet(int fd, uid_t *uid)
{
	struct endpoint server, client;
	int err = tcp_ends(fd, &client, &server);

	return err ? err : proc_net_lookup(&client, &server, uid);
}

int peer__uid(int fd, uid_t *uid)
{
	struct sockaddr_storage local;
	socklen_t ll = sizeof(local);
	struct endpoint server, client;
	int err;

	if (getsockname(fd, (struct sockaddr *)&local, &ll))
		return -errno;
	if (local.ss_family == AF_UNIX) {
		struct ucred cred;
		socklen_t cl = sizeof(cred);

		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl))
			return -errno;
		*uid = cred.uid;
		return 0;
	}
	err = tcp_ends(fd, &client, &server);
	if (err)
		return err;
	/* The client's socket: its local end is our peer, its remote end is us. */
	err = diag_lookup(&client, &server, uid);
	if (err && err != -ENOENT)
		err = proc_net_lookup(&client, &server, uid);
	return err;
}
