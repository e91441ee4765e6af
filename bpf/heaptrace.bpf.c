// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * heaptrace.bpf.c - allocator uprobes: sample allocations, aggregate their
 * stacks, track live sampled blocks.
 *
 * Flow: an allocator entry program decides (Poisson by bytes) whether the
 * call is sampled and, if so, captures its stack; it remembers the call in
 * the in-flight map keyed by thread. The shared return program reads the
 * returned address, adds the sample to the per-(process, stack) counters
 * and records the block as live. The free program moves a live sampled
 * block's bytes out of in-use. Nothing here fails loudly: every loss is
 * counted in the target's ht_target counters.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/usdt.bpf.h>

#include "heaptrace.h"
#include "sampling.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Knobs, set by the loader before load. */
const volatile __u64 sample_rate = 524288;
const volatile __u64 page_size = 4096;
const volatile __u32 unwind_mode = HT_UNWIND_FP;
const volatile __u32 stack_copy_size = 16384; /* <= HT_MAX_STACK_COPY */
/* --alloc-only: free is not probed, so a sampled block is counted freed at once. */
const volatile __u32 alloc_only = 0;
const volatile __u64 wakeup_bytes = HT_WAKEUP_BYTES; /* at most a quarter of the ring */
const volatile __u64 half_ring_bytes = HT_WAKEUP_BYTES * 2;
/*
 * Bumped by the daemon after it takes probes off (the safety valve): a call
 * in flight then never sees its return run, and its record would otherwise
 * pass for an outer call of the thread's next ones for a while.
 */
volatile __u64 probe_epoch = 0;

/*
 * System-wide mode and process lifecycle (see docs/design.md, "System-wide
 * mode"). With trace_all, the probes are attached for every process and an
 * entry program of a process not yet in `targets` adopts it, if it passes
 * the filters: not heaptrace itself (self_tgid), in the cgroup subtree of
 * `cgroup_filter` (filter_cgroup), named filter_comm (when not empty).
 */
const volatile __u32 trace_all = 0;
/*
 * Filtered system-wide mode (--comm, --cgroup): the probes are per process,
 * so no other process traps; an exec that makes a process wanted (its new
 * name, or in the cgroup) is told to the daemon, which attaches to it.
 */
const volatile __u32 watch_execs = 0;
const volatile __u32 self_tgid = 0;
const volatile __u32 follow_forks = 0;
/* Slots a process may have in `live_slots`: --max-live, at most what bpf_loop takes. */
const volatile __u32 max_slots = 1048576;
const volatile __u32 filter_cgroup = 0;
const volatile char filter_comm[16] = {};

/* Host-wide losses, read by the daemon. */
struct ht_global_stats gstats = {};
/* See HT_LIVE_FILTER_SLOTS in heaptrace.h. */
__u32 live_filter[HT_LIVE_FILTER_SLOTS] = {};

/* Names each DWARF-mode sample for the daemon, from its stack to its free. */
__u64 next_seq = 1;

/* A nested call is only trusted for this long after its outer call's entry: an
 * outer call that never returned (an exception thrown out of operator new, a
 * return probe the kernel could not arm) must not hide the thread's next calls.
 * Nested calls come within microseconds; the margin is for preemption. */
#define HT_NESTING_WINDOW_NS 100000000ull

#define EEXIST 17 /* vmlinux.h carries no errno values */
#define E2BIG  7

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct ht_target);
} targets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct ht_agg_key);
	__type(value, struct ht_agg_val);
} aggs SEC(".maps");

/* Stacks are large: allocate entries as they come, not all up front. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct ht_stack);
} stacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1048576);
	__type(key, struct ht_live_key);
	__type(value, struct ht_live_val);
} live SEC(".maps");

/* See struct ht_slot_key. Sized with `live` at load. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1048576);
	__type(key, struct ht_slot_key);
	__type(value, __u64);
} live_slots SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct ht_inflight);
} inflight SEC(".maps");

/* Per-thread byte budget until the next sample; freed with the thread. */
struct thread_state {
	__u64 budget;
	__u64 initialized;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct thread_state);
} thread_states SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 32 << 20);
} events SEC(".maps");

/*
 * Room to build a stack event. One page beyond the largest copy lets each
 * page-sized read land at a masked offset without a bounds proof per byte.
 */
struct stack_event_buf {
	struct ht_event_hdr hdr;
	struct ht_regs regs;
	__u32 stack_len;
	__u32 pad;
	__u8 stack[HT_MAX_STACK_COPY + 4096];
};

_Static_assert(__builtin_offsetof(struct stack_event_buf, stack) == sizeof(struct ht_stack_event),
	       "stack_event_buf must start like ht_stack_event");

/* One per CPU, indexed by CPU: per-CPU map values are limited to 32 KiB. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1); /* set to the number of possible CPUs at load */
	__type(key, __u32);
	__type(value, struct stack_event_buf);
} stack_event_scratch SEC(".maps");

/*
 * Per thread: the mapping its stack pointer was last found in. A stack copy
 * stops at the mapping's end: past it lies other memory (often a readable
 * neighbour, such as a thread arena above a thread's stack), never frames.
 * Looked up again when the stack pointer leaves it (a signal stack, a
 * coroutine) and at least every HT_STACK_VMA_TTL_NS, so that a mapping
 * replaced in the meantime is not trusted for long.
 */
struct stack_vma {
	__u64 start;
	__u64 end;
	__u64 seen_ns;
};

#define HT_STACK_VMA_TTL_NS 1000000000ull

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct stack_vma);
} stack_vmas SEC(".maps");

/* Room to build a stack: too big for the 512-byte BPF stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ht_stack);
} scratch SEC(".maps");

static __always_inline void count(__u64 *counter)
{
	__sync_fetch_and_add(counter, 1);
}

/* See HT_CALL_SLOTS in heaptrace.h. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, HT_CALL_SLOTS);
	__type(key, __u32);
	__type(value, struct ht_call_count);
} call_counts SEC(".maps");

static __always_inline void count_call(__u32 tgid, struct ht_target *t)
{
	__u32 slot = ht_call_slot(tgid);
	struct ht_call_count *c = bpf_map_lookup_elem(&call_counts, &slot);

	/* Atomic though per CPU: another task may preempt this program on its CPU. */
	if (c && (c->tgid == tgid || __sync_val_compare_and_swap(&c->tgid, 0, tgid) == 0)) {
		__sync_fetch_and_add(&c->calls, 1);
		return;
	}
	count(&t->calls);
}

/* --cgroup: the one cgroup whose subtree system-wide mode picks processes from. */
struct {
	__uint(type, BPF_MAP_TYPE_CGROUP_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} cgroup_filter SEC(".maps");

/*
 * Processes refused because `targets` was full, so that each is counted once
 * (an LRU: a process evicted from it may be counted again, never lost).
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u8);
} untraced SEC(".maps");

/* A traced process that is still the one traced: not exited, not exec'ed. */
static __always_inline struct ht_target *live_target(__u32 tgid)
{
	struct ht_target *t = bpf_map_lookup_elem(&targets, &tgid);

	if (t && t->frozen) {
		count(&gstats.dropped_frozen);
		return NULL;
	}
	return t;
}

/*
 * Sample events (stacks, allocations, frees) wake the daemon only once a
 * batch waits: a wake-up (an interrupt to this CPU, in a VM a trap to the
 * hypervisor, then the daemon's context switch) costs more than the event.
 * One wake-up per batch: the event that brings the waiting bytes past
 * wakeup_bytes, or past half the ring. Never more: a daemon that is behind
 * is awake and reads whatever is there, and waking it again only costs the
 * traced thread an interrupt. Two CPUs may both miss a crossing; the daemon
 * looks at the ring every HT_EVENTS_POLL_MS anyway. Process events keep
 * waking it at once (flags 0).
 */
static __always_inline __u64 sample_wakeup(__u64 size)
{
	__u64 waiting = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);

	if (waiting < wakeup_bytes && waiting + size >= wakeup_bytes)
		return BPF_RB_FORCE_WAKEUP;
	if (waiting < half_ring_bytes && waiting + size >= half_ring_bytes)
		return BPF_RB_FORCE_WAKEUP;
	return BPF_RB_NO_WAKEUP;
}

static __always_inline void send_proc_event(__u32 type, __u32 tgid, __u32 parent, __u32 flags)
{
	struct ht_proc_event ev = { .hdr = { .type = type, .tgid = tgid },
				    .parent_tgid = parent,
				    .flags = flags };

	/*
	 * Woken at once: the default wakes the daemon only when the ring was
	 * empty, and samples left in it without a wake-up would hold a fork's
	 * event until the next loop turn (50 ms), when a short-lived child may
	 * be gone.
	 */
	if (bpf_ringbuf_output(&events, &ev, sizeof(ev), BPF_RB_FORCE_WAKEUP))
		count(&gstats.lost_proc_events);
}

/* Whether the current process passes --cgroup and --comm. */
static __always_inline bool wanted_process(void)
{
	struct task_struct *task = bpf_get_current_task_btf();
	char comm[16];
	int i;

	if (filter_cgroup && bpf_current_task_under_cgroup(&cgroup_filter, 0) != 1)
		return false;
	if (!filter_comm[0])
		return true;
	/* The process's name is its leader's: threads may have renamed themselves. */
	if (bpf_probe_read_kernel_str(comm, sizeof(comm), task->group_leader->comm) < 0)
		return false;
	for (i = 0; i < 16; i++) {
		if (comm[i] != filter_comm[i])
			return false;
		if (!comm[i])
			break;
	}
	return true;
}

/* Starts tracing `tgid` (system-wide or a followed child); NULL when it cannot. */
static __always_inline struct ht_target *adopt(__u32 tgid, __u32 type, __u32 parent, __u32 flags)
{
	struct ht_target zero = {};
	__u8 one = 1;
	long err;

	err = bpf_map_update_elem(&targets, &tgid, &zero, BPF_NOEXIST);
	if (err == -EEXIST)
		return live_target(tgid);
	if (err) {
		if (bpf_map_update_elem(&untraced, &tgid, &one, BPF_NOEXIST) == 0)
			count(&gstats.targets_full);
		return NULL;
	}
	send_proc_event(type, tgid, parent, flags);
	return bpf_map_lookup_elem(&targets, &tgid);
}

/* The target of an allocating entry; in system-wide mode, adopts a new process. */
static __always_inline struct ht_target *lookup_target(__u32 tgid)
{
	struct ht_target *t = bpf_map_lookup_elem(&targets, &tgid);

	if (t) {
		if (!t->frozen)
			return t;
		count(&gstats.dropped_frozen);
		return NULL;
	}
	if (!trace_all || tgid == self_tgid || !wanted_process())
		return NULL;
	return adopt(tgid, HT_EV_PROCESS, 0, 0);
}

static __always_inline __u64 draw_budget(void)
{
	return ht_next_sample_budget(bpf_get_prandom_u32(), sample_rate);
}

/*
 * Go's rule: an allocation at least as large as the remaining budget is
 * sampled. `ts` is the thread's budget; NULL: the classic programs', kept
 * in thread_states (the session programs keep theirs with their call).
 */
static __always_inline bool should_sample(struct thread_state *ts, __u64 size)
{
	if (sample_rate <= 1)
		return true;
	if (!ts)
		ts = bpf_task_storage_get(&thread_states, bpf_get_current_task_btf(), 0,
					  BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!ts)
		return false;
	if (!ts->initialized) {
		ts->budget = draw_budget();
		ts->initialized = 1;
	}
	if (size < ts->budget) {
		ts->budget -= size;
		return false;
	}
	ts->budget = draw_budget();
	return true;
}

static __always_inline __u64 mix64(__u64 h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return h;
}

/*
 * A stack's id is the hash of its frames xor its process's salt, so that a
 * forked child's id of a stack follows from its parent's without the frames:
 * child id = parent id ^ salt(parent) ^ salt(child).
 */
static __always_inline __u64 stack_salt(__u32 tgid)
{
	return mix64(tgid + 0x9e3779b97f4a7c15ull);
}

/*
 * Captures the calling thread's user stack and returns its id (0 on loss).
 * At an allocator's first instruction the frame-pointer walk starts at the
 * allocator and continues at the caller's caller: the caller's own return
 * address sits at the stack pointer, not yet in a frame. So frame 0 (the
 * allocator) is replaced by the word at the stack pointer.
 */
static __always_inline __u64 capture_stack(struct pt_regs *ctx, __u32 tgid, struct ht_target *t,
					   bool at_probe)
{
	__u32 zero = 0;
	struct ht_stack *st;
	__u64 ret_addr = 0, h, id;
	long n;
	__u32 depth, i;

	st = bpf_map_lookup_elem(&scratch, &zero);
	if (!st)
		return 0;
	/* At a USDT site inside the sampler the walk is whole: its frames are hidden later. */
	if (!at_probe &&
	    bpf_probe_read_user(&ret_addr, sizeof(ret_addr), (void *)PT_REGS_SP(ctx))) {
		count(&t->stack_errors);
		return 0;
	}
	n = bpf_get_stack(ctx, st->frames, sizeof(st->frames), BPF_F_USER_STACK);
	depth = n > 0 ? (__u32)(n / sizeof(__u64)) : 1;
	if (depth > HT_MAX_STACK_DEPTH)
		depth = HT_MAX_STACK_DEPTH;
	if (!at_probe)
		st->frames[0] = ret_addr;
	else if (n <= 0)
		st->frames[0] = PT_REGS_IP(ctx);
	/* A full buffer means the walk was cut: mark it rather than pass a partial stack as whole.
	 */
	if (depth == HT_MAX_STACK_DEPTH)
		st->frames[HT_MAX_STACK_DEPTH - 1] = HT_FRAME_TRUNCATED;
	st->tgid = tgid;
	st->depth = depth;

	h = 0x6a09e667f3bcc908ull;
	for (i = 0; i < HT_MAX_STACK_DEPTH; i++) {
		if (i >= depth)
			break;
		h = mix64(h ^ st->frames[i]) + i;
	}
	id = h ^ stack_salt(tgid);
	id = id ? id : 1;

	if (!bpf_map_lookup_elem(&stacks, &id)) {
		long err = bpf_map_update_elem(&stacks, &id, st, BPF_NOEXIST);

		if (err && err != -EEXIST) {
			count(&t->lost_stack_full);
			return 0;
		}
	}
	return id;
}

static long note_stack_vma(struct task_struct *task, struct vm_area_struct *vma, void *data)
{
	struct stack_vma *found = data;

	found->start = vma->vm_start;
	found->end = vma->vm_end;
	return 0;
}

/*
 * The end of the frames above `base` when the thread says where they stop,
 * below the end of their mapping `end`: a glibc or musl thread's stack ends
 * under its thread control block, which the thread pointer (fs) points to,
 * the static TLS blocks just below it, so fs bounds the frames (their
 * thread descriptor, 2 KiB or more, is not copied); the main thread's frames
 * end where the kernel put argc (start_stack; the arguments and the
 * environment lie above). Only trusted inside the same mapping.
 */
static __always_inline __u64 frames_end(struct task_struct *task, __u64 base, __u64 end)
{
	__u64 fs = BPF_CORE_READ(task, thread.fsbase);
	__u64 top = BPF_CORE_READ(task, mm, start_stack);

	if (fs > base && fs < end)
		return fs;
	if (top > base && top < end)
		return top;
	return end;
}

/* How many bytes of stack from `base` are worth copying: up to the end of the frames. */
static __always_inline __u64 stack_room(__u64 base)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct stack_vma *sv, found = {};
	__u64 now = bpf_ktime_get_ns(), room;

	sv = bpf_task_storage_get(&stack_vmas, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!sv)
		return stack_copy_size;
	if (base < sv->start || base >= sv->end || now - sv->seen_ns >= HT_STACK_VMA_TTL_NS) {
		/* Fails when the mmap lock is taken (-EBUSY): copy the full size then. */
		if (bpf_find_vma(task, base, note_stack_vma, &found, 0) || base >= found.end ||
		    base < found.start)
			return stack_copy_size;
		sv->start = found.start;
		sv->end = found.end;
		sv->seen_ns = now;
	}
	room = frames_end(task, base, sv->end) - base;
	return room < stack_copy_size ? room : stack_copy_size;
}

/*
 * DWARF mode: sends the caller's registers and the top of its stack to the
 * daemon, which unwinds them. Returns the sample's sequence number (0 on
 * loss). The copy goes page by page so that it stops exactly where the
 * stack mapping ends instead of failing as a whole.
 */
static __always_inline __u64 send_stack_copy(struct pt_regs *ctx, __u32 tgid, struct ht_target *t,
					     bool at_probe)
{
	__u32 cpu = bpf_get_smp_processor_id(), i;
	__u64 copied = 0, chunk; /* 64-bit: bounds checks then hold on the registers used */
	struct stack_event_buf *buf;
	__u64 entry_sp = PT_REGS_SP(ctx), base, addr, room;

	buf = bpf_map_lookup_elem(&stack_event_scratch, &cpu);
	if (!buf)
		return 0;
	if (at_probe) {
		/*
		 * A USDT site: unwound from where it is; the daemon hides the sampler's
		 * frames. The unwinder takes ip for a return address and reads the
		 * first frame's CFI at ip - 1: one past the site puts that at the site.
		 */
		buf->regs.ip = PT_REGS_IP(ctx) + 1;
		base = entry_sp;
	} else if (bpf_probe_read_user(&buf->regs.ip, sizeof(__u64), (void *)entry_sp)) {
		count(&t->stack_errors);
		return 0;
	} else {
		/* At the allocator's first instruction the callee-saved registers are still the
		 * caller's. */
		base = entry_sp + 8;
	}
	buf->regs.sp = base;
	buf->regs.bp = ctx->bp;
	buf->regs.bx = ctx->bx;
	buf->regs.r12 = ctx->r12;
	buf->regs.r13 = ctx->r13;
	buf->regs.r14 = ctx->r14;
	buf->regs.r15 = ctx->r15;

	room = stack_room(base);
	for (i = 0; i < HT_MAX_STACK_COPY / 4096 + 1; i++) {
		if (copied >= room)
			break;
		addr = base + copied;
		chunk = 4096 - (addr & 4095);
		if (chunk > room - copied)
			chunk = room - copied;
		/* Re-bound the very register passed to the helper, for the verifier. */
		asm volatile("%0 &= 0x1fff" : "+r"(chunk));
		if (chunk > 4096)
			break;
		if (bpf_probe_read_user(&buf->stack[copied & (HT_MAX_STACK_COPY - 1)], chunk,
					(void *)addr))
			break;
		copied += chunk;
	}
	buf->stack_len = (__u32)copied;
	buf->hdr.type = HT_EV_STACK;
	buf->hdr.tgid = tgid;
	buf->hdr.seq = __sync_fetch_and_add(&next_seq, 1);
	if (copied > HT_MAX_STACK_COPY)
		return 0;
	if (bpf_ringbuf_output(&events, buf, sizeof(struct ht_stack_event) + copied,
			       sample_wakeup(sizeof(struct ht_stack_event) + copied))) {
		count(&t->lost_events);
		return 0;
	}
	return buf->hdr.seq;
}

/*
 * ---- Uprobe sessions (link type BPF_TRACE_UPROBE_SESSION) ----
 *
 * One program per allocating entry point runs at the entry and, only when
 * that run returned 0, again at the return. So an unsampled call that needs
 * no bookkeeping arms no return probe: one trap instead of two. The loader
 * loads these programs (and sets their attach type, which libbpf 1.1 cannot
 * name) only when the kernel can create session links; otherwise they stay
 * unloaded and the uprobe + uretprobe programs do the work.
 *
 * Per-thread state is one task-local record: the sampling budget and the
 * outermost tracked call (what `inflight` holds for the classic programs).
 * A call is tracked (its return run armed) when it is sampled, or when it
 * can call another entry point or must free an old block (always_track):
 * the record is then the nesting marker that makes inner calls count once.
 * The session cookie holds the tracked call's entry stack pointer, so a
 * return run only completes the record its own entry wrote.
 */
extern bool bpf_session_is_return(void) __ksym __weak;
extern __u64 *bpf_session_cookie(void) __ksym __weak;

/*
 * An unsampled forwarder's call in progress (HT_COOKIE_FORWARDER): the
 * inner call it makes is part of it, already judged by its sampling
 * decision. No return run tells when it ends, so the inner call proves it
 * belongs: its return address (the word at its stack pointer, pushed by
 * that very call) lies in the forwarder's code, [lo, hi), a little deeper
 * on the stack; or, for a forwarder that jumps to another (operator new[]
 * to operator new), the stack pointer is the same and so is the return
 * address. The first inner call that is not a forwarder consumes it.
 */
struct fwd_marker {
	__u64 sp;  /* the forwarder's entry stack pointer; 0: none */
	__u64 ret; /* the word at sp then: its caller's return address */
	__u64 lo;  /* the code of the innermost forwarder entered so far */
	__u64 hi;
	__u64 epoch;
};

/* An inner call sits this close below its forwarder's entry (their frames are small). */
#define HT_FORWARDER_FRAME_MAX 4096

/*
 * A signal handler's frames lie below the signal frame the kernel pushes
 * under the interrupted stack pointer: past the 128-byte red zone, the FPU
 * state (512 bytes at the least) and struct rt_sigframe (about 440), so
 * more than this far below it. An allocator's own nested call (realloc's
 * malloc) sits within its caller's small frame, far closer.
 */
#define HT_SIGFRAME_MIN 1024

struct session_thread {
	struct thread_state sampler; /* bytes until the next sample */
	struct ht_inflight call;     /* entry_sp == 0: no call tracked */
	struct fwd_marker fwd;
	/*
	 * A signal delivered while `call` was in progress: the stack pointer it
	 * interrupted (0: none), and the handler's own tracked call, so that the
	 * handler's allocations count as calls of their own rather than as
	 * nested in the one they interrupted. sig2_sp: a second signal, which
	 * interrupted sig_call; its handler's calls are counted as lost.
	 */
	__u64 sig_sp;
	__u64 sig2_sp;
	struct ht_inflight sig_call;
};

/* Whether a call at `sp` runs in a signal handler that interrupted a call (see sig_sp). */
static __always_inline bool in_handler(__u64 sig_sp, const struct ht_inflight *interrupted,
				       __u64 sp)
{
	/* Below the signal frame, or above the interrupted call: on a sigaltstack. */
	return sig_sp && (sp + HT_SIGFRAME_MIN < sig_sp || sp > interrupted->entry_sp);
}

/* The code range of the forwarder whose probe at `ip` carries `cookie`. */
static __always_inline void forwarder_code(struct pt_regs *ctx, __u64 cookie, __u64 *lo, __u64 *hi)
{
	*lo = PT_REGS_IP(ctx) - HT_COOKIE_PROBE_OFF(cookie);
	*hi = *lo + HT_COOKIE_FUNC_SIZE(cookie);
}

/*
 * Whether a call entering at `sp` belongs to the forwarder call `f` left
 * (see struct fwd_marker). A stale marker (its forwarder threw, or the
 * probes were taken off meanwhile) fails these tests: the word at a call's
 * stack pointer is the return address its caller just pushed.
 */
static __always_inline bool forwarder_holds(const struct fwd_marker *f, __u64 sp, bool is_fwd,
					    __u64 lo)
{
	__u64 ret;

	if (f->epoch != probe_epoch || sp > f->sp)
		return false;
	if (sp < f->sp && f->sp - sp > HT_FORWARDER_FRAME_MAX)
		return false;
	/* Same depth: only one forwarder jumping to another, never one to itself (a loop). */
	if (sp == f->sp && (!is_fwd || lo == f->lo))
		return false;
	if (bpf_probe_read_user(&ret, sizeof(ret), (void *)sp))
		return false;
	return sp == f->sp ? ret == f->ret : ret >= f->lo && ret < f->hi;
}

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct session_thread);
} session_threads SEC(".maps");

/*
 * Whether a call entering with stack pointer `sp` runs inside the thread's
 * tracked call `outer`: deeper on the stack, or at the same depth from an
 * entry point that may tail-call another (operator new[] jumps to operator
 * new, realloc(NULL) may jump to malloc; the return address is then already
 * the outer call's return probe trampoline, useless as a caller). Not from
 * malloc or calloc: a loop's next call sits at the same depth too, and a
 * record whose return run never came would otherwise hide it.
 */
static __always_inline bool nested_in(const struct ht_inflight *outer, __u64 sp, __u64 now)
{
	if (outer->epoch != probe_epoch || now - outer->time_ns >= HT_NESTING_WINDOW_NS)
		return false;
	if (sp < outer->entry_sp)
		return true;
	/* malloc and calloc never call another entry point: their loop siblings
	 * are the common case worth keeping apart. */
	return sp == outer->entry_sp && outer->entry != HT_MALLOC && outer->entry != HT_CALLOC;
}
/*
 * What an entry program reads from its arguments, by its signature
 * (HT_SIGNATURES in entry_kinds.h).
 */
struct call_args {
	__u64 size; /* requested bytes */
	__u64 ptr;  /* the block released or resized (free, realloc's old block) */
	__u64 out;  /* where the block is written (posix_memalign's memptr) */
};

/*
 * n * size into *bytes. An overflowing request fails in the allocator:
 * false, nothing to count.
 */
static __always_inline bool array_bytes(__u64 n, __u64 size, __u64 *bytes)
{
	__u64 limit;

	if (size) {
		limit = ~0ull / size;
		/* Keep clang from turning this into a 128-bit multiply BPF lacks. */
		asm volatile("" : "+r"(limit));
		if (n > limit)
			return false;
	}
	*bytes = n * size;
	return true;
}

/*
 * One reader per signature, named after it; false when the call has
 * nothing to count.
 */
static __always_inline bool args_PTR(struct pt_regs *ctx, struct call_args *a)
{
	a->ptr = PT_REGS_PARM1(ctx);
	return true;
}

static __always_inline bool args_SIZE(struct pt_regs *ctx, struct call_args *a)
{
	a->size = PT_REGS_PARM1(ctx);
	return true;
}

/* pvalloc rounds the request up to whole pages, and 0 to one page. */
static __always_inline bool args_PAGES(struct pt_regs *ctx, struct call_args *a)
{
	__u64 size = PT_REGS_PARM1(ctx);

	a->size = size ? (size + page_size - 1) & ~(page_size - 1) : page_size;
	return true;
}

static __always_inline bool args_N_SIZE(struct pt_regs *ctx, struct call_args *a)
{
	return array_bytes(PT_REGS_PARM1(ctx), PT_REGS_PARM2(ctx), &a->size);
}

static __always_inline bool args_PTR_SIZE(struct pt_regs *ctx, struct call_args *a)
{
	a->ptr = PT_REGS_PARM1(ctx);
	a->size = PT_REGS_PARM2(ctx);
	return true;
}

static __always_inline bool args_PTR_N_SIZE(struct pt_regs *ctx, struct call_args *a)
{
	a->ptr = PT_REGS_PARM1(ctx);
	return array_bytes(PT_REGS_PARM2(ctx), PT_REGS_PARM3(ctx), &a->size);
}

static __always_inline bool args_ALIGN_SIZE(struct pt_regs *ctx, struct call_args *a)
{
	a->size = PT_REGS_PARM2(ctx);
	return true;
}

static __always_inline bool args_OUT_ALIGN_SIZE(struct pt_regs *ctx, struct call_args *a)
{
	a->out = PT_REGS_PARM1(ctx);
	a->size = PT_REGS_PARM3(ctx);
	return true;
}

/* Only a new arena-sized mapping is a pymalloc arena; mmap's other calls count nothing. */
static __always_inline bool args_ARENA(struct pt_regs *ctx, struct call_args *a)
{
	if (PT_REGS_PARM1(ctx) != 0 || PT_REGS_PARM2(ctx) != HT_PY_ARENA_SIZE)
		return false;
	/*
	 * Read again, as a value the verifier does not know: a size known to
	 * be the constant defeats its state pruning in the sampling code (the
	 * program then exceeds its instruction budget).
	 */
	a->size = *(volatile unsigned long *)&PT_REGS_PARM2(ctx);
	return true;
}

/* What begin_call made of a call. */
enum call_verdict {
	CALL_INSIDE,	/* part of an outer call: neither counted nor tracked */
	CALL_UNTRACKED, /* counted; its return needs no run */
	CALL_TRACKED,	/* counted; *call is to be completed by its return run */
	CALL_SIGNAL, /* in a signal handler that interrupted the outer call: see begin_signal_call */
};

/* The tail of an entry: the stack of a sampled call, and the record its return completes. */
static __always_inline enum call_verdict record_call(struct pt_regs *ctx, __u32 tgid,
						     struct ht_target *t, __u32 entry,
						     const struct call_args *a, bool always_track,
						     bool sampled, struct ht_inflight *call,
						     __u64 now)
{
	call->stack_id = 0;
	if (sampled)
		call->stack_id = unwind_mode == HT_UNWIND_DWARF
				     ? send_stack_copy(ctx, tgid, t, false)
				     : capture_stack(ctx, tgid, t, false);
	call->sampled = call->stack_id != 0;
	if (!call->sampled && !always_track)
		return CALL_UNTRACKED;
	call->entry_sp = PT_REGS_SP(ctx);
	call->time_ns = now ? now : bpf_ktime_get_ns();
	call->epoch = probe_epoch;
	call->size = a->size;
	call->old_addr = a->ptr;
	call->out_ptr = a->out;
	call->entry = entry;
	return CALL_TRACKED;
}

/*
 * The entry of an allocating call, for the classic programs and the
 * session ones alike: skip a call nested in the thread's tracked call
 * `outer` (NULL: none), count it, sample it, and fill `call` when it must
 * be remembered until its return. `always_track` entry points are
 * remembered even when not sampled, because they may call another entry
 * point internally or must free an old block on return.
 *
 * `st` is the session programs' thread state (NULL for the classic ones):
 * there `outer` and `call` are both st->call, the sampling budget is
 * st->sampler, and an unsampled forwarder (HT_COOKIE_FORWARDER) leaves a
 * marker instead of a tracked call.
 */
static __always_inline enum call_verdict
begin_call(struct pt_regs *ctx, __u32 tgid, struct ht_target *t, __u32 entry,
	   const struct call_args *a, bool always_track, const struct ht_inflight *outer,
	   struct session_thread *st, struct ht_inflight *call)
{
	__u64 sp = PT_REGS_SP(ctx), now = 0, attach = 0, lo = 0, hi = 0;
	bool is_fwd = false, sampled;

	/* The clock only when there is something to time: most calls have no outer call. */
	if (outer && outer->entry_sp) {
		now = bpf_ktime_get_ns();
		/* The handler of a signal that interrupted the outer call: its calls
		 * are its own (the session programs only; see sig_sp). */
		if (st && st->sig_sp && outer->epoch == probe_epoch &&
		    now - outer->time_ns < HT_NESTING_WINDOW_NS &&
		    in_handler(st->sig_sp, outer, sp))
			return CALL_SIGNAL;
		if (nested_in(outer, sp, now)) {
			/* The classic programs keep one record a thread: a signal
			 * handler's call inside it cannot be followed, only counted. */
			if (!st && in_handler(outer->sig_sp, outer, sp))
				count(&t->lost_signal);
			return CALL_INSIDE;
		}
	}
	if (st) {
		st->sig_sp = 0;
		st->sig2_sp = 0;
		st->sig_call.entry_sp = 0;
		/* Not nested in: a record left by a call that never returned
		 * (an exception out of operator new) is dropped here. */
		st->call.entry_sp = 0;
		attach = bpf_get_attach_cookie(ctx);
		is_fwd = attach & HT_COOKIE_FORWARDER;
		if (is_fwd)
			forwarder_code(ctx, attach, &lo, &hi);
		if (st->fwd.sp) {
			if (forwarder_holds(&st->fwd, sp, is_fwd, lo)) {
				/* A forwarder passing it on: its code calls the next. */
				if (is_fwd) {
					st->fwd.lo = lo;
					st->fwd.hi = hi;
				} else {
					st->fwd.sp = 0;
				}
				return CALL_INSIDE;
			}
			st->fwd.sp = 0;
		}
	}

	count_call(tgid, t);
	sampled = should_sample(st ? &st->sampler : NULL, a->size);
	/* The common case: nothing to record, no return run. */
	if (!sampled && !always_track)
		return CALL_UNTRACKED;
	if (!sampled && is_fwd) {
		/* Its inner call is part of this one: say so without a return run. */
		if (bpf_probe_read_user(&st->fwd.ret, sizeof(st->fwd.ret), (void *)sp))
			return CALL_UNTRACKED;
		st->fwd.sp = sp;
		st->fwd.lo = lo;
		st->fwd.hi = hi;
		st->fwd.epoch = probe_epoch;
		return CALL_UNTRACKED;
	}

	return record_call(ctx, tgid, t, entry, a, always_track, sampled, call, now);
}

/*
 * A call of a signal handler that interrupted the thread's tracked call:
 * judged against the handler's own tracked call (st->sig_call), counted and
 * sampled like any other. Forwarder markers are left to the interrupted
 * code. A call of a handler that interrupted the handler's own call is
 * counted as lost: one level is followed.
 */
static __always_inline enum call_verdict
begin_signal_call(struct pt_regs *ctx, __u32 tgid, struct ht_target *t, __u32 entry,
		  const struct call_args *a, bool always_track, struct session_thread *st)
{
	__u64 sp = PT_REGS_SP(ctx), now = bpf_ktime_get_ns();
	bool sampled;

	if (st->sig_call.entry_sp && nested_in(&st->sig_call, sp, now)) {
		if (in_handler(st->sig2_sp, &st->sig_call, sp))
			count(&t->lost_signal);
		return CALL_INSIDE;
	}
	st->sig_call.entry_sp = 0;
	st->sig2_sp = 0;
	count_call(tgid, t);
	sampled = should_sample(&st->sampler, a->size);
	if (!sampled && !always_track)
		return CALL_UNTRACKED;
	return record_call(ctx, tgid, t, entry, a, always_track, sampled, &st->sig_call, now);
}

/* The classic entry programs' part: the tracked call goes to `inflight`, for alloc_return. */
static __always_inline int classic_entry(struct pt_regs *ctx, __u32 entry,
					 const struct call_args *a, bool always_track)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32, tid = (__u32)id;
	struct ht_inflight *outer, call = {};
	struct ht_target *t;

	t = lookup_target(tgid);
	if (!t)
		return 0;
	outer = bpf_map_lookup_elem(&inflight, &tid);
	switch (begin_call(ctx, tgid, t, entry, a, always_track, outer, NULL, &call)) {
	case CALL_INSIDE:
	case CALL_SIGNAL: /* only for the session programs */
		return 0;
	case CALL_UNTRACKED:
		/* A stale outer record would misjudge the next call's nesting. */
		if (outer)
			bpf_map_delete_elem(&inflight, &tid);
		return 0;
	case CALL_TRACKED:
		break;
	}
	if (bpf_map_update_elem(&inflight, &tid, &call, BPF_ANY))
		count(&t->lost_inflight);
	return 0;
}

/*
 * Compare-and-swap attempts on a slot stack's head before giving up: losing
 * a race takes a few nanoseconds of another thread's, so even 8 threads
 * freeing at once settle within a few tries. A slot that could not be
 * pushed stays out of the stack (a hole a fork steps over).
 */
#define HT_SLOT_TRIES 32

/* The next head of a slot stack: `top` on top, the tag moved on. */
static __always_inline __u64 slot_head_after(__u64 head, __u32 top)
{
	return ((head >> 32) + 1) << 32 | top;
}

/* Pops a free slot of `t` (slot + 1), or 0 when its stack is empty. */
static __always_inline __u32 slot_pop(__u32 tgid, struct ht_target *t)
{
	struct ht_slot_key k = { .tgid = tgid };
	__u64 head, *s;
	int i;

	for (i = 0; i < HT_SLOT_TRIES; i++) {
		head = *(volatile __u64 *)&t->slot_head;
		if (!(__u32)head)
			return 0;
		k.slot = (__u32)head - 1;
		s = bpf_map_lookup_elem(&live_slots, &k);
		if (!s)
			return 0; /* a slot removed under us: take a new one */
		/* A stale read of *s fails the swap: the tag has moved since. */
		if (__sync_val_compare_and_swap(&t->slot_head, head,
						slot_head_after(head, (__u32)*s)) == head)
			return k.slot + 1;
	}
	return 0;
}

/* A slot of `t` (slot + 1) holding `addr`, or 0 when none can be had. */
static __always_inline __u32 slot_take(__u32 tgid, struct ht_target *t, __u64 addr)
{
	struct ht_slot_key k = { .tgid = tgid };
	__u32 slot = slot_pop(tgid, t);
	__u64 used;

	if (slot) {
		k.slot = slot - 1;
		if (bpf_map_update_elem(&live_slots, &k, &addr, BPF_EXIST) == 0)
			return slot;
		return 0;
	}
	used = __sync_fetch_and_add(&t->slots_used, 1);
	if (used < max_slots) {
		k.slot = (__u32)used;
		if (bpf_map_update_elem(&live_slots, &k, &addr, BPF_ANY) == 0)
			return k.slot + 1;
	}
	/* Given back if no other slot was taken since, so a full map does not widen the range. */
	__sync_val_compare_and_swap(&t->slots_used, used + 1, used);
	return 0;
}

/* Pushes slot `slot` (+ 1) of `t` back on its stack. */
static __always_inline void slot_put(__u32 tgid, struct ht_target *t, __u64 slot)
{
	struct ht_slot_key k = { .tgid = tgid, .slot = (__u32)slot - 1 };
	__u64 head, *s;
	int i;

	if (!slot)
		return;
	s = bpf_map_lookup_elem(&live_slots, &k);
	if (!s)
		return;
	for (i = 0; i < HT_SLOT_TRIES; i++) {
		head = *(volatile __u64 *)&t->slot_head;
		*s = HT_SLOT_FREE | (__u32)head;
		if (__sync_val_compare_and_swap(&t->slot_head, head,
						slot_head_after(head, (__u32)slot)) == head)
			return;
	}
}

/*
 * Adds a live block of `t`, with a slot. The filter's slot is raised first,
 * so a free never misses it. An entry already there (a free not seen) is
 * replaced in place and keeps its slot: 1, not 0, so that live_blocks
 * counts entries exactly. A negative errno when no entry could be made.
 */
static __always_inline long live_add(struct ht_live_key *key, struct ht_live_val *val, __u64 flags,
				     struct ht_target *t)
{
	__u32 *slot = &live_filter[ht_live_slot(key->addr) & (HT_LIVE_FILTER_SLOTS - 1)];
	struct ht_live_val *old = bpf_map_lookup_elem(&live, key);
	long err;

	if (old) {
		if (flags == BPF_NOEXIST)
			return -EEXIST;
		val->slot = old->slot;
		if (bpf_map_update_elem(&live, key, val, BPF_EXIST) == 0)
			return 1;
	}
	val->slot = slot_take(key->tgid, t, key->addr);
	if (!val->slot)
		return -E2BIG;
	__sync_fetch_and_add(slot, 1);
	err = bpf_map_update_elem(&live, key, val, flags);
	if (err) {
		__sync_fetch_and_add(slot, -1); /* BPF has no atomic subtract */
		slot_put(key->tgid, t, val->slot);
	}
	return err;
}

/* Removes a live block of `t` that had slot `slot`; 0 when this call removed it. */
static __always_inline long live_delete(struct ht_live_key *key, __u64 slot, struct ht_target *t)
{
	long err = bpf_map_delete_elem(&live, key);

	if (!err) {
		__sync_fetch_and_add(
		    &live_filter[ht_live_slot(key->addr) & (HT_LIVE_FILTER_SLOTS - 1)], -1);
		slot_put(key->tgid, t, slot);
	}
	return err;
}

/* Whether `addr` may be a live sampled block of some process. */
static __always_inline bool maybe_live(__u64 addr)
{
	return live_filter[ht_live_slot(addr) & (HT_LIVE_FILTER_SLOTS - 1)] != 0;
}

/* Moves a live sampled block out of in-use. A block not tracked costs one array read. */
static __always_inline void untrack_block(__u32 tgid, __u64 addr, struct ht_target *t)
{
	struct ht_live_key lk = { .tgid = tgid, .addr = addr };
	struct ht_agg_key ak = { .tgid = tgid };
	struct ht_live_val *lv;
	struct ht_agg_val *av;
	__u64 slot;

	if (!maybe_live(addr))
		return;
	lv = bpf_map_lookup_elem(&live, &lk);
	if (!lv)
		return;
	slot = lv->slot; /* read before the entry goes */
	if (unwind_mode == HT_UNWIND_DWARF) {
		struct ht_free_event ev = {
			.hdr = { .type = HT_EV_FREE, .tgid = tgid, .seq = lv->stack_id },
			.size = lv->size,
		};

		/* Only the deleter reports, so a racing double free cannot count twice. */
		if (live_delete(&lk, slot, t) == 0) {
			__sync_fetch_and_add(&t->live_blocks, -1);
			count(&t->frees_tracked);
			if (bpf_ringbuf_output(&events, &ev, sizeof(ev), sample_wakeup(sizeof(ev))))
				count(&t->lost_events);
		}
		return;
	}
	ak.stack_id = lv->stack_id;
	av = bpf_map_lookup_elem(&aggs, &ak);
	if (av) {
		__sync_fetch_and_add(&av->free_objects, 1);
		__sync_fetch_and_add(&av->free_bytes, lv->size);
	}
	/* Only the deleter counts, so a racing double free cannot count twice. */
	if (live_delete(&lk, slot, t) == 0) {
		__sync_fetch_and_add(&t->live_blocks, -1);
		count(&t->frees_tracked);
	}
}

/* DWARF mode: the daemon keeps the counters; tell it how the sampled call ended. */
static __always_inline void report_sample(__u32 tgid, __u64 addr, __u64 size, __u64 seq,
					  struct ht_target *t)
{
	struct ht_live_key lk = { .tgid = tgid, .addr = addr };
	struct ht_live_val lv = { .stack_id = seq, .size = size };
	struct ht_alloc_event ev = {
		.hdr = { .type = HT_EV_ALLOC, .tgid = tgid, .seq = seq },
		.addr = addr,
		.size = size,
	};
	struct ht_free_event fev = {
		.hdr = { .type = HT_EV_FREE, .tgid = tgid, .seq = seq },
		.size = size,
	};
	long err;

	/* Sent before the block is live, so no free event can overtake it. */
	if (bpf_ringbuf_output(&events, &ev, sizeof(ev), sample_wakeup(sizeof(ev)))) {
		count(&t->lost_events);
		return;
	}
	if (!addr)
		return;
	count(&t->samples);
	if (alloc_only) {
		if (bpf_ringbuf_output(&events, &fev, sizeof(fev), sample_wakeup(sizeof(fev))))
			count(&t->lost_events);
		return;
	}
	lv.time_ns = bpf_ktime_get_ns();
	err = live_add(&lk, &lv, BPF_ANY, t);
	if (err < 0) {
		/* Its free would never be seen: count it freed now, and say so. */
		count(&t->lost_live_full);
		if (bpf_ringbuf_output(&events, &fev, sizeof(fev), sample_wakeup(sizeof(fev))))
			count(&t->lost_events);
		return;
	}
	if (!err)
		count(&t->live_blocks);
}

static __always_inline void record_sample(__u32 tgid, __u64 addr, __u64 size, __u64 stack_id,
					  struct ht_target *t)
{
	struct ht_agg_key ak = { .tgid = tgid, .stack_id = stack_id };
	struct ht_live_key lk = { .tgid = tgid, .addr = addr };
	struct ht_live_val lv = { .stack_id = stack_id, .size = size };
	struct ht_agg_val zero = {}, *av;
	long err;

	av = bpf_map_lookup_elem(&aggs, &ak);
	if (!av) {
		bpf_map_update_elem(&aggs, &ak, &zero, BPF_NOEXIST);
		av = bpf_map_lookup_elem(&aggs, &ak);
		if (!av) {
			count(&t->lost_agg_full);
			return;
		}
	}
	__sync_fetch_and_add(&av->alloc_objects, 1);
	__sync_fetch_and_add(&av->alloc_bytes, size);
	count(&t->samples);

	if (alloc_only) {
		__sync_fetch_and_add(&av->free_objects, 1);
		__sync_fetch_and_add(&av->free_bytes, size);
		return;
	}
	lv.time_ns = bpf_ktime_get_ns();
	err = live_add(&lk, &lv, BPF_ANY, t);
	if (err < 0) {
		/* Untracked, its free would never be seen: keep in-use honest by
		 * not counting it as live, and say so. */
		__sync_fetch_and_add(&av->free_objects, 1);
		__sync_fetch_and_add(&av->free_bytes, size);
		count(&t->lost_live_full);
		return;
	}
	if (!err)
		count(&t->live_blocks);
}

/* A tracked call returned `ret`: account its old block and its sample. */
static __always_inline void finish_call(struct ht_inflight *call, long ret, __u32 tgid,
					struct ht_target *t)
{
	__u64 addr = 0;

	if (call->entry == HT_POSIX_MEMALIGN) {
		if (ret == 0 && call->out_ptr)
			bpf_probe_read_user(&addr, sizeof(addr), (void *)call->out_ptr);
	} else {
		addr = (__u64)ret;
	}
	/* mmap fails with MAP_FAILED, not NULL. */
	if (call->entry == HT_PY_ARENA && ret == -1)
		addr = 0;

	/* xallocx returns the usable size: at least the request means it resized in place. */
	if (call->entry == HT_XALLOCX)
		addr = (__u64)ret >= call->size ? call->old_addr : 0;

	/* realloc frees its old block when it succeeds, and when asked for 0 bytes. */
	if (!alloc_only && (call->entry == HT_REALLOC || call->entry == HT_REALLOCARRAY) &&
	    call->old_addr && (addr || call->size == 0))
		untrack_block(tgid, call->old_addr, t);
	/* rallocx and xallocx release the old block only when a (re)sized one replaces it. */
	if (!alloc_only && (call->entry == HT_RALLOCX || call->entry == HT_XALLOCX) &&
	    call->old_addr && addr)
		untrack_block(tgid, call->old_addr, t);

	if (call->sampled && unwind_mode == HT_UNWIND_DWARF)
		report_sample(tgid, addr, call->size, call->stack_id, t);
	else if (addr && call->sampled)
		record_sample(tgid, addr, call->size, call->stack_id, t);
}

SEC("uretprobe")
int BPF_KRETPROBE(alloc_return, long ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32, tid = (__u32)id;
	struct ht_inflight *call;
	struct ht_target *t;

	call = bpf_map_lookup_elem(&inflight, &tid);
	if (!call)
		return 0;
	/* Returns of nested calls pass through here too; ours pops the return address. */
	if (call->entry_sp + 8 != PT_REGS_SP(ctx))
		return 0;
	t = live_target(tgid);
	if (t)
		finish_call(call, ret, tgid, t);
	bpf_map_delete_elem(&inflight, &tid);
	return 0;
}

/* A free-class entry point (free_entry): releases the sampled block at `ptr`, if any. */
static __always_inline int free_call(__u64 ptr)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct ht_target *t;

	/* The filter first: most frees are of blocks never sampled, of any process. */
	if (!ptr || !maybe_live(ptr))
		return 0;
	t = live_target(tgid);
	if (!t)
		return 0;
	untrack_block(tgid, ptr, t);
	return 0;
}

/*
 * Process lifecycle. An exec freezes the target (its old image's data stays
 * for the daemon's final profile; the new image is not mixed in) and tells
 * the daemon, which writes that profile, removes the entry and traces the
 * new image as a new series. The exit of the last thread freezes it too, so
 * that a new process given the same PID before the daemon removed the entry
 * is not counted as this one.
 */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(on_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct ht_target *t = bpf_map_lookup_elem(&targets, &tgid);

	if (!t) {
		/* The name is the new image's already: the filter sees what it will be. */
		if (watch_execs && tgid != self_tgid && wanted_process())
			send_proc_event(HT_EV_EXEC, tgid, 0, 0);
		return 0;
	}
	if (t->frozen)
		return 0;
	t->frozen = HT_FROZEN_EXEC;
	send_proc_event(HT_EV_EXEC, tgid, 0, 0);
	return 0;
}

/*
 * BTF-typed like the other lifecycle programs: a classic tracepoint needs
 * tracefs mounted, which a fresh machine may not have.
 */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(on_exit, struct task_struct *p, bool group_dead)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct ht_target *t;

	if (!group_dead)
		return 0;
	t = bpf_map_lookup_elem(&targets, &tgid);
	if (t && !t->frozen)
		t->frozen = HT_FROZEN_EXIT;
	return 0;
}

/*
 * A signal about to run its handler in a traced thread that is inside a
 * tracked allocator call (session programs): remember where it interrupted
 * the thread, so the handler's own allocations are told apart from the
 * call's nested ones (see in_handler()). Signals are rare; this costs a
 * lookup each.
 */
SEC("tp_btf/signal_deliver")
int BPF_PROG(on_signal, int sig, struct kernel_siginfo *info, struct k_sigaction *ka)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32, tid;
	struct task_struct *task;
	struct session_thread *st;
	struct ht_inflight *rec;
	__u64 sp;

	/* SIG_DFL (0) and SIG_IGN (1) run no handler. */
	if ((unsigned long)BPF_CORE_READ(ka, sa.sa_handler) <= 1 ||
	    !bpf_map_lookup_elem(&targets, &tgid))
		return 0;
	task = bpf_get_current_task_btf();
	sp = PT_REGS_SP((struct pt_regs *)bpf_task_pt_regs(task));
	tid = (__u32)bpf_get_current_pid_tgid();
	rec = bpf_map_lookup_elem(&inflight, &tid);
	if (rec && rec->entry_sp && !rec->sig_sp && sp <= rec->entry_sp)
		rec->sig_sp = sp;
	st = bpf_task_storage_get(&session_threads, task, 0, 0);
	if (!st || !st->call.entry_sp)
		return 0;
	if (!st->sig_sp) {
		if (sp <= st->call.entry_sp)
			st->sig_sp = sp;
	} else if (st->sig_call.entry_sp && sp <= st->sig_call.entry_sp) {
		st->sig2_sp = sp;
	}
	return 0;
}

/*
 * The OOM killer chose `task`: marked in its entry, read with its final
 * profile. Loaded only where the tracepoint takes the task (Linux 6.8+;
 * before, it took a PID): the loader checks the kernel's BTF first.
 */
SEC("?tp_btf/mark_victim")
int BPF_PROG(on_mark_victim, struct task_struct *task, uid_t uid)
{
	__u32 tgid = task->tgid;
	struct ht_target *t = bpf_map_lookup_elem(&targets, &tgid);

	if (t)
		t->oom_victim_ns = bpf_ktime_get_ns();
	return 0;
}

/*
 * What a fork's visit of the parent's slots needs: whose blocks, for whom.
 * Read-only: a counter kept here would give the verifier a new state per
 * iteration.
 */
struct inherit_ctx {
	__u32 ptgid;
	__u32 ctgid;
	__u64 salt; /* parent's stack id ^ salt = the child's */
};

/*
 * After one of the parent's blocks: 1 (stop) once the child has seen as
 * many as the parent has (copied or lost), the rest of the parent's slots
 * being free ones.
 */
static __always_inline long inherit_next(struct ht_target *ct, const struct inherit_ctx *c)
{
	struct ht_target *pt = bpf_map_lookup_elem(&targets, &c->ptgid);

	return pt && ct->live_blocks + ct->lost_inherited >= pt->live_blocks;
}

static __always_inline void inherit_lost(struct ht_target *ct, bool event_lost)
{
	count(&ct->lost_inherited);
	if (event_lost)
		count(&ct->lost_events);
}

/* The child's copy of the parent's stack `pid` as `cid`; false when the stacks map is full. */
static __always_inline bool inherit_stack(__u64 pid, __u64 cid, __u32 ctgid)
{
	struct ht_stack *src, *st;
	__u32 zero = 0;
	long err;

	if (bpf_map_lookup_elem(&stacks, &cid))
		return true;
	src = bpf_map_lookup_elem(&stacks, &pid);
	st = bpf_map_lookup_elem(&scratch, &zero);
	if (!src || !st || bpf_probe_read_kernel(st, sizeof(*st), src))
		return false;
	st->tgid = ctgid;
	err = bpf_map_update_elem(&stacks, &cid, st, BPF_NOEXIST);
	return !err || err == -EEXIST;
}

/*
 * DWARF mode: the child's copy, under the same sequence number, which the
 * daemon copies too. A copy that cannot be made is lost; its free event
 * cancels the daemon's copy, so the child's in-use stays what the kernel
 * tracks.
 */
static __always_inline void inherit_dwarf(struct ht_live_key *ck, struct ht_live_val *cv,
					  struct ht_target *ct)
{
	struct ht_free_event ev = {
		.hdr = { .type = HT_EV_FREE, .tgid = ck->tgid, .seq = cv->stack_id },
		.size = cv->size,
	};
	long err = live_add(ck, cv, BPF_NOEXIST, ct);

	if (!err)
		count(&ct->live_blocks);
	else if (err != -EEXIST)
		inherit_lost(ct, bpf_ringbuf_output(&events, &ev, sizeof(ev),
						    sample_wakeup(sizeof(ev))) != 0);
}

/*
 * Frame-pointer mode: the child's copy, counted as inherited on the child's
 * copy of its stack. A copy that cannot be made is lost.
 */
static __always_inline void inherit_fp(struct ht_live_key *ck, struct ht_live_val *cv,
				       struct ht_target *ct, const struct inherit_ctx *c)
{
	struct ht_agg_key ak = { .tgid = c->ctgid };
	struct ht_agg_val zero = {}, *av = NULL;
	__u64 pid = cv->stack_id;
	long err;

	cv->stack_id = pid ^ c->salt;
	cv->stack_id = cv->stack_id ? cv->stack_id : 1;
	err = live_add(ck, cv, BPF_NOEXIST, ct);
	if (err == -EEXIST)
		return;
	if (err) {
		inherit_lost(ct, false);
		return;
	}
	ak.stack_id = cv->stack_id;
	if (inherit_stack(pid, cv->stack_id, c->ctgid)) {
		av = bpf_map_lookup_elem(&aggs, &ak);
		if (!av) {
			bpf_map_update_elem(&aggs, &ak, &zero, BPF_NOEXIST);
			av = bpf_map_lookup_elem(&aggs, &ak);
		}
	}
	if (!av) {
		live_delete(ck, cv->slot, ct);
		inherit_lost(ct, false);
		return;
	}
	__sync_fetch_and_add(&av->inherited_objects, 1);
	__sync_fetch_and_add(&av->inherited_bytes, cv->size);
	count(&ct->live_blocks);
}

/*
 * Slot `i` of the parent: when it holds a live block, the child gets a copy
 * (same address, size and time).
 */
static long inherit_slot(__u32 i, struct inherit_ctx *c)
{
	struct ht_slot_key sk = { .tgid = c->ptgid, .slot = i };
	struct ht_live_key pk = { .tgid = c->ptgid };
	struct ht_live_key ck = { .tgid = c->ctgid };
	struct ht_target *ct;
	struct ht_live_val cv, *pv;
	__u64 *addr;

	addr = bpf_map_lookup_elem(&live_slots, &sk);
	if (!addr || (*addr & HT_SLOT_FREE))
		return 0;
	pk.addr = ck.addr = *addr;
	pv = bpf_map_lookup_elem(&live, &pk);
	ct = bpf_map_lookup_elem(&targets, &c->ctgid);
	if (!ct)
		return 1;
	if (!pv)
		return 0; /* freed since its slot was read */
	cv = *pv;
	if (unwind_mode == HT_UNWIND_DWARF)
		inherit_dwarf(&ck, &cv, ct);
	else
		inherit_fp(&ck, &cv, ct, c);
	return inherit_next(ct, c);
}

/*
 * --follow-forks: a new process (not a thread) forked by a traced one is
 * traced from its first instruction, and inherits its parent's live sampled
 * blocks: the child has not run yet, so nothing it frees can be missed. The
 * copy visits the parent's slots (struct ht_slot_key), so it costs what the
 * parent's own blocks cost, whatever other processes hold. The parent's
 * other threads may still allocate and free meanwhile (see docs/limits.md).
 * A child sharing its parent's memory (vfork, CLONE_VM) inherits nothing:
 * those blocks stay the parent's.
 */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(on_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = bpf_get_current_pid_tgid() >> 32;
	__u32 ctgid = BPF_CORE_READ(child, tgid), flags = 0;
	struct inherit_ctx c = { .ptgid = ptgid, .ctgid = ctgid };
	struct ht_target *t;
	__u64 slots;

	if (!follow_forks || ctgid != (__u32)BPF_CORE_READ(child, pid))
		return 0;
	t = bpf_map_lookup_elem(&targets, &ptgid);
	if (!t || t->frozen)
		return 0;
	/* Counted here, at the fork: the daemon's view of its children may lag. */
	count(&t->forks);
	/* Nothing to copy, no visit: the fork costs an insert and an event. */
	if (!alloc_only && BPF_CORE_READ(child, mm) != BPF_CORE_READ(parent, mm) && t->live_blocks)
		flags = HT_FORK_INHERIT;
	slots = t->slots_used < max_slots ? t->slots_used : max_slots;
	/* The event goes first: in DWARF mode a lost copy's free event must follow it. */
	t = adopt(ctgid, HT_EV_FORK, ptgid, flags);
	if (!t || !flags)
		return 0;
	c.salt = stack_salt(ptgid) ^ stack_salt(ctgid);
	bpf_loop((__u32)slots, inherit_slot, &c, 0);
	return 0;
}

/*
 * ---- The in-process sampler's USDT probes (provider otel_memory) ----
 *
 * A process that carries them has already chosen its samples: alloc(ptr,
 * size, weighted_bytes) fires only for sampled allocations, free(ptr) only
 * for sampled blocks, so nothing is drawn here and unsampled calls never
 * trap. A sample is recorded as the uprobe path records one (one object of
 * `size` bytes), so the profiles are alike; the sampler's rate is told to
 * the daemon by the smallest sample's weight (usdt_size, usdt_weight), from
 * which it unbiases them as it does its own.
 */
static __always_inline void note_weight(struct ht_target *t, __u64 size, __u64 weighted)
{
	/* The smallest allocation tells the rate most precisely; a race keeps one of two. */
	if (size && (!t->usdt_size || size < t->usdt_size)) {
		t->usdt_weight = weighted;
		t->usdt_size = size;
	}
}

SEC("usdt")
int BPF_USDT(otel_alloc, __u64 ptr, __u64 size, __u64 weighted)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct ht_target *t = live_target(tgid);
	__u64 id;

	if (!t || !ptr)
		return 0;
	note_weight(t, size, weighted);
	if (unwind_mode == HT_UNWIND_DWARF) {
		id = send_stack_copy(ctx, tgid, t, true);
		if (id)
			report_sample(tgid, ptr, size, id, t);
		return 0;
	}
	id = capture_stack(ctx, tgid, t, true);
	if (id)
		record_sample(tgid, ptr, size, id, t);
	return 0;
}

SEC("usdt")
int BPF_USDT(otel_free, __u64 ptr)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct ht_target *t;

	if (!ptr || alloc_only)
		return 0;
	t = live_target(tgid);
	if (t)
		untrack_block(tgid, ptr, t);
	return 0;
}

/* The benchmark's floor (--floor): what the probes cost with nothing to do. */
SEC("uprobe")
int floor_entry(struct pt_regs *ctx)
{
	return 0;
}

SEC("uretprobe")
int floor_return(struct pt_regs *ctx)
{
	return 0;
}

static __always_inline int session_return(struct pt_regs *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct session_thread *st;
	struct ht_target *t;
	__u64 *cookie;

	cookie = bpf_session_cookie();
	st = bpf_task_storage_get(&session_threads, bpf_get_current_task_btf(), 0, 0);
	if (!cookie || !st || !*cookie)
		return 0;
	/* A signal handler's call, done while the call it interrupted goes on. */
	if (st->sig_call.entry_sp == *cookie && st->call.entry_sp != *cookie) {
		t = live_target(tgid);
		if (t)
			finish_call(&st->sig_call, PT_REGS_RC(ctx), tgid, t);
		st->sig_call.entry_sp = 0;
		st->sig2_sp = 0;
		return 0;
	}
	if (st->call.entry_sp != *cookie)
		return 0;
	t = live_target(tgid);
	if (t)
		finish_call(&st->call, PT_REGS_RC(ctx), tgid, t);
	st->call.entry_sp = 0;
	st->sig_sp = 0;
	st->sig2_sp = 0;
	st->sig_call.entry_sp = 0;
	return 0;
}

/* The session programs' part: 0 (run my return) when the call is tracked, 1 otherwise. */
static __always_inline int session_entry(struct pt_regs *ctx, __u32 entry,
					 const struct call_args *a, bool always_track)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct session_thread *st;
	struct ht_inflight *rec;
	enum call_verdict verdict;
	struct ht_target *t;
	__u64 *cookie;

	t = lookup_target(tgid);
	if (!t)
		return 1;
	st = bpf_task_storage_get(&session_threads, bpf_get_current_task_btf(), 0,
				  BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!st) {
		count(&t->lost_inflight);
		return 1;
	}
	rec = &st->call;
	verdict = begin_call(ctx, tgid, t, entry, a, always_track, &st->call, st, &st->call);
	if (verdict == CALL_SIGNAL) {
		verdict = begin_signal_call(ctx, tgid, t, entry, a, always_track, st);
		rec = &st->sig_call;
	}
	if (verdict != CALL_TRACKED)
		return 1;
	/* The cookie ties the return run to this very record. */
	cookie = bpf_session_cookie();
	if (!cookie) {
		rec->entry_sp = 0;
		return 1;
	}
	*cookie = rec->entry_sp;
	return 0;
}

/*
 * The entry programs, from the table (HT_ENTRY_PROGRAMS in entry_kinds.h),
 * one macro per class. An ALLOC row makes <prog>_entry (a uprobe, with
 * alloc_return as its uretprobe) and <prog>_session (a uprobe session).
 * libbpf 1.1 knows no "uprobe.session" section: the session programs load
 * only when the loader asks ("?": autoload off), and it sets their attach
 * type then. A FREE row makes <prog>_entry only: it needs no return.
 */
#define HT_PROGRAMS_ALLOC(ENTRY, prog, SIG, always_track)                                          \
	SEC("uprobe")                                                                              \
	int prog##_entry(struct pt_regs *ctx)                                                      \
	{                                                                                          \
		struct call_args a = {};                                                           \
                                                                                                   \
		if (!args_##SIG(ctx, &a))                                                          \
			return 0;                                                                  \
		return classic_entry(ctx, HT_##ENTRY, &a, always_track);                           \
	}                                                                                          \
                                                                                                   \
	SEC("?uprobe")                                                                             \
	int prog##_session(struct pt_regs *ctx)                                                    \
	{                                                                                          \
		struct call_args a = {};                                                           \
                                                                                                   \
		if (bpf_session_is_return())                                                       \
			return session_return(ctx);                                                \
		if (!args_##SIG(ctx, &a))                                                          \
			return 1;                                                                  \
		return session_entry(ctx, HT_##ENTRY, &a, always_track);                           \
	}

#define HT_PROGRAMS_FREE(ENTRY, prog, SIG, always_track)                                           \
	SEC("uprobe")                                                                              \
	int prog##_entry(struct pt_regs *ctx)                                                      \
	{                                                                                          \
		struct call_args a = {};                                                           \
                                                                                                   \
		args_##SIG(ctx, &a);                                                               \
		return free_call(a.ptr);                                                           \
	}

#define HT_PROGRAMS(ENTRY, prog, SIG, CLASS, always_track)                                         \
	HT_PROGRAMS_##CLASS(ENTRY, prog, SIG, always_track)

HT_ENTRY_PROGRAMS(HT_PROGRAMS)

/* --floor in session mode: one trap at the entry, no return run. */
SEC("?uprobe")
int floor_session(struct pt_regs *ctx)
{
	return 1;
}
