// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * test_discover.c - allocator discovery on real processes: this test
 * itself (glibc), the jemalloc fixture, the alloc_known fixture under
 * LD_PRELOAD of tcmalloc, the static fixture, and the static fixture run
 * in its own mount namespace over a bind-mounted path.
 *
 * Fixtures come from $BUILD/fixtures (default build/). `test_discover -p
 * PID` prints what `heaptrace --list-allocators -p PID` will print.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "probe/discover.h"
#include "symbol/procmaps.h"
#include "tap.h"

static char fixtures[4096];

struct child {
	pid_t pid;
	int out; /* its stdout */
};

/* What the child does between fork and exec. */
struct child_setup {
	const char *preload;   /* LD_PRELOAD value, or NULL */
	const char *bind_from; /* in a new mount namespace, bind this file ... */
	const char *bind_to;   /* ... over this one, then exec bind_to */
};

/* Starts `path --wait` and waits for its "ready": it has finished loading. */
static int start(const char *path, const struct child_setup *setup, struct child *c)
{
	int fds[2];
	char buf[16] = "";
	struct pollfd p;
	ssize_t n;

	if (pipe(fds))
		return -errno;
	c->pid = fork();
	if (c->pid < 0)
		return -errno;
	if (c->pid == 0) {
		const char *exe = path;

		int null = open("/dev/null", O_WRONLY);

		dup2(fds[1], 1);
		if (null >= 0)
			dup2(null, 2); /* its "pid N" line would clutter the TAP stream */
		close(fds[0]);
		close(fds[1]);
		if (setup && setup->preload)
			setenv("LD_PRELOAD", setup->preload, 1);
		if (setup && setup->bind_to) {
			if (unshare(CLONE_NEWNS) ||
			    mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
			    mount(setup->bind_from, setup->bind_to, NULL, MS_BIND, NULL))
				_exit(3);
			exe = setup->bind_to;
		}
		execl(exe, exe, "--wait", (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	c->out = fds[0];
	p.fd = c->out;
	p.events = POLLIN;
	if (poll(&p, 1, 10000) != 1 || (n = read(c->out, buf, sizeof(buf) - 1)) <= 0 ||
	    strncmp(buf, "ready", 5)) {
		kill(c->pid, SIGKILL);
		waitpid(c->pid, NULL, 0);
		close(c->out);
		return -EIO;
	}
	return 0;
}

static void stop(struct child *c)
{
	kill(c->pid, SIGKILL);
	waitpid(c->pid, NULL, 0);
	close(c->out);
}

static int run(pid_t pid, struct discover **d)
{
	struct procmaps *pm = NULL;
	int err;

	err = procmaps__load(pid, &pm);
	if (!err)
		err = discover__run(pm, pid, d);
	procmaps__free(pm);
	return err;
}

static const char *base(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

static const struct discover_entry *entry(const struct discover_object *o, const char *sym)
{
	size_t i;

	for (i = 0; o && i < o->nr_entries; i++) {
		const char *a = o->entries[i].aliases;
		size_t n = strlen(sym);

		if (!strcmp(o->entries[i].symbol, sym))
			return &o->entries[i];
		/* An alias counts: the address is probed under its first name. */
		for (; (a = strstr(a, sym)); a += n)
			if ((a == o->entries[i].aliases || a[-1] == ' ') &&
			    (a[n] == ' ' || a[n] == '\0'))
				return &o->entries[i];
	}
	return NULL;
}

static bool skipped(const struct discover_object *o, const char *sym)
{
	size_t i;

	for (i = 0; o && i < o->nr_skipped; i++)
		if (!strcmp(o->skipped[i].symbol, sym))
			return true;
	return false;
}

/* No address (and so no file offset) is listed twice for one file. */
static bool no_duplicates(const struct discover *d)
{
	size_t i, j, k, l;

	for (i = 0; i < discover__nr_objects(d); i++) {
		const struct discover_object *a = discover__object(d, i);

		for (j = i; j < discover__nr_objects(d); j++) {
			const struct discover_object *b = discover__object(d, j);

			if (strcmp(a->path, b->path))
				continue;
			for (k = 0; k < a->nr_entries; k++)
				for (l = (i == j ? k + 1 : 0); l < b->nr_entries; l++)
					if (a->entries[k].offset == b->entries[l].offset) {
						printf("# %s: %s and %s at 0x%llx\n", a->path,
						       a->entries[k].symbol, b->entries[l].symbol,
						       (unsigned long long)a->entries[k].offset);
						return false;
					}
		}
	}
	return true;
}

static bool has_kind(const struct discover_entry *e, enum discover_entry_kind k)
{
	return e && e->kind == k;
}

static char *printed(pid_t pid)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	discover__print(f, pid);
	fclose(f);
	return buf;
}

/* The object listing `sym` as an entry or a skipped name, and the entry if probed. */
static const struct discover_object *lister(const struct discover *d, const char *sym,
					    const struct discover_entry **e)
{
	size_t i;

	for (i = 0; i < discover__nr_objects(d); i++) {
		const struct discover_object *o = discover__object(d, i);

		*e = entry(o, sym);
		if (*e || skipped(o, sym))
			return o;
	}
	return NULL;
}

/*
 * For this process the dynamic linker can be asked directly: dlsym in the
 * global scope names the object and address every name resolves to.
 */
static void test_self(void)
{
	static const char *const names[] = { "malloc",	       "free",	   "calloc", "realloc",
					     "reallocarray",   "memalign", "valloc", "pvalloc",
					     "posix_memalign", "_Znwm",	   "_ZdlPv", "_ZdlPvm" };
	const struct discover_object *m;
	struct discover *d = NULL;
	size_t i, agree = 0, asked = 0;
	int err;

	err = run(getpid(), &d);
	ok(err == 0, "self: discovery runs (%d)", err);
	if (err)
		return;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const struct discover_object *o;
		const struct discover_entry *e = NULL;
		char real[PATH_MAX];
		void *addr = dlsym(RTLD_DEFAULT, names[i]);
		Dl_info info;

		if (!addr || !dladdr(addr, &info) || !realpath(info.dli_fname, real))
			continue;
		asked++;
		o = lister(d, names[i], &e);
		if (o && !strcmp(o->map_path, real) &&
		    (!e || e->value == (uint64_t)((char *)addr - (char *)info.dli_fbase)))
			agree++;
		else
			printf("# %s: the linker says %s, discovery says %s\n", names[i], real,
			       o ? o->map_path : "nothing");
	}
	ok(asked >= 9 && agree == asked, "self: discovery agrees with dlsym on %zu of %zu names",
	   agree, asked);
	m = discover__serving(d, DISCOVER_SERVES_MALLOC);
	ok(m && (m->serves & DISCOVER_SERVES_FREE), "self: one object serves malloc and free (%s)",
	   m ? m->map_path : "none");
	/* A sanitizer build gets its malloc from libasan, rightly. */
	if (m && !strcmp(base(m->map_path), "libc.so.6")) {
		ok(discover__allocator(d) == DISCOVER_ALLOC_GLIBC &&
		       m->origin == DISCOVER_FROM_NEEDED,
		   "self: glibc, a DT_NEEDED object");
		ok(has_kind(entry(m, "malloc"), DISCOVER_MALLOC) &&
		       has_kind(entry(m, "free"), DISCOVER_FREE) &&
		       has_kind(entry(m, "calloc"), DISCOVER_CALLOC) &&
		       has_kind(entry(m, "realloc"), DISCOVER_REALLOC) &&
		       has_kind(entry(m, "reallocarray"), DISCOVER_REALLOCARRAY) &&
		       has_kind(entry(m, "posix_memalign"), DISCOVER_POSIX_MEMALIGN) &&
		       has_kind(entry(m, "memalign"), DISCOVER_MEMALIGN) &&
		       has_kind(entry(m, "valloc"), DISCOVER_VALLOC) &&
		       has_kind(entry(m, "pvalloc"), DISCOVER_PVALLOC),
		   "self: the C family is listed with its kinds");
		ok(entry(m, "aligned_alloc") == entry(m, "memalign"),
		   "self: aligned_alloc and memalign (one address in glibc) share one entry");
		ok(!entry(m, "mallocx") && !entry(m, "tc_malloc"), "self: no foreign names");
	} else {
		ok(m && strstr(m->map_path, "libasan"), "self: malloc from libasan (%s)",
		   m ? m->map_path : "none");
	}
	ok(m && m->path && !strncmp(m->path, "/proc/", 6) && strstr(m->path, "/root/"),
	   "self: the path goes through /proc/PID/root (%s)", m && m->path ? m->path : "");
	ok(no_duplicates(d), "self: no address listed twice");
	ok(discover__nr_searched(d) > 2 &&
	       !strcmp(base(discover__searched(d, 0, NULL, NULL)), "test_discover"),
	   "self: the search list starts with the executable (%s)",
	   discover__searched(d, 0, NULL, NULL));
	discover__free(d);
}

static void test_jemalloc(void)
{
	const struct discover_object *m, *libc = NULL;
	struct discover *d = NULL;
	struct child c;
	char path[4200], *text;
	size_t i;
	int err;

	snprintf(path, sizeof(path), "%s/alloc_jemalloc-fp", fixtures);
	err = start(path, NULL, &c);
	ok(err == 0, "jemalloc: %s starts (%d)", path, err);
	if (err)
		return;
	err = run(c.pid, &d);
	ok(err == 0, "jemalloc: discovery runs (%d)", err);
	if (err) {
		stop(&c);
		return;
	}
	m = discover__serving(d, DISCOVER_SERVES_MALLOC);
	ok(m && !strcmp(base(m->map_path), "libjemalloc.so.2"),
	   "jemalloc: malloc from libjemalloc.so.2 (%s)", m ? m->map_path : "none");
	ok(discover__allocator(d) == DISCOVER_ALLOC_JEMALLOC, "jemalloc: classified jemalloc (%s)",
	   discover__allocator_name(discover__allocator(d)));
	ok(m && m->serves == (DISCOVER_SERVES_MALLOC | DISCOVER_SERVES_FREE | DISCOVER_SERVES_NEW),
	   "jemalloc: it serves malloc, free and operator new (0x%x)", m ? m->serves : 0);
	ok(m && has_kind(entry(m, "mallocx"), DISCOVER_MALLOCX) &&
	       has_kind(entry(m, "rallocx"), DISCOVER_RALLOCX) &&
	       has_kind(entry(m, "xallocx"), DISCOVER_XALLOCX) &&
	       has_kind(entry(m, "dallocx"), DISCOVER_DALLOCX) &&
	       has_kind(entry(m, "sdallocx"), DISCOVER_SDALLOCX),
	   "jemalloc: mallocx, rallocx, xallocx, dallocx, sdallocx are listed with their kinds");
	ok(m && has_kind(entry(m, "malloc"), DISCOVER_MALLOC) &&
	       has_kind(entry(m, "free"), DISCOVER_FREE) &&
	       has_kind(entry(m, "_Znwm"), DISCOVER_NEW),
	   "jemalloc: malloc, free and operator new are jemalloc's");
	/* Its sized delete calls into sdallocx past the symbol: it needs its own probe. */
	ok(m && has_kind(entry(m, "_ZdlPvm"), DISCOVER_SIZED_FREE) &&
	       has_kind(entry(m, "_ZdaPvm"), DISCOVER_SIZED_FREE),
	   "jemalloc: sized operator delete is probed (it bypasses the sdallocx symbol)");
	ok(m && skipped(m, "_ZdlPv") && skipped(m, "_ZdaPv") && !entry(m, "_ZdlPv"),
	   "jemalloc: plain operator delete (a jump to free through the PLT) is skipped");
	for (i = 0; i < discover__nr_objects(d); i++) {
		const struct discover_object *o = discover__object(d, i);

		if (!strcmp(base(o->map_path), "libc.so.6"))
			libc = o;
	}
	ok(libc && libc->serves == 0 && entry(libc, "reallocarray") && !entry(libc, "malloc") &&
	       !entry(libc, "free"),
	   "jemalloc: libc keeps only names jemalloc lacks (reallocarray), not malloc or free");
	ok(no_duplicates(d), "jemalloc: no address listed twice");
	text = printed(c.pid);
	ok(text && strstr(text, "malloc is jemalloc's") && strstr(text, "probe sdallocx") &&
	       strstr(text, "skip  _ZdlPv ") && strstr(text, "first object defining malloc"),
	   "jemalloc: the printer names the object, the entry points and the reasons");
	ok(text && strstr(text, "defining rallocx in link order -> rallocx_entry\n") &&
	       strstr(text, "defining mallocx in link order -> new_entry\n") &&
	       !strstr(text, "not written yet"),
	   "jemalloc: the printer names the programs attached (rallocx_entry, new_entry for "
	   "mallocx)");
	if (text && !strstr(text, "probe sdallocx"))
		printf("# %s", text);
	free(text);
	discover__free(d);
	stop(&c);
}

static void test_cxx(void)
{
	const struct discover_object *n, *m;
	struct discover *d = NULL;
	struct child c;
	char path[4200];
	int err;

	snprintf(path, sizeof(path), "%s/alloc_cxx-fp", fixtures);
	err = start(path, NULL, &c);
	ok(err == 0, "c++: %s starts (%d)", path, err);
	if (err)
		return;
	err = run(c.pid, &d);
	ok(err == 0, "c++: discovery runs (%d)", err);
	if (err) {
		stop(&c);
		return;
	}
	n = discover__serving(d, DISCOVER_SERVES_NEW);
	m = discover__serving(d, DISCOVER_SERVES_MALLOC);
	ok(n && !strncmp(base(n->map_path), "libstdc++.so.6", 14) &&
	       n->allocator == DISCOVER_ALLOC_CXXRT && m && n != m,
	   "c++: operator new from libstdc++ (%s), malloc from %s", n ? n->map_path : "none",
	   m ? m->map_path : "none");
	ok(n && has_kind(entry(n, "_Znwm"), DISCOVER_NEW) &&
	       has_kind(entry(n, "_Znam"), DISCOVER_NEW),
	   "c++: operator new and new[] are probed");
	ok(n && skipped(n, "_ZdlPv") && skipped(n, "_ZdaPv") && skipped(n, "_ZdlPvm") &&
	       skipped(n, "_ZdaPvm"),
	   "c++: libstdc++'s operator delete (jumps to free, even through delete's PLT) is "
	   "skipped");
	ok(no_duplicates(d), "c++: no address listed twice");
	discover__free(d);
	stop(&c);
}

static void test_tcmalloc(void)
{
	struct child_setup setup = { .preload = "libtcmalloc_minimal.so.4" };
	const struct discover_object *m, *f;
	const struct discover_entry *e;
	struct discover *d = NULL;
	struct child c;
	char path[4200];
	int err;

	snprintf(path, sizeof(path), "%s/alloc_known-fp", fixtures);
	err = start(path, &setup, &c);
	ok(err == 0, "tcmalloc: %s starts under LD_PRELOAD (%d)", path, err);
	if (err)
		return;
	err = run(c.pid, &d);
	ok(err == 0, "tcmalloc: discovery runs (%d)", err);
	if (err) {
		stop(&c);
		return;
	}
	m = discover__serving(d, DISCOVER_SERVES_MALLOC);
	f = discover__serving(d, DISCOVER_SERVES_FREE);
	ok(m && !strncmp(base(m->map_path), "libtcmalloc_minimal.so.4", 24) && m == f,
	   "tcmalloc: malloc and free from libtcmalloc_minimal (%s)", m ? m->map_path : "none");
	ok(m && m->origin == DISCOVER_FROM_LD_PRELOAD && m->order == 1,
	   "tcmalloc: it comes right after the executable, from LD_PRELOAD (%s, %u)",
	   m ? discover__origin_name(m->origin) : "", m ? m->order : 0);
	ok(discover__allocator(d) == DISCOVER_ALLOC_TCMALLOC, "tcmalloc: classified tcmalloc (%s)",
	   discover__allocator_name(discover__allocator(d)));
	e = entry(m, "malloc");
	ok(e && !strcmp(e->symbol, "malloc") && entry(m, "tc_malloc") == e,
	   "tcmalloc: malloc and tc_malloc are one entry (aliases: %s)", e ? e->aliases : "");
	e = entry(m, "tc_free_sized");
	ok(has_kind(e, DISCOVER_SIZED_FREE) && entry(m, "_ZdlPvm") == e,
	   "tcmalloc: tc_free_sized is a sized free, shared with sized operator delete");
	ok(entry(m, "free") && entry(m, "free") == entry(m, "_ZdlPv") &&
	       entry(m, "free") == entry(m, "tc_delete"),
	   "tcmalloc: free, operator delete and tc_delete are one entry");
	ok(has_kind(entry(m, "_Znwm"), DISCOVER_NEW) &&
	       has_kind(entry(m, "pvalloc"), DISCOVER_PVALLOC),
	   "tcmalloc: operator new and pvalloc are tcmalloc's");
	ok(no_duplicates(d), "tcmalloc: no address listed twice");
	discover__free(d);
	stop(&c);
}

static void test_static(const char *bin, const struct child_setup *setup, const char *what)
{
	const struct discover_object *m;
	struct discover *d = NULL;
	struct child c;
	char want[4200], real[PATH_MAX];
	int err;

	err = start(bin, setup, &c);
	ok(err == 0, "%s: %s starts (%d)", what, bin, err);
	if (err)
		return;
	err = run(c.pid, &d);
	ok(err == 0, "%s: discovery runs (%d)", what, err);
	if (err) {
		stop(&c);
		return;
	}
	m = discover__serving(d, DISCOVER_SERVES_MALLOC);
	ok(m && m->origin == DISCOVER_FROM_EXECUTABLE && m->order == 0,
	   "%s: the executable serves malloc (%s)", what, m ? m->map_path : "none");
	ok(discover__allocator(d) == DISCOVER_ALLOC_GLIBC && discover__nr_objects(d) == 1,
	   "%s: glibc linked in, the only object (%s, %zu)", what,
	   discover__allocator_name(discover__allocator(d)), discover__nr_objects(d));
	ok(m && entry(m, "malloc") && entry(m, "free") && entry(m, "calloc") &&
	       entry(m, "posix_memalign") && !entry(m, "malloc")->internal,
	   "%s: the C family is found in .symtab", what);
	if (!realpath(setup && setup->bind_to ? setup->bind_to : bin, real))
		snprintf(real, sizeof(real), "?");
	snprintf(want, sizeof(want), "/proc/%d/root%s", c.pid, real);
	ok(m && !strcmp(m->path, want), "%s: opened as %s (%s)", what, want, m ? m->path : "");
	ok(no_duplicates(d), "%s: no address listed twice", what);
	discover__free(d);
	stop(&c);
}

static int copy_file(const char *from, const char *to)
{
	char buf[65536];
	int in, out, err = 0;
	ssize_t n;

	in = open(from, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -errno;
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	if (out < 0) {
		close(in);
		return -errno;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n) {
			err = -EIO;
			break;
		}
	if (n < 0)
		err = -errno;
	close(in);
	close(out);
	return err;
}

/*
 * The static fixture, copied and bind-mounted over an empty file inside a
 * mount namespace of its own: only /proc/PID/root shows the real binary.
 */
static void test_mount_ns(const char *bin)
{
	char dir[] = "/tmp/test_discover.XXXXXX", copy[64], target[64];
	struct child_setup setup = { 0 };
	int fd;

	if (geteuid() != 0) {
		ok(1, "# SKIP mount namespace: needs root");
		return;
	}
	if (!mkdtemp(dir)) {
		ok(0, "mount namespace: mkdtemp");
		return;
	}
	snprintf(copy, sizeof(copy), "%s/copy", dir);
	snprintf(target, sizeof(target), "%s/target", dir);
	fd = open(target, O_WRONLY | O_CREAT | O_TRUNC, 0755);
	if (fd >= 0)
		close(fd);
	ok(fd >= 0 && copy_file(bin, copy) == 0, "mount namespace: copy and empty target made");
	setup.bind_from = copy;
	setup.bind_to = target;
	test_static(target, &setup, "mount namespace");
	unlink(copy);
	unlink(target);
	rmdir(dir);
}

/* Every kind's program is the one its table row names, and agrees with its entry. */
static void test_kind_table(void)
{
	static const struct {
		enum discover_entry_kind kind;
		const char *name, *program;
		enum ht_entry entry;
		unsigned int nargs;
		bool allocates;
	} want[] = {
		{ DISCOVER_MALLOC, "malloc-like", "malloc_entry", HT_MALLOC, 1, true },
		{ DISCOVER_CALLOC, "calloc-like", "calloc_entry", HT_CALLOC, 2, true },
		{ DISCOVER_REALLOC, "realloc-like", "realloc_entry", HT_REALLOC, 2, true },
		{ DISCOVER_REALLOCARRAY, "reallocarray-like", "reallocarray_entry", HT_REALLOCARRAY,
		  3, true },
		{ DISCOVER_MEMALIGN, "memalign-like", "memalign_entry", HT_MEMALIGN, 2, true },
		{ DISCOVER_POSIX_MEMALIGN, "posix_memalign-like", "posix_memalign_entry",
		  HT_POSIX_MEMALIGN, 3, true },
		{ DISCOVER_VALLOC, "valloc-like", "valloc_entry", HT_VALLOC, 1, true },
		{ DISCOVER_PVALLOC, "pvalloc-like", "pvalloc_entry", HT_PVALLOC, 1, true },
		{ DISCOVER_NEW, "new-like", "new_entry", HT_OPERATOR_NEW, 1, true },
		{ DISCOVER_FREE, "free-like", "free_entry", HT_FREE, 1, false },
		{ DISCOVER_SIZED_FREE, "sized-free", "free_entry", HT_FREE, 1, false },
		/* What has been attached to mallocx since jemalloc was first probed. */
		{ DISCOVER_MALLOCX, "mallocx-like", "new_entry", HT_OPERATOR_NEW, 1, true },
		{ DISCOVER_RALLOCX, "rallocx-like", "rallocx_entry", HT_RALLOCX, 2, true },
		{ DISCOVER_XALLOCX, "xallocx-like", "xallocx_entry", HT_XALLOCX, 2, true },
		{ DISCOVER_DALLOCX, "dallocx-like", "free_entry", HT_FREE, 1, false },
		{ DISCOVER_SDALLOCX, "sdallocx-like", "free_entry", HT_FREE, 1, false },
		{ DISCOVER_PY_ARENA, "pymalloc-arena", "pyarena_entry", HT_PY_ARENA, 2, true },
		{ DISCOVER_PY_ARENA_FREE, "pymalloc-arena-free", "free_entry", HT_FREE, 1, false },
	};
	size_t i, agree = 0;

	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const struct discover_kind_info *k = discover__kind_info(want[i].kind);

		if (k && !strcmp(k->name, want[i].name) && !strcmp(k->program, want[i].program) &&
		    k->entry == want[i].entry && k->nargs == want[i].nargs &&
		    k->allocates == want[i].allocates)
			agree++;
		else
			printf("# kind %d: %s -> %s (%d, %u args, %s)\n", (int)want[i].kind,
			       k ? k->name : "?", k ? k->program : "?", k ? (int)k->entry : -1,
			       k ? k->nargs : 0, k && k->allocates ? "allocates" : "frees");
	}
	ok(agree == DISCOVER_NR_KINDS && i == DISCOVER_NR_KINDS,
	   "kind table: %zu of %d kinds have the program, entry and arguments they are attached "
	   "with",
	   agree, DISCOVER_NR_KINDS);
	ok(!discover__kind_info(DISCOVER_NR_KINDS), "kind table: no kind past the last");
}

static void test_errors(void)
{
	char *text;

	discover__free(NULL);
	ok(1, "discover__free(NULL) is a no-op");
	text = printed(0x7ffffff0);
	ok(text && strstr(text, "cannot read the maps of pid"),
	   "the printer names a process that does not exist");
	free(text);
	ok(!strcmp(discover__kind_info(DISCOVER_RALLOCX)->program, "rallocx_entry") &&
	       !strcmp(discover__kind_info(DISCOVER_SDALLOCX)->program, "free_entry") &&
	       !strcmp(discover__kind_info(DISCOVER_MALLOCX)->program, "new_entry"),
	   "kinds map onto BPF programs");
	test_kind_table();
}

int main(int argc, char **argv)
{
	const char *build = getenv("BUILD");
	char bin[4200];

	if (argc == 3 && !strcmp(argv[1], "-p"))
		return discover__print(stdout, (pid_t)atoi(argv[2])) ? 1 : 0;
	snprintf(fixtures, sizeof(fixtures), "%s/fixtures", build && *build ? build : "build");

	test_errors();
	test_self();
	test_jemalloc();
	test_cxx();
	test_tcmalloc();
	snprintf(bin, sizeof(bin), "%s/alloc_known-static", fixtures);
	test_static(bin, NULL, "static");
	test_mount_ns(bin);
	return done_testing();
}
