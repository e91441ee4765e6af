// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * test_unwind.c - unwind stacks of this very binary (built -O2 -g, so
 * without frame pointers) captured the way the BPF program captures them:
 * at the allocator's first instruction, ip = [rsp] and sp = rsp + 8, then
 * the stack copied upwards from sp. The unwound return addresses are
 * checked by name with the symbolizer.
 */
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "symbol/procmaps.h"
#include "symbol/symbolize.h"
#include "tap.h"
#include "collect/unwind.h"

#define STACK_MAX (16 * 1024)
#define MAX_PCS	  127
#define MAPS_MAX  (256 * 1024)

struct sample {
	struct unwind_regs regs;
	size_t len;
	unsigned char stack[STACK_MAX];
};

/*
 * size_t capture_stack(struct unwind_regs *r, void *buf, size_t len, uint64_t stack_end):
 * records what a uprobe sees on entry to a function (ip = the return address
 * at [rsp], sp = rsp + 8, the callee-saved registers), then copies
 * min(len, stack_end - sp) bytes from sp into buf and returns that count.
 * Written in assembly so no compiler-made frame sits between the capture
 * and the caller.
 */
size_t capture_stack(struct unwind_regs *r, void *buf, size_t len, uint64_t stack_end);
__asm__(".text\n"
	".globl capture_stack\n"
	".type capture_stack, @function\n"
	"capture_stack:\n"
	"	movq (%rsp), %rax\n"
	"	movq %rax, 0(%rdi)\n"
	"	leaq 8(%rsp), %rax\n"
	"	movq %rax, 8(%rdi)\n"
	"	movq %rbp, 16(%rdi)\n"
	"	movq %rbx, 24(%rdi)\n"
	"	movq %r12, 32(%rdi)\n"
	"	movq %r13, 40(%rdi)\n"
	"	movq %r14, 48(%rdi)\n"
	"	movq %r15, 56(%rdi)\n"
	"	leaq 8(%rsp), %rax\n"
	"	subq %rax, %rcx\n" /* bytes left up to the end of the stack */
	"	cmpq %rdx, %rcx\n"
	"	cmovbq %rcx, %rdx\n"
	"	movq %rdx, %rcx\n"
	"	movq %rsi, %rdi\n"
	"	leaq 8(%rsp), %rsi\n"
	"	movq %rdx, %rax\n"
	"	rep movsb\n"
	"	ret\n"
	".size capture_stack, .-capture_stack\n");

/* Written by the test functions so the compiler keeps their calls out of tail position. */
volatile int sink;
static uint64_t stack_end;

__attribute__((noipa)) void f1(struct sample *s)
{
	/* Room below the return address for the fake frame of test_no_fp_fallback. */
	volatile char pad[64];

	pad[0] = (char)sink;
	s->len = capture_stack(&s->regs, s->stack, STACK_MAX, stack_end);
	sink += pad[0];
}

__attribute__((noipa)) void f2(struct sample *s, int depth)
{
	if (depth > 0)
		f2(s, depth - 1);
	else
		f1(s);
	sink++;
}

__attribute__((noipa)) void f3(struct sample *s, int depth)
{
	f2(s, depth);
	sink++;
}

/* Called by libc's qsort, so the stack holds libc frames between ours. */
static struct sample *cmp_sample;
__attribute__((noipa)) int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	if (cmp_sample) {
		f1(cmp_sample);
		cmp_sample = NULL;
	}
	sink++;
	return (x > y) - (x < y);
}

__attribute__((noipa)) void sort_and_capture(struct sample *s)
{
	int v[] = { 3, 1, 2 };

	cmp_sample = s;
	qsort(v, 3, sizeof(v[0]), cmp_int);
	sink++;
}

/*
 * Unwinds `s` both ways, the cached-rule walk and libdwfl's own, and
 * counts samples where they differ (reported once, at the end): every
 * stack the tests below build, tampered ones included, is a case.
 */
static int walks_compared, walks_differ;

static int unwind_checked(struct unwinder *u, const struct unwind_regs *regs, const void *stack,
			  size_t len, uint64_t *pcs, int max, int *trunc)
{
	uint64_t slow[MAX_PCS];
	int n, n_slow, trunc_slow;

	n = unwinder__unwind(u, regs, stack, len, pcs, max, trunc);
	if (max > MAX_PCS)
		return n;
	unwinder__use_libdw_only(u, true);
	n_slow = unwinder__unwind(u, regs, stack, len, slow, max, &trunc_slow);
	unwinder__use_libdw_only(u, false);
	walks_compared++;
	if (n != n_slow || *trunc != trunc_slow ||
	    (n > 0 && memcmp(pcs, slow, (size_t)n * sizeof(*pcs)))) {
		if (!walks_differ++)
			printf("# walks differ: %d frames (truncated %d) vs libdwfl's %d (%d)\n", n,
			       *trunc, n_slow, trunc_slow);
	}
	return n;
}

/* The containing function of return address `pc` in process `pid`, or "?". */
static const char *name_of(struct symbolizer *sym, const struct procmaps *pm, uint64_t pc)
{
	const struct procmap *m = procmaps__find(pm, pc - 1);
	struct sym_frame fr[8];
	int n;

	if (!m)
		return "?";
	n = symbolizer__resolve(sym, pm->pid, m, pc - 1, fr, 8);
	if (n < 1 || !fr[n - 1].function)
		return "?";
	return fr[n - 1].function;
}

static int find_name(struct symbolizer *sym, const struct procmaps *pm, const uint64_t *pcs, int n,
		     const char *name)
{
	int i;

	for (i = 0; i < n; i++)
		if (!strcmp(name_of(sym, pm, pcs[i]), name))
			return i;
	return -1;
}

static void print_stack(struct symbolizer *sym, const struct procmaps *pm, const uint64_t *pcs,
			int n)
{
	int i;

	for (i = 0; i < n && i < 12; i++)
		printf("#   %2d %#llx %s\n", i, (unsigned long long)pcs[i],
		       name_of(sym, pm, pcs[i]));
}

/* Checks that pcs names f1, f2 x depth+1, f3, then reaches main. */
static void check_chain(struct symbolizer *sym, const struct procmaps *pm, const uint64_t *pcs,
			int n, int depth, const char *what)
{
	int i, good = n >= depth + 4;

	if (good)
		good = !strcmp(name_of(sym, pm, pcs[0]), "f1");
	for (i = 1; good && i <= depth + 1; i++)
		good = !strcmp(name_of(sym, pm, pcs[i]), "f2");
	if (good)
		good = !strcmp(name_of(sym, pm, pcs[depth + 2]), "f3");
	if (!ok(good, "%s: f1, f2 x%d, f3 in order", what, depth + 1))
		print_stack(sym, pm, pcs, n);
	ok(find_name(sym, pm, pcs, n, "main") > depth + 2, "%s: the walk reaches main", what);
}

static uint64_t find_stack_end(const struct procmaps *pm)
{
	size_t i;

	for (i = 0; i < pm->nr; i++)
		if (!strcmp(pm->maps[i].path, "[stack]"))
			return pm->maps[i].end;
	return 0;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_self(struct symbolizer *sym, struct procmaps *pm, struct unwinder *u,
		      struct sample *s)
{
	uint64_t pcs[MAX_PCS];
	int n, n_full, trunc, i, all_f2;
	double t0, dt;

	f3(s, 0);
	ok(s->len > 64 && s->regs.sp == (uint64_t)s->regs.sp, "captured %zu stack bytes", s->len);
	n = unwind_checked(u, &s->regs, s->stack, s->len, pcs, MAX_PCS, &trunc);
	ok(n >= 5 && !trunc, "unwound %d frames, not truncated", n);
	ok(pcs[0] == s->regs.ip, "pcs[0] is the captured ip");
	check_chain(sym, pm, pcs, n, 0, "self");
	i = find_name(sym, pm, pcs, n, "main");
	ok(i >= 0 && i + 1 < n && !strncmp(name_of(sym, pm, pcs[i + 1]), "__libc_start", 12),
	   "main's caller is in libc: %s",
	   i >= 0 && i + 1 < n ? name_of(sym, pm, pcs[i + 1]) : "-");
	n_full = n;

	/* Exactly as many frames as fit: not truncated. */
	n = unwind_checked(u, &s->regs, s->stack, s->len, pcs, n_full, &trunc);
	ok(n == n_full && !trunc, "max == depth gives %d frames, not truncated", n);
	n = unwind_checked(u, &s->regs, s->stack, s->len, pcs, n_full - 1, &trunc);
	ok(n == n_full - 1 && trunc, "max == depth - 1 gives %d frames, truncated", n);
	n = unwind_checked(u, &s->regs, s->stack, s->len, pcs, 1, &trunc);
	ok(n == 1 && trunc && pcs[0] == s->regs.ip, "max 1 gives the ip, truncated");
	ok(unwind_checked(u, &s->regs, s->stack, s->len, pcs, 0, &trunc) == -EINVAL,
	   "max 0 is -EINVAL");

	/* A short copy ends the walk where it would read beyond it. */
	n = unwind_checked(u, &s->regs, s->stack, 64, pcs, MAX_PCS, &trunc);
	ok(n >= 1 && n < n_full && !trunc && pcs[0] == s->regs.ip,
	   "a 64-byte copy stops early: %d frames", n);
	n = unwind_checked(u, &s->regs, s->stack, 0, pcs, MAX_PCS, &trunc);
	ok(n == 1 && !trunc, "an empty copy gives the ip only");

	/* Deep recursion: the walk stops at max and says so. */
	f3(s, 200);
	n = unwind_checked(u, &s->regs, s->stack, s->len, pcs, MAX_PCS, &trunc);
	ok(n == MAX_PCS && trunc, "200-deep recursion: %d frames, truncated", n);
	all_f2 = n == MAX_PCS && !strcmp(name_of(sym, pm, pcs[0]), "f1");
	for (i = 1; all_f2 && i < n; i++)
		all_f2 = !strcmp(name_of(sym, pm, pcs[i]), "f2");
	ok(all_f2, "200-deep recursion: f1 then f2 frames");

	f3(s, 20);
	n = unwind_checked(u, &s->regs, s->stack, s->len, pcs, MAX_PCS, &trunc);
	check_chain(sym, pm, pcs, n, 20, "20-deep recursion");

	/* Through libc's qsort: the libc module must sit at its right load bias. */
	sort_and_capture(s);
	n = unwind_checked(u, &s->regs, s->stack, s->len, pcs, MAX_PCS, &trunc);
	i = find_name(sym, pm, pcs, n, "sort_and_capture");
	ok(n > 3 && !strcmp(name_of(sym, pm, pcs[0]), "f1") &&
	       !strcmp(name_of(sym, pm, pcs[1]), "cmp_int") && i > 2 &&
	       find_name(sym, pm, pcs, n, "main") > i,
	   "through qsort: f1, cmp_int, libc frames, sort_and_capture, main");
	if (i > 2)
		ok(procmaps__find(pm, pcs[2]) != procmaps__find(pm, pcs[0]),
		   "the frame above cmp_int is libc's: %s", name_of(sym, pm, pcs[2]));
	else
		print_stack(sym, pm, pcs, n);

	/* Cost per sample, CFI already parsed: f1, f2 x3, f3, test_self, main, 3 in libc. */
	f3(s, 2);
	n = unwind_checked(u, &s->regs, s->stack, s->len, pcs, MAX_PCS, &trunc);
	for (i = 0; i < 2; i++) {
		int k;

		unwinder__use_libdw_only(u, i == 1);
		t0 = now();
		for (k = 0; k < 10000; k++)
			unwinder__unwind(u, &s->regs, s->stack, s->len, pcs, MAX_PCS, &trunc);
		dt = now() - t0;
		printf("# 10000 unwinds of %d frames%s: %.3f s, %.2f us per sample, %.0f ns per "
		       "frame\n",
		       n, i ? " by libdwfl alone" : "", dt, dt / 10000 * 1e6, dt / 10000 / n * 1e9);
		ok(dt < 10.0, "10000 unwinds%s take %.3f s", i ? " by libdwfl alone" : "", dt);
	}
	unwinder__use_libdw_only(u, false);
}

/*
 * Where CFI cannot unwind a frame, libdwfl would follow rbp; in code without
 * frame pointers that is noise, so the walk must end there instead. rbp is
 * pointed at a plausible fake frame (saved rbp 0, return address into f3).
 */
static void test_no_fp_fallback(struct symbolizer *sym, struct procmaps *pm, struct unwinder *u,
				struct sample *s)
{
	static struct sample fake;
	uint64_t pcs[MAX_PCS], ra, into_f3 = (uint64_t)(uintptr_t)f3 + 1;
	size_t off;
	int n, trunc;

	f3(s, 0);
	n = unwind_checked(u, &s->regs, s->stack, s->len, pcs, MAX_PCS, &trunc);
	if (!ok(n >= 2, "a stack to tamper with"))
		return;
	/* Where f1's return address into f2 sits in the copy. */
	ra = pcs[1];
	for (off = 0; off + 8 <= s->len; off += 8)
		if (!memcmp(s->stack + off, &ra, 8))
			break;
	if (!ok(off >= 16 && off + 8 <= s->len, "f1's return address at sp+%zu", off))
		return;

	fake = *s;
	memset(fake.stack, 0, 8);
	memcpy(fake.stack + 8, &into_f3, 8);
	fake.regs.bp = fake.regs.sp;
	if (s->regs.bp == s->regs.sp + off - 8) {
		/* f1 keeps a frame pointer (sanitizer build): its CFI itself follows rbp. */
		printf("ok %d # skip f1 has a frame pointer\n", ++tap_count);
		printf("ok %d # skip f1 has a frame pointer\n", ++tap_count);
	} else {
		n = unwind_checked(u, &fake.regs, fake.stack, s->len, pcs, MAX_PCS, &trunc);
		ok(n >= 2 && !strcmp(name_of(sym, pm, pcs[1]), "f2"),
		   "a whole copy: CFI wins over rbp");
		n = unwind_checked(u, &fake.regs, fake.stack, off, pcs, MAX_PCS, &trunc);
		ok(n == 1 && !trunc,
		   "copy cut before the return address: %d frame(s), no rbp frame", n);
	}

	/* capture_stack has no CFI: an ip in it ends the walk at once. */
	fake.regs.ip = (uint64_t)(uintptr_t)capture_stack + 5;
	n = unwind_checked(u, &fake.regs, fake.stack, s->len, pcs, MAX_PCS, &trunc);
	ok(n == 1 && !trunc && pcs[0] == fake.regs.ip, "ip without CFI: %d frame(s), no rbp frame",
	   n);
}

__attribute__((noipa)) void via_lib_cb(void *arg)
{
	f1(arg);
	sink++;
}

/*
 * A library whose segments sit 1 MiB above their file offsets (p_vaddr -
 * p_offset != 0, unlike the usual layouts), dlopened after the unwinder was
 * made: set_maps must add it at the right load bias for its CFI to unwind
 * lib_call's frame.
 */
static void test_dlopen_offset_vaddr(struct symbolizer *sym, struct unwinder *u, struct sample *s)
{
	static const char src[] =
	    "volatile int lib_sink;\n"
	    "__attribute__((noipa)) void lib_call(void (*fn)(void *), void *arg)\n"
	    "{\n\tfn(arg);\n\tlib_sink++;\n}\n";
	char dir[] = "/tmp/test_unwind.XXXXXX", cmd[512], path[256];
	void (*lib_call)(void (*)(void *), void *) = NULL;
	const char *cc = getenv("CC") ? getenv("CC") : "cc";
	struct procmaps *pm = NULL;
	uint64_t pcs[MAX_PCS];
	void *h = NULL;
	int n, trunc;
	FILE *f;

	if (!ok(mkdtemp(dir) != NULL, "temporary directory"))
		return;
	snprintf(path, sizeof(path), "%s/lib.c", dir);
	f = fopen(path, "w");
	if (f) {
		fputs(src, f);
		fclose(f);
	}
	snprintf(cmd, sizeof(cmd),
		 "%s -O2 -fomit-frame-pointer -shared -fPIC -Wl,-Ttext-segment=0x100000 "
		 "%s/lib.c -o %s/lib.so",
		 cc, dir, dir);
	snprintf(path, sizeof(path), "%s/lib.so", dir);
	if (ok(f && system(cmd) == 0 && (h = dlopen(path, RTLD_NOW)) != NULL,
	       "built and loaded a library linked at 0x100000"))
		lib_call = (void (*)(void (*)(void *), void *))dlsym(h, "lib_call");
	if (lib_call) {
		lib_call(via_lib_cb, s);
		ok(procmaps__load(getpid(), &pm) == 0 && unwinder__set_maps(u, pm) == 0,
		   "set_maps after dlopen");
		n = unwind_checked(u, &s->regs, s->stack, s->len, pcs, MAX_PCS, &trunc);
		ok(n > 4 && !strcmp(name_of(sym, pm, pcs[0]), "f1") &&
		       !strcmp(name_of(sym, pm, pcs[1]), "via_lib_cb") &&
		       !strcmp(name_of(sym, pm, pcs[2]), "lib_call") &&
		       !strcmp(name_of(sym, pm, pcs[3]), "test_dlopen_offset_vaddr") &&
		       find_name(sym, pm, pcs, n, "main") > 3,
		   "through the library: f1, via_lib_cb, lib_call, test_dlopen_offset_vaddr, main");
		if (n < 4 || strcmp(name_of(sym, pm, pcs[3]), "test_dlopen_offset_vaddr"))
			print_stack(sym, pm, pcs, n);
	}
	if (h)
		dlclose(h);
	unlink(path);
	snprintf(path, sizeof(path), "%s/lib.c", dir);
	unlink(path);
	rmdir(dir);
	procmaps__free(pm);
}

/* set_maps keeps working: same snapshot again, then a fresh one. */
static void test_set_maps(struct symbolizer *sym, struct procmaps *pm, struct unwinder *u,
			  struct sample *s)
{
	struct procmaps *pm2 = NULL;
	uint64_t pcs[MAX_PCS];
	int n, trunc;

	ok(unwinder__set_maps(u, pm) == 0, "set_maps with the same snapshot");
	f3(s, 1);
	n = unwind_checked(u, &s->regs, s->stack, s->len, pcs, MAX_PCS, &trunc);
	check_chain(sym, pm, pcs, n, 1, "after set_maps");
	ok(procmaps__load(getpid(), &pm2) == 0 && unwinder__set_maps(u, pm2) == 0,
	   "set_maps with a fresh snapshot");
	n = unwind_checked(u, &s->regs, s->stack, s->len, pcs, MAX_PCS, &trunc);
	check_chain(sym, pm, pcs, n, 1, "after a fresh snapshot");
	procmaps__free(pm2);
}

/*
 * A child captures a stack into shared memory with its maps text, then
 * waits. Unwound while it lives, after it exits with the unwinder made
 * while it lived, and with an unwinder made only after it exited.
 */
static void test_exited_child(struct symbolizer *sym)
{
	struct procmaps *live = NULL, *dead = NULL;
	struct unwinder *u_live = NULL, *u_dead = NULL;
	struct sample *s;
	char *maps_text;
	int ready[2], go[2], status, n, trunc;
	uint64_t pcs[MAX_PCS];
	pid_t pid;
	char c = 0;

	s = mmap(NULL, sizeof(*s) + MAPS_MAX, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		 -1, 0);
	if (!ok(s != MAP_FAILED && !pipe(ready) && !pipe(go), "shared memory and pipes"))
		return;
	maps_text = (char *)(s + 1);
	pid = fork();
	if (pid == 0) {
		FILE *f;
		size_t len = 0;

		f3(s, 2);
		f = fopen("/proc/self/maps", "r");
		if (f) {
			len = fread(maps_text, 1, MAPS_MAX - 1, f);
			fclose(f);
		}
		maps_text[len] = '\0';
		if (write(ready[1], &c, 1) != 1 || read(go[0], &c, 1) < 0)
			_exit(1);
		_exit(0);
	}
	ok(pid > 0 && read(ready[0], &c, 1) == 1, "child %d captured its stack", (int)pid);
	ok(procmaps__load(pid, &live) == 0 && unwinder__new(pid, live, &u_live) == 0,
	   "unwinder for the live child");
	if (u_live) {
		n = unwind_checked(u_live, &s->regs, s->stack, s->len, pcs, MAX_PCS, &trunc);
		check_chain(sym, live, pcs, n, 2, "live child");
	}
	ok(write(go[1], &c, 1) == 1 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	       kill(pid, 0) < 0,
	   "child exited and was reaped");
	if (u_live) {
		n = unwind_checked(u_live, &s->regs, s->stack, s->len, pcs, MAX_PCS, &trunc);
		check_chain(sym, live, pcs, n, 2, "exited child, unwinder made before");
	}
	ok(procmaps__parse(maps_text, pid, &dead) == 0 && unwinder__new(pid, dead, &u_dead) == 0,
	   "unwinder from the exited child's maps text");
	if (u_dead) {
		n = unwind_checked(u_dead, &s->regs, s->stack, s->len, pcs, MAX_PCS, &trunc);
		check_chain(sym, dead, pcs, n, 2, "exited child, unwinder made after");
	}
	unwinder__free(u_live);
	unwinder__free(u_dead);
	procmaps__free(live);
	procmaps__free(dead);
	close(ready[0]);
	close(ready[1]);
	close(go[0]);
	close(go[1]);
	munmap(s, sizeof(*s) + MAPS_MAX);
}

/* Snapshots without usable files still give an unwinder: the walk is then the ip alone. */
static void test_no_modules(struct sample *s)
{
	struct procmaps *pm = NULL;
	struct unwinder *u = NULL;
	uint64_t pcs[4];
	int n, trunc;

	ok(procmaps__parse("7f0000000000-7f0000001000 r-xp 00000000 00:00 0 /nonexistent/lib.so\n"
			   "7f0000002000-7f0000003000 r-xp 00000000 00:00 0 [vdso]\n",
			   999999, &pm) == 0 &&
	       unwinder__new(999999, pm, &u) == 0,
	   "unwinder over files that do not exist");
	if (u) {
		/* rbp is a real frame pointer in a sanitizer build: it must not be followed. */
		n = unwind_checked(u, &s->regs, s->stack, s->len, pcs, 4, &trunc);
		ok(n == 1 && pcs[0] == s->regs.ip && !trunc, "walk without modules gives the ip");
	}
	unwinder__free(u);
	procmaps__free(pm);
	unwinder__free(NULL);
	ok(1, "unwinder__free(NULL) is a no-op");
}

int main(void)
{
	struct symbolizer *sym = symbolizer__new();
	struct procmaps *pm = NULL;
	struct unwinder *u = NULL;
	struct sample *s = calloc(1, sizeof(*s));
	int err;

	if (!ok(sym && s && procmaps__load(getpid(), &pm) == 0, "symbolizer and own maps"))
		return done_testing();
	stack_end = find_stack_end(pm);
	ok(stack_end != 0, "found the [stack] mapping");
	err = unwinder__new(getpid(), pm, &u);
	if (ok(err == 0, "unwinder__new for self: %d", err)) {
		test_self(sym, pm, u, s);
		test_no_fp_fallback(sym, pm, u, s);
		test_set_maps(sym, pm, u, s);
		test_dlopen_offset_vaddr(sym, u, s);
	}
	test_exited_child(sym);
	test_no_modules(s);
	ok(walks_compared >= 15 && walks_differ == 0,
	   "the cached-rule walk equals libdwfl's on %d of %d samples",
	   walks_compared - walks_differ, walks_compared);
	unwinder__free(u);
	procmaps__free(pm);
	symbolizer__free(sym);
	free(s);
	return done_testing();
}
