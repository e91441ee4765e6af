/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * peer.h - which local user is on the other end of an accepted connection.
 *
 * A Unix socket says it itself (SO_PEERCRED). For TCP the kernel knows the
 * client's socket when the client runs on this host: sock_diag's exact
 * lookup (NETLINK_SOCK_DIAG, inet_diag) of the connection's four-tuple,
 * seen from the client's side, gives the uid that created it (on a kernel
 * without inet_diag, /proc/net/tcp{,6} does). A client on another host has
 * no such socket here, and so no uid.
 */
#ifndef HEAPTRACE_PEER_H
#define HEAPTRACE_PEER_H

#include <sys/types.h>

/*
 * The uid of the process holding the other end of connected socket fd.
 * Returns 0, -ENOENT when no local socket holds it (a remote client), or
 * another negative errno.
 */
int peer__uid(int fd, uid_t *uid);

/* peer__uid for TCP from /proc/net/tcp{,6} alone, the fallback (kernels without inet_diag). */
int peer__uid_procnet(int fd, uid_t *uid);

#endif /* HEAPTRACE_PEER_H */
