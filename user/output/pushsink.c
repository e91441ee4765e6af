// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* pushsink.c - see pushsink.h. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "output/pprof.h"
#include "output/pushname.h"
#include "output/pushsink.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/strbuf.h"
#include "util/vec.h"

#define ALLOC_MASK  ((1u << PPROF_ALLOC_OBJECTS) | (1u << PPROF_ALLOC_SPACE))
#define OTHER_STACK "[other]"

/* As Pyroscope's Go agent describes a heap profile whose alloc_* are deltas. */
static const char sample_type_config[] =
    "{\"alloc_objects\":{\"units\":\"objects\"},"
    "\"alloc_space\":{\"units\":\"bytes\"},"
    "\"inuse_objects\":{\"units\":\"objects\",\"aggregation\":\"average\"},"
    "\"inuse_space\":{\"units\":\"bytes\",\"aggregation\":\"average\"}}";

/* One process's series: its previous profile (the alloc_* baseline) and its name. */
struct push_series {
	pid_t pid;
	uint64_t start_time;
	struct pprof_builder *prev;
	int64_t prev_time_ns;
	char *name; /* SERVICE{labels}, made at its first profile */
	bool warned_fold;
};

struct pushsink {
	struct pushqueue *queue;
	const char *service;
	const char *const *labels;
	size_t nr_labels;
	uint64_t drain_ns;
	char host[256];
	struct push_series *series;
	size_t nr, cap;
	bool warned_labels;
};

static struct push_series *series_of(struct pushsink *ps, const struct process *p)
{
	size_t i;

	for (i = 0; i < ps->nr; i++)
		if (ps->series[i].pid == p->pid && ps->series[i].start_time == p->start_time)
			return &ps->series[i];
	if (VEC_RESERVE(ps->series, ps->cap, ps->nr + 1))
		return NULL;
	ps->series[ps->nr] = (struct push_series){ .pid = p->pid, .start_time = p->start_time };
	return &ps->series[ps->nr++];
}

static void series_release(struct push_series *s)
{
	pprof__free(s->prev);
	free(s->name);
}

/*
 * The process's cgroup v2 path (the "0::" line of /proc/PID/cgroup) into
 * buf; "" when unknown.
 */
static void read_cgroup(pid_t pid, char *buf, size_t len)
{
	char path[64], line[PATH_MAX + 8];
	FILE *f;

	buf[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "0::", 3))
			continue;
		size_t n = strcspn(line + 3, "\n");

		if (n >= len)
			n = len - 1;
		memcpy(buf, line + 3, n);
		buf[n] = '\0';
		break;
	}
	fclose(f);
}

/* A systemd unit is the last cgroup component when it names one: a.service, b.scope. */
static const char *unit_of(const char *cgroup)
{
	const char *last = strrchr(cgroup, '/');
	const char *dot;

	last = last ? last + 1 : cgroup;
	dot = strrchr(last, '.');
	if (dot && (!strcmp(dot, ".service") || !strcmp(dot, ".scope")))
		return last;
	return NULL;
}

/* SERVICE{user labels, comm, pid, host, unit or cgroup}. */
static char *make_name(struct pushsink *ps, const struct process *p)
{
	struct push_label labels[PUSHNAME_MAX_LABELS + 8];
	char keys[PUSHNAME_MAX_LABELS + 3][129], pid[16], cgroup[PATH_MAX];
	struct strbuf sb = { 0 };
	size_t n = 0, i, dropped = 0;
	const char *unit;

	for (i = 0; i < ps->nr_labels && n < PUSHNAME_MAX_LABELS + 3; i++) {
		const char *eq = strchr(ps->labels[i], '=');

		/* The key is checked (pushname__valid_label) but not cut: cut it here. */
		snprintf(keys[n], sizeof(keys[n]), "%.*s", (int)(eq - ps->labels[i]),
			 ps->labels[i]);
		labels[n] = (struct push_label){ keys[n], eq + 1 };
		n++;
	}
	if (i < ps->nr_labels)
		dropped += ps->nr_labels - i;
	snprintf(pid, sizeof(pid), "%d", (int)p->pid);
	read_cgroup(p->pid, cgroup, sizeof(cgroup));
	unit = unit_of(cgroup);
	labels[n++] = (struct push_label){ "comm", p->comm };
	labels[n++] = (struct push_label){ "pid", pid };
	labels[n++] = (struct push_label){ "host", ps->host };
	if (unit)
		labels[n++] = (struct push_label){ "unit", unit };
	else if (cgroup[0])
		labels[n++] = (struct push_label){ "cgroup", cgroup };
	if (pushname__format(&sb, ps->service ? ps->service : p->comm, labels, n, &i)) {
		strbuf__release(&sb);
		return NULL;
	}
	dropped += i;
	if (dropped && !ps->warned_labels) {
		ps->warned_labels = true;
		log_warn("push: %zu label(s) left out: Pyroscope takes at most %d labels a series, "
			 "service_name included (give fewer --push-label)",
			 dropped, PUSHNAME_MAX_LABELS);
	}
	return sb.buf ? sb.buf : strdup("");
}

/* A copy of a profile (samples, locations, mappings and comments). */
static struct pprof_builder *copy_profile(const struct pprof_builder *src, int64_t time_ns,
					  int64_t duration_ns)
{
	struct pprof_builder *b = pprof__new(pprof__period(src), time_ns, duration_ns);
	size_t i;

	if (!b || pprof__merge(b, src, 1))
		goto fail;
	for (i = 0; i < pprof__nr_comments(src); i++)
		if (pprof__add_comment(b, pprof__comment(src, i)))
			goto fail;
	return b;
fail:
	pprof__free(b);
	return NULL;
}

/* gzip's trailer ends with the uncompressed size (mod 2^32; a profile here is far below). */
static uint32_t gzip_isize(const unsigned char *gz, size_t len)
{
	const unsigned char *t = gz + len - 4;

	return len < 18 ? 0
			: (uint32_t)t[0] | (uint32_t)t[1] << 8 | (uint32_t)t[2] << 16 |
			      (uint32_t)t[3] << 24;
}

/*
 * Encodes `b` within the server's limits: folds stacks while the sample
 * count or the encoded size is over. Returns 0 with *gz (malloc'ed) or a
 * negative errno.
 */
static int encode_fitting(struct push_series *s, struct pprof_builder *b, void **gz, size_t *len)
{
	size_t max = PUSHSINK_MAX_SAMPLES, total = 0, folded;
	int err;

	for (;;) {
		err = pprof__fold_samples(b, max, OTHER_STACK, &folded);
		if (err)
			return err;
		total += folded;
		err = pprof__encode_gz(b, SIZE_MAX, gz, len);
		if (err)
			return err;
		if (gzip_isize(*gz, *len) <= PUSHSINK_MAX_BYTES || max <= 2)
			break;
		free(*gz);
		*gz = NULL;
		max = pprof__nr_samples(b) / 2 > 2 ? pprof__nr_samples(b) / 2 : 2;
	}
	if (!total)
		return 0;
	/* Said in the profile itself, so whoever reads it knows [other] is not a function. */
	free(*gz);
	*gz = NULL;
	{
		char note[160];

		snprintf(note, sizeof(note),
			 "heaptrace: %zu stacks folded into " OTHER_STACK
			 " to fit the server's limits (%d samples, %u bytes)",
			 total, PUSHSINK_MAX_SAMPLES, PUSHSINK_MAX_BYTES);
		err = pprof__add_comment(b, note);
	}
	if (!err)
		err = pprof__encode_gz(b, SIZE_MAX, gz, len);
	if (!err && !s->warned_fold) {
		s->warned_fold = true;
		log_warn("push: pid %d: %zu stacks folded into " OTHER_STACK
			 " to fit Pyroscope's limits (%d samples, %u bytes a profile)",
			 (int)s->pid, total, PUSHSINK_MAX_SAMPLES, PUSHSINK_MAX_BYTES);
	}
	return err;
}

/* Appends `s` percent-encoded for a query string. */
static int add_query_value(struct strbuf *sb, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	int err = 0;

	for (; *s && !err; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_' || c == '.' || c == '~')
			err = strbuf__addf(sb, "%c", c);
		else
			err = strbuf__addf(sb, "%%%c%c", hex[c >> 4], hex[c & 15]);
	}
	return err;
}

/* The multipart body: the profile, then its sample_type_config, as the Go agent sends them. */
static int make_body(struct strbuf *sb, const void *gz, size_t len)
{
	const char *part = "--" PUSHQUEUE_BOUNDARY "\r\n"
			   "Content-Disposition: form-data; name=\"%s\"; filename=\"%s\"\r\n"
			   "Content-Type: application/octet-stream\r\n\r\n";
	int err = strbuf__addf(sb, part, "profile", "profile.pprof");

	if (!err)
		err = strbuf__grow(sb, len);
	if (err)
		return err;
	memcpy(sb->buf + sb->len, gz, len);
	sb->len += len;
	sb->buf[sb->len] = '\0';
	err = strbuf__add(sb, "\r\n");
	if (!err)
		err = strbuf__addf(sb, part, "sample_type_config", "sample_type_config.json");
	if (!err)
		err = strbuf__addf(sb, "%s\r\n--" PUSHQUEUE_BOUNDARY "--\r\n", sample_type_config);
	return err;
}

static int make_query(struct strbuf *sb, const char *name, int64_t from_ns, int64_t until_ns)
{
	int64_t from = from_ns / 1000000000, until = until_ns / 1000000000;
	int err;

	/* The server wants from < until, in seconds: profiles may come faster. */
	if (until <= from)
		until = from + 1;
	err = strbuf__add(sb, "name=");
	if (!err)
		err = add_query_value(sb, name);
	if (!err)
		err =
		    strbuf__addf(sb,
				 "&from=%" PRId64 "&until=%" PRId64
				 "&format=pprof&spyName=heaptrace&units=bytes&aggregationType=sum",
				 from, until);
	return err;
}

/* Builds this interval's profile (alloc_* since the previous one), spools it, keeps the baseline. */
static int push_one(struct pushsink *ps, struct push_series *s, const struct profile_output *out)
{
	int64_t from = s->prev ? s->prev_time_ns : (int64_t)out->proc->start_realtime_ns;
	uint64_t start = clock__mono_ns();
	struct strbuf query = { 0 }, body = { 0 };
	struct pprof_builder *delta, *keep;
	void *gz = NULL;
	size_t len;
	int err = -ENOMEM;

	if (!from || from > out->time_ns)
		from = out->time_ns;
	delta = copy_profile(out->profile, out->time_ns, out->time_ns - from);
	keep = out->final ? NULL : copy_profile(out->profile, out->time_ns, 0);
	if (!delta || (!out->final && !keep))
		goto cleanup;
	if (s->prev) {
		err = pprof__merge_values(delta, s->prev, -1, ALLOC_MASK);
		if (err)
			goto cleanup;
	}
	pprof__prune_samples(delta, ALLOC_MASK);
	err = encode_fitting(s, delta, &gz, &len);
	if (!err)
		err = make_query(&query, s->name, from, out->time_ns);
	if (!err)
		err = make_body(&body, gz, len);
	if (err)
		goto cleanup;
	/* The baseline moves even if spooling fails: the next delta must not count this twice. */
	pprof__free(s->prev);
	s->prev = keep;
	keep = NULL;
	s->prev_time_ns = out->time_ns;
	if (!pushqueue__add(ps->queue, strbuf__str(&query), body.buf, body.len))
		log_debug("push: pid %d: %zu samples, %zu bytes spooled in %.1f ms", (int)s->pid,
			  pprof__nr_samples(delta), body.len,
			  (double)(clock__mono_ns() - start) / 1e6);
cleanup:
	if (err)
		log_warn("push: pid %d: cannot build the profile to push: %s", (int)s->pid,
			 strerror(-err));
	free(gz);
	strbuf__release(&query);
	strbuf__release(&body);
	pprof__free(delta);
	pprof__free(keep);
	return err;
}

static int pushsink_write(void *state, const struct profile_output *out)
{
	struct pushsink *ps = state;
	struct push_series *s = series_of(ps, out->proc);

	if (!s) {
		log_warn("push: out of memory: profile of pid %d not sent", (int)out->proc->pid);
		return 0;
	}
	if (!s->name)
		s->name = make_name(ps, out->proc);
	if (s->name)
		push_one(ps, s, out);
	if (out->final) {
		/* The series ends: forget it. */
		series_release(s);
		*s = ps->series[--ps->nr];
	}
	/* A push that failed was said; the sinks after this one still get the profile. */
	return 0;
}

static void pushsink_free(void *state)
{
	struct pushsink *ps = state;
	size_t i;

	if (!ps)
		return;
	pushqueue__free(ps->queue, ps->drain_ns);
	for (i = 0; i < ps->nr; i++)
		series_release(&ps->series[i]);
	free(ps->series);
	free(ps);
}

/* The token: the file's first line, without surrounding white space. */
static int read_token(const char *file, char *buf, size_t len)
{
	FILE *f = fopen(file, "re");
	char *p, *end;

	if (!f) {
		int err = -errno;

		log_error("cannot read --push-token-file '%s': %s: give a readable file holding "
			  "the token",
			  file, strerror(-err));
		return err;
	}
	if (!fgets(buf, (int)len, f))
		buf[0] = '\0';
	fclose(f);
	for (p = buf; *p == ' ' || *p == '\t'; p++)
		;
	end = p + strcspn(p, "\r\n");
	while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	*end = '\0';
	memmove(buf, p, (size_t)(end - p) + 1);
	if (!buf[0]) {
		log_error("--push-token-file '%s' holds no token: put the token on its first line",
			  file);
		return -EINVAL;
	}
	return 0;
}

int pushsink__new(const struct pushsink_opts *o, void **out)
{
	struct pushsink *ps = calloc(1, sizeof(*ps));
	struct pushqueue_opts qo = o->queue;
	char token[4096];
	int err;

	*out = NULL;
	if (!ps) {
		log_error("out of memory");
		return -ENOMEM;
	}
	ps->service = o->service;
	ps->labels = o->labels;
	ps->nr_labels = o->nr_labels;
	ps->drain_ns = o->drain_ns;
	if (gethostname(ps->host, sizeof(ps->host) - 1))
		snprintf(ps->host, sizeof(ps->host), "unknown");
	if (o->token_file) {
		err = read_token(o->token_file, token, sizeof(token));
		if (err) {
			free(ps);
			return err;
		}
		qo.token = token;
	}
	err = pushqueue__new(&qo, &ps->queue);
	if (err) {
		free(ps);
		return err;
	}
	*out = ps;
	return 0;
}

const struct sink_ops pushsink_ops = {
	.name = "push",
	.write = pushsink_write,
	.free = pushsink_free,
};
