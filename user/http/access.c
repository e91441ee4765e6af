// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* access.c - see access.h. */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http/access.h"

#define GROUP_PREFIX "group:"
/* Enough for any account on a sane host; a user in more groups is checked on the first. */
#define MAX_GROUPS 256

struct http_access {
	bool anyone;
	bool group;
	gid_t gid;
	char group_name[64];
};

int access__check_spec(const char *spec)
{
	size_t plen = strlen(GROUP_PREFIX);

	if (!strcmp(spec, "owner") || !strcmp(spec, "anyone"))
		return 0;
	if (!strncmp(spec, GROUP_PREFIX, plen) && spec[plen] &&
	    strlen(spec + plen) < sizeof(((struct http_access *)0)->group_name))
		return 0;
	return -EINVAL;
}

int access__new(const char *spec, struct http_access **out, char *err, size_t errlen)
{
	struct http_access *a;
	struct group *g;

	if (!spec)
		spec = "owner";
	if (access__check_spec(spec)) {
		snprintf(err, errlen, "invalid --http-allow '%s': use owner, group:NAME or anyone",
			 spec);
		return -EINVAL;
	}
	a = calloc(1, sizeof(*a));
	if (!a) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	a->anyone = !strcmp(spec, "anyone");
	if (!strncmp(spec, GROUP_PREFIX, strlen(GROUP_PREFIX))) {
		snprintf(a->group_name, sizeof(a->group_name), "%s", spec + strlen(GROUP_PREFIX));
		g = getgrnam(a->group_name);
		if (!g) {
			snprintf(err, errlen,
				 "unknown group '%s' in --http-allow: give a group of this host "
				 "(getent group)",
				 a->group_name);
			free(a);
			return -EINVAL;
		}
		a->group = true;
		a->gid = g->gr_gid;
	}
	*out = a;
	return 0;
}

/* Whether uid is a member of gid, as its primary group or a supplementary one. */
static bool in_group(uid_t uid, gid_t gid)
{
	gid_t groups[MAX_GROUPS];
	int n = MAX_GROUPS, i;
	struct passwd *pw = getpwuid(uid);

	if (!pw)
		return false;
	if (pw->pw_gid == gid)
		return true;
	if (getgrouplist(pw->pw_name, pw->pw_gid, groups, &n) < 0)
		n = MAX_GROUPS; /* more than fit: those that did are checked */
	for (i = 0; i < n; i++)
		if (groups[i] == gid)
			return true;
	return false;
}

bool access__allows(const struct http_access *a, const struct access_asker *asker, uid_t owner,
		    char *why, size_t whylen)
{
	if (a && a->anyone)
		return true;
	if (!asker->known) {
		if (why)
			snprintf(why, whylen,
				 "cannot tell which local user is asking (a client on another "
				 "host?): profiles are for root and the process's owner; heaptrace "
				 "--http-allow anyone opens them to every client");
		return false;
	}
	if (asker->uid == 0 || asker->uid == owner)
		return true;
	if (a && a->group && in_group(asker->uid, a->gid))
		return true;
	if (why)
		snprintf(why, whylen,
			 "uid %u may not read the profiles of a process of uid %u: only root, its "
			 "owner%s%s%s may (heaptrace --http-allow widens this)",
			 (unsigned)asker->uid, (unsigned)owner, a && a->group ? " and group " : "",
			 a && a->group ? a->group_name : "", a && a->group ? " members" : "");
	return false;
}

void access__free(struct http_access *a)
{
	free(a);
}
