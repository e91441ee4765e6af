/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * access.h - who may read a traced process's profiles over HTTP.
 *
 * A profile shows a process's code addresses (its ASLR undone), source
 * paths and memory figures, so by default only root and the process's
 * owner (its real uid when tracing began) may read it. --http-allow widens
 * that: "group:NAME" adds the members of group NAME, "anyone" lets every
 * client in, including those whose user cannot be told (remote clients).
 * The asker is the uid peer.h finds for the connection.
 */
#ifndef HEAPTRACE_ACCESS_H
#define HEAPTRACE_ACCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct http_access;

/*
 * Checks the form of an --http-allow value ("owner", "group:NAME",
 * "anyone") without looking anything up. Returns 0 or -EINVAL.
 */
int access__check_spec(const char *spec);

/*
 * The policy of spec (NULL: "owner"), the group resolved now. Returns 0,
 * or -EINVAL (bad spec, unknown group) or -ENOMEM with one line (problem:
 * what to do) in err.
 */
int access__new(const char *spec, struct http_access **out, char *err, size_t errlen);

/* The asker of a connection: known is false when its user could not be told. */
struct access_asker {
	bool known;
	uid_t uid;
};

/*
 * Whether asker may read the profiles of a process owned by `owner`. When
 * not, and why is not NULL, says why in one line (no newline).
 */
bool access__allows(const struct http_access *a, const struct access_asker *asker, uid_t owner,
		    char *why, size_t whylen);

/* NULL is a no-op. */
void access__free(struct http_access *a);

#endif /* HEAPTRACE_ACCESS_H */
