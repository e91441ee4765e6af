// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * procmaps.c - parse /proc/PID/maps into a sorted, searchable snapshot.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "symbol/procmaps.h"
#include "util/vec.h"

/* Parses a hexadecimal field (at most 64 bits); advances *p past it. */
static int parse_hex(const char **p, uint64_t *val)
{
	const char *s = *p;
	uint64_t v = 0;
	int digits = 0;

	for (;; s++, digits++) {
		int d;

		if (*s >= '0' && *s <= '9')
			d = *s - '0';
		else if (*s >= 'a' && *s <= 'f')
			d = *s - 'a' + 10;
		else if (*s >= 'A' && *s <= 'F')
			d = *s - 'A' + 10;
		else
			break;
		if (digits >= 16)
			return -EINVAL;
		v = v << 4 | (uint64_t)d;
	}
	if (!digits)
		return -EINVAL;
	*val = v;
	*p = s;
	return 0;
}

static int parse_dec(const char **p, uint64_t *val)
{
	const char *s = *p;
	uint64_t v = 0;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	for (; *s >= '0' && *s <= '9'; s++)
		v = v * 10 + (uint64_t)(*s - '0');
	*val = v;
	*p = s;
	return 0;
}

static int expect(const char **p, char c)
{
	if (**p != c)
		return -EINVAL;
	(*p)++;
	return 0;
}

static void skip_blanks(const char **p)
{
	while (**p == ' ' || **p == '\t')
		(*p)++;
}

/* One line, without its newline: [line, eol). */
static int parse_line(const char *line, const char *eol, struct procmap *m)
{
	const char *p = line;
	uint64_t major, minor;
	size_t len;
	int i;

	if (parse_hex(&p, &m->start) || expect(&p, '-') || parse_hex(&p, &m->end) ||
	    expect(&p, ' '))
		return -EINVAL;
	for (i = 0; i < 4; i++, p++) {
		if (p >= eol || *p == ' ')
			return -EINVAL;
		m->perms[i] = *p;
	}
	m->perms[4] = '\0';
	if (expect(&p, ' ') || parse_hex(&p, &m->offset) || expect(&p, ' ') ||
	    parse_hex(&p, &major) || expect(&p, ':') || parse_hex(&p, &minor) || expect(&p, ' ') ||
	    parse_dec(&p, &m->inode))
		return -EINVAL;
	if (p > eol || m->end < m->start)
		return -EINVAL;
	m->dev_major = (uint32_t)major;
	m->dev_minor = (uint32_t)minor;
	/* The path is the rest of the line: it may contain spaces, or be absent. */
	skip_blanks(&p);
	len = p < eol ? (size_t)(eol - p) : 0;
	m->path = strndup(p, len);
	return m->path ? 0 : -ENOMEM;
}

static int cmp_start(const void *a, const void *b)
{
	const struct procmap *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

int procmaps__parse(const char *text, pid_t pid, struct procmaps **out)
{
	struct procmaps *pm;
	const char *p, *eol;
	size_t cap = 0;
	int err = 0;

	*out = NULL;
	pm = calloc(1, sizeof(*pm));
	if (!pm)
		return -ENOMEM;
	pm->pid = pid;
	for (p = text; *p; p = *eol ? eol + 1 : eol) {
		eol = strchrnul(p, '\n');
		if (eol == p)
			continue;
		if (VEC_RESERVE(pm->maps, cap, pm->nr + 1)) {
			err = -ENOMEM;
			goto cleanup;
		}
		err = parse_line(p, eol, &pm->maps[pm->nr]);
		if (err)
			goto cleanup;
		pm->nr++;
	}
	/* The kernel prints in order; sort anyway so find() may rely on it. */
	if (pm->nr > 1)
		qsort(pm->maps, pm->nr, sizeof(*pm->maps), cmp_start);
	*out = pm;
	return 0;
cleanup:
	procmaps__free(pm);
	return err;
}

int procmaps__load(pid_t pid, struct procmaps **out)
{
	char path[64], *buf = NULL;
	size_t len = 0, cap = 0;
	int fd, err = 0;

	*out = NULL;
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t n;

		if (VEC_RESERVE(buf, cap, len + 4096 + 1)) {
			err = -ENOMEM;
			goto cleanup;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			goto cleanup;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	/* A process that exited between open and read yields an empty file. */
	if (!len) {
		err = -ESRCH;
		goto cleanup;
	}
	err = procmaps__parse(buf, pid, out);
cleanup:
	free(buf);
	close(fd);
	return err;
}

const struct procmap *procmaps__find(const struct procmaps *pm, uint64_t addr)
{
	size_t lo = 0, hi;

	if (!pm)
		return NULL;
	hi = pm->nr;
	/* The last mapping with start <= addr. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (pm->maps[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo || addr >= pm->maps[lo - 1].end)
		return NULL;
	return &pm->maps[lo - 1];
}

const struct procmap *procmaps__find_object(const struct procmaps *pm, const char *name)
{
	size_t i, nlen = strlen(name);

	if (!pm)
		return NULL;
	for (i = 0; i < pm->nr; i++) {
		const char *path = pm->maps[i].path;
		const char *base;

		if (path[0] != '/')
			continue;
		base = strrchr(path, '/') + 1;
		if (strncmp(base, name, nlen))
			continue;
		if (base[nlen] == '\0' || base[nlen] == '.')
			return &pm->maps[i];
		/* A deleted file still names its object. */
		if (!strcmp(base + nlen, " (deleted)"))
			return &pm->maps[i];
	}
	return NULL;
}

void procmaps__free(struct procmaps *pm)
{
	size_t i;

	if (!pm)
		return;
	for (i = 0; i < pm->nr; i++)
		free(pm->maps[i].path);
	free(pm->maps);
	free(pm);
}
