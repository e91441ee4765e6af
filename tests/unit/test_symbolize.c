// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * test_symbolize.c - symbolize addresses of this very binary (built with
 * -g -O2) and of libc: names, files, lines, inlined frames, caching.
 *
 * Line markers are enums declared on the line just before the line they
 * name, so the expected lines move with the code.
 */
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "symbol/elfsym.h"
#include "symbol/procmaps.h"
#include "symbol/symbolize.h"
#include "tap.h"

#define MAX 16

/* Written by the test functions so the compiler keeps their calls. */
volatile int sink;
/* The return address into the caller of leaf_func, recorded by leaf_func. */
void *leaf_ret;
/* Call-site markers, published by the functions that contain them. */
int helper_call_line, outer_call_line;

enum { LEAF_DECL_LINE = __LINE__ + 1 };
__attribute__((noipa)) int leaf_func(int x)
{
	leaf_ret = __builtin_return_address(0);
	sink += x;
	return sink * 3;
}

enum { HELPER_DECL_LINE = __LINE__ + 1 };
static inline __attribute__((always_inline)) int helper(int x)
{
	int r = x * 7;

	enum { HELPER_CALL_LINE = __LINE__ + 1 };
	r += leaf_func(r);
	helper_call_line = HELPER_CALL_LINE;
	return r * 5;
}

enum { OUTER_DECL_LINE = __LINE__ + 1 };
__attribute__((noipa)) int outer_func(int x)
{
	int r;

	enum { OUTER_CALL_LINE = __LINE__ + 1 };
	r = helper(x + 1);
	outer_call_line = OUTER_CALL_LINE;
	return r + 1;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = s ? strlen(s) : 0, m = strlen(suffix);

	return s && n >= m && !strcmp(s + n - m, suffix);
}

static bool is_hex40(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	}
	return i == 40;
}

static const char *str(const char *s)
{
	return s ? s : "(null)";
}

static int resolve(struct symbolizer *s, const struct procmaps *pm, uint64_t addr,
		   struct sym_frame *frames)
{
	const struct procmap *m = procmaps__find(pm, addr);

	if (!m)
		return -ENOENT;
	return symbolizer__resolve(s, pm->pid, m, addr, frames, MAX);
}

static void test_self(struct symbolizer *s, const struct procmaps *pm)
{
	uint64_t leaf = (uint64_t)(uintptr_t)&leaf_func;
	const struct procmap *m = procmaps__find(pm, leaf);
	struct sym_frame f[MAX], g[MAX];
	struct sym_object_info info;
	int n, err;

	ok(m != NULL, "leaf_func is mapped");
	if (!m)
		return;
	err = symbolizer__object(s, pm->pid, m, &info);
	ok(err == 0, "object of the test binary (err=%d)", err);
	ok(err == 0 && is_hex40(info.build_id), "build id is 40 hex digits ('%s')",
	   str(info.build_id));
	ok(info.has_symbols && info.has_dwarf, "has symbols and DWARF");
	ok(info.path && !strcmp(info.path, m->path), "info path is the maps path (%s)",
	   str(info.path));
	ok(info.bias != 0 && leaf - info.bias < m->end - m->start + m->offset + 0x10000,
	   "PIE: non-zero bias, link-time address near the file offset");

	n = resolve(s, pm, leaf, f);
	ok(n == 1, "leaf_func entry: one frame (n=%d)", n);
	ok(n >= 1 && f[0].function && !strcmp(f[0].function, "leaf_func"),
	   "leaf_func entry: name (%s)", str(f[0].function));
	ok(n >= 1 && f[0].system_name && !strcmp(f[0].system_name, "leaf_func"),
	   "leaf_func entry: system name");
	ok(n >= 1 && ends_with(f[0].file, "test_symbolize.c"), "leaf_func entry: file (%s)",
	   str(f[0].file));
	ok(n >= 1 && f[0].start_line == LEAF_DECL_LINE, "leaf_func start line %d (got %lld)",
	   LEAF_DECL_LINE, (long long)f[0].start_line);
	ok(n >= 1 && f[0].line >= LEAF_DECL_LINE && f[0].line <= LEAF_DECL_LINE + 2,
	   "leaf_func entry line near its declaration (got %lld)", (long long)f[0].line);

	/* A second lookup comes from the cache: the very same strings. */
	memset(g, 0, sizeof(g));
	n = resolve(s, pm, leaf, g);
	ok(n == 1 && g[0].function == f[0].function && g[0].file == f[0].file &&
	       g[0].line == f[0].line,
	   "second resolve hits the cache (same pointers)");
	n = symbolizer__resolve(s, pm->pid, m, leaf, g, 0);
	ok(n == -EINVAL, "max 0 is -EINVAL");

	n = resolve(s, pm, (uint64_t)(uintptr_t)&outer_func, f);
	ok(n == 1 && f[0].function && !strcmp(f[0].function, "outer_func") &&
	       f[0].start_line == OUTER_DECL_LINE,
	   "outer_func entry: outer_func, start line %d (got %s, %lld)", OUTER_DECL_LINE,
	   str(f[0].function), (long long)f[0].start_line);
}

static void test_inlined(struct symbolizer *s, const struct procmaps *pm)
{
	struct sym_frame f[MAX];
	int n;

	outer_func(1);
	/* A return address minus one lies in the call: helper, inlined into outer_func. */
	n = resolve(s, pm, (uint64_t)(uintptr_t)leaf_ret - 1, f);
	ok(n == 2, "return address in outer_func: two frames (n=%d)", n);
	if (n < 2)
		return;
	ok(f[0].function && !strcmp(f[0].function, "helper"), "innermost frame is helper (%s)",
	   str(f[0].function));
	ok(f[1].function && !strcmp(f[1].function, "outer_func"),
	   "outermost frame is outer_func (%s)", str(f[1].function));
	ok(ends_with(f[0].file, "/tests/unit/test_symbolize.c") &&
	       ends_with(f[1].file, "/tests/unit/test_symbolize.c") && f[0].file[0] == '/',
	   "both frames in an absolute .../test_symbolize.c (%s, %s)", str(f[0].file),
	   str(f[1].file));
	ok(f[0].line == helper_call_line,
	   "helper frame at its call of leaf_func, line %d (got %lld)", helper_call_line,
	   (long long)f[0].line);
	ok(f[1].line == outer_call_line,
	   "outer_func frame at its call of helper, line %d (got %lld)", outer_call_line,
	   (long long)f[1].line);
	ok(f[0].start_line == HELPER_DECL_LINE, "helper start line %d (got %lld)", HELPER_DECL_LINE,
	   (long long)f[0].start_line);
	ok(f[1].start_line == OUTER_DECL_LINE, "outer_func start line %d (got %lld)",
	   OUTER_DECL_LINE, (long long)f[1].start_line);
	n = symbolizer__resolve(s, pm->pid, procmaps__find(pm, (uint64_t)(uintptr_t)leaf_ret),
				(uint64_t)(uintptr_t)leaf_ret - 1, f, 1);
	ok(n == 1 && f[0].function && !strcmp(f[0].function, "helper"),
	   "max 1 keeps the innermost frame");
}

static void test_libc(struct symbolizer *s, const struct procmaps *pm)
{
	void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
	/* Through libc's own handle: a sanitizer's interceptor would shadow &malloc. */
	void *fn = libc ? dlsym(libc, "malloc") : NULL;
	uint64_t addr = (uint64_t)(uintptr_t)fn;
	const struct procmap *m = procmaps__find(pm, addr);
	const struct procmap *lm = procmaps__find_object(pm, "libc.so.6");
	struct sym_object_info info;
	struct sym_frame f[MAX];
	int n, err;

	ok(fn && m && lm && !strcmp(m->path, lm->path), "malloc is in libc.so.6 (%s)",
	   m ? m->path : "none");
	if (!m)
		return;
	err = symbolizer__object(s, pm->pid, m, &info);
	ok(err == 0 && is_hex40(info.build_id) && info.has_symbols,
	   "libc: build id %s, has symbols (err=%d)", str(info.build_id), err);
	n = resolve(s, pm, addr, f);
	ok(n >= 1 && f[n - 1].function &&
	       (!strcmp(f[n - 1].function, "malloc") ||
		!strcmp(f[n - 1].function, "__libc_malloc")),
	   "&malloc resolves to malloc (%s)", n >= 1 ? str(f[n - 1].function) : "none");
	n = resolve(s, pm, addr + 5, f);
	ok(n >= 1 && f[n - 1].function &&
	       (!strcmp(f[n - 1].function, "malloc") ||
		!strcmp(f[n - 1].function, "__libc_malloc")),
	   "inside malloc resolves to malloc (%s)", n >= 1 ? str(f[n - 1].function) : "none");
	if (libc)
		dlclose(libc);
}

static void test_cxx(struct symbolizer *s)
{
	void *lib = dlopen("libstdc++.so.6", RTLD_NOW);
	void *fn = lib ? dlsym(lib, "_ZdlPv") : NULL;
	struct sym_frame f[MAX];
	struct procmaps *pm = NULL;
	int n = -1;

	ok(fn != NULL, "libstdc++.so.6 loaded, operator delete found");
	if (fn && !procmaps__load(getpid(), &pm))
		n = resolve(s, pm, (uint64_t)(uintptr_t)fn, f);
	ok(n >= 1 && f[n - 1].function && !strcmp(f[n - 1].function, "operator delete(void*)"),
	   "a mangled ELF symbol is demangled (%s)", n >= 1 ? str(f[n - 1].function) : "none");
	ok(n >= 1 && f[n - 1].system_name && !strcmp(f[n - 1].system_name, "_ZdlPv"),
	   "its system name stays mangled (%s)", n >= 1 ? str(f[n - 1].system_name) : "none");
	procmaps__free(pm);
	/* Kept loaded: unloading it could unmap what a later check touches. */
}

static void test_demangle(struct symbolizer *s)
{
	const char *a = symbolizer__demangle(s, "_ZN3foo3barEi");

	ok(a && !strcmp(a, "foo::bar(int)"), "C++ demangling (%s)", str(a));
	ok(symbolizer__demangle(s, "_ZN3foo3barEi") == a, "same name, same pointer");
	a = symbolizer__demangle(s, "_ZNSt6vectorIiSaIiEE9push_backERKi");
	ok(a && !strcmp(a, "std::vector<int, std::allocator<int> >::push_back(int const&)"),
	   "C++ template demangling (%s)", str(a));
	a = symbolizer__demangle(s, "_ZN4core3fmt5write17h0123456789abcdefE");
	ok(a && !strcmp(a, "core::fmt::write"), "legacy Rust demangling (%s)", str(a));
	a = symbolizer__demangle(s, "_RNvCs15kBYyAo9fc_7mycrate7example");
	ok(a && !strcmp(a, "mycrate::example"), "Rust v0 demangling (%s)", str(a));
	a = symbolizer__demangle(s, "main");
	ok(a && !strcmp(a, "main"), "a C name is kept (%s)", str(a));
	a = symbolizer__demangle(s, "_Znot_really");
	ok(a && !strcmp(a, "_Znot_really"), "an invalid mangled name is kept (%s)", str(a));
}

static void test_special(struct symbolizer *s, const struct procmaps *pm)
{
	struct procmap anon = { .start = 0x10000, .end = 0x20000, .perms = "rw-p", .path = "" };
	struct procmap gone = { .start = 0x10000,
				.end = 0x20000,
				.perms = "r-xp",
				.dev_major = 8,
				.inode = 123456789,
				.path = "/nonexistent/libnothing.so.1" };
	const struct procmap *vdso = NULL;
	struct sym_object_info info;
	struct sym_frame f[MAX];
	size_t i;
	int n, err;

	for (i = 0; i < pm->nr; i++) {
		if (!strcmp(pm->maps[i].path, "[vdso]"))
			vdso = &pm->maps[i];
	}
	ok(vdso != NULL, "[vdso] is mapped");
	if (vdso) {
		n = symbolizer__resolve(s, pm->pid, vdso, vdso->start + 16, f, MAX);
		ok(n == 1 && !f[0].function && !f[0].file && !f[0].line,
		   "[vdso]: one frame without a function");
		err = symbolizer__object(s, pm->pid, vdso, &info);
		ok(err == -ENOENT && !strcmp(info.path, "[vdso]") && !strcmp(info.build_id, ""),
		   "[vdso] object: -ENOENT, path kept, no build id");
	}
	n = symbolizer__resolve(s, pm->pid, &anon, 0x10010, f, MAX);
	ok(n == 1 && !f[0].function, "anonymous: one frame without a function");
	n = symbolizer__resolve(s, pm->pid, &anon, 0x30000, f, MAX);
	ok(n == -EINVAL, "an address outside the mapping is -EINVAL");
	n = symbolizer__resolve(s, pm->pid, &gone, 0x10010, f, MAX);
	ok(n == 1 && !f[0].function, "missing file: one frame without a function");
	err = symbolizer__object(s, pm->pid, &gone, &info);
	ok(err == -ENOENT && !strcmp(info.path, gone.path) && !strcmp(info.build_id, ""),
	   "missing file object: -ENOENT (err=%d)", err);
}

/* A process that exits keeps its objects: its stacks are symbolized afterwards. */
static void test_exited(void)
{
	struct symbolizer *s = symbolizer__new(), *s2 = symbolizer__new();
	uint64_t leaf = (uint64_t)(uintptr_t)&leaf_func;
	uint64_t outer = (uint64_t)(uintptr_t)&outer_func;
	struct procmaps *pm = NULL;
	struct sym_frame f[MAX];
	pid_t child;
	int n;

	child = fork();
	if (child == 0) {
		pause();
		_exit(0);
	}
	ok(child > 0 && procmaps__load(child, &pm) == 0, "child %d maps loaded", (int)child);
	if (child <= 0 || !pm || !s || !s2)
		goto out;
	n = resolve(s, pm, leaf, f);
	ok(n == 1 && f[0].function && !strcmp(f[0].function, "leaf_func"),
	   "leaf_func in the live child (%s)", n >= 1 ? str(f[0].function) : "none");
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	ok(access("/proc/self", F_OK) == 0, "child reaped");
	n = resolve(s, pm, outer, f);
	ok(n == 1 && f[0].function && !strcmp(f[0].function, "outer_func"),
	   "after exit, a new address of the same object (%s)",
	   n >= 1 ? str(f[0].function) : "none");
	n = resolve(s2, pm, leaf, f);
	ok(n == 1 && f[0].function && !strcmp(f[0].function, "leaf_func"),
	   "after exit, a fresh symbolizer opens the file by path (%s)",
	   n >= 1 ? str(f[0].function) : "none");
out:
	procmaps__free(pm);
	symbolizer__free(s);
	symbolizer__free(s2);
}

static void test_elfsym(const struct procmaps *pm)
{
	uint64_t leaf = (uint64_t)(uintptr_t)&leaf_func, vaddr = 0, sym = 0;
	const struct procmap *m = procmaps__find(pm, leaf);
	struct elfsym *e = NULL;
	const char *name;
	int err;

	err = elfsym__open("/proc/self/exe", &e);
	ok(err == 0 && e, "elfsym__open /proc/self/exe (err=%d)", err);
	if (!e || !m)
		goto out;
	ok(is_hex40(elfsym__build_id(e)), "elfsym build id (%s)", elfsym__build_id(e));
	ok(elfsym__has_symbols(e) && elfsym__dwarf_elf(e) != NULL, "own .symtab and DWARF");
	err = elfsym__offset_to_vaddr(e, leaf - m->start + m->offset, &vaddr);
	name = err ? NULL : elfsym__lookup(e, vaddr + 1, &sym);
	ok(name && !strcmp(name, "leaf_func") && sym == vaddr, "lookup inside leaf_func (%s)",
	   str(name));
	ok(elfsym__offset_to_vaddr(e, 1ULL << 40, &vaddr) == -ENOENT,
	   "an offset beyond the file is -ENOENT");
	ok(elfsym__lookup(e, 0, NULL) == NULL, "address 0 has no symbol");
out:
	elfsym__free(e);
	elfsym__free(NULL);
}

int main(void)
{
	struct symbolizer *s = symbolizer__new();
	struct procmaps *pm = NULL;
	int err;

	ok(s != NULL, "symbolizer__new");
	err = procmaps__load(getpid(), &pm);
	ok(err == 0, "load own maps (err=%d)", err);
	if (!s || err)
		return done_testing();
	test_self(s, pm);
	test_inlined(s, pm);
	test_libc(s, pm);
	test_cxx(s);
	test_demangle(s);
	test_special(s, pm);
	test_elfsym(pm);
	test_exited();
	procmaps__free(pm);
	symbolizer__free(s);
	symbolizer__free(NULL);
	return done_testing();
}
