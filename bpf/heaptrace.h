/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * heaptrace.h - the ABI shared by the BPF programs and the daemon.
 *
 * Every map key and value that crosses the kernel/user boundary is defined
 * here, with fixed-width fields only, so that both sides agree on layout.
 * The BPF side includes vmlinux.h first (which defines __u32/__u64); the
 * user side gets them from <linux/types.h>.
 */
#ifndef HEAPTRACE_H
#define HEAPTRACE_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#include "entry_kinds.h"

/* Deepest stack kept per sample: the kernel's default perf_event_max_stack. */
#define HT_MAX_STACK_DEPTH 127

/*
 * Allocator entry points, one per BPF entry program (bpf/entry_kinds.h):
 * HT_MALLOC, HT_CALLOC, ... HT_OPERATOR_NEW (C++ operator new and its
 * variants, jemalloc's mallocx), HT_FREE, HT_RALLOCX (a realloc that never
 * frees on size 0), HT_XALLOCX (resizes in place or not at all).
 */
enum ht_entry {
#define HT_ENTRY_ENUM_(ENTRY, prog, SIG, CLASS, always_track) HT_##ENTRY,
	HT_ENTRY_PROGRAMS(HT_ENTRY_ENUM_)
#undef HT_ENTRY_ENUM_
	    HT_NR_ENTRIES,
};

/*
 * Per traced process: its presence in the targets map is the PID filter,
 * and its counters say what was seen and what was lost. Updated with
 * atomic adds from any CPU.
 */
struct ht_target {
	__u64 calls;	       /* allocation calls seen: those not in call_counts (below) */
	__u64 samples;	       /* sampled allocations recorded */
	__u64 frees_tracked;   /* frees that released a tracked sampled block */
	__u64 lost_live_full;  /* sampled block not tracked: live map full */
	__u64 lost_stack_full; /* sample dropped: stacks map full */
	__u64 lost_agg_full;   /* sample dropped: aggregation map full */
	__u64 lost_inflight;   /* call not followed: in-flight map full */
	__u64 stack_errors;    /* user stack could not be read */
	__u64 lost_events;     /* events ring buffer full: DWARF samples or frees lost */
	__u64 lost_inherited;  /* fork: a parent's sampled block not copied (a map full) */
	/* otel_memory USDT: the smallest sample's size and weight (its sampler's rate). */
	__u64 usdt_size;
	__u64 usdt_weight;
	/*
	 * Non-zero once the process exited (HT_FROZEN_EXIT) or exec'ed
	 * (HT_FROZEN_EXEC): its calls are ignored from then on, so that a new
	 * image, or a new process given the same PID, never adds to this one's
	 * data before the daemon has written it and removed the entry.
	 */
	__u64 frozen;
	/*
	 * Its entries in `live`: raised after an entry is added, lowered after
	 * one is deleted, so never below their number. A fork visits the
	 * parent's slots only when it has some, and stops once it has seen
	 * this many.
	 */
	__u64 live_blocks;
	__u64 slot_head;   /* see struct ht_slot_key */
	__u64 slots_used;  /* slots 0 .. slots_used - 1 exist (or are being made) */
	__u64 lost_signal; /* allocation in a signal handler that could not be followed */
	__u64 forks; /* --follow-forks: children forked (followed or missed: the daemon says) */
	/*
	 * bpf_ktime_get_ns() when the kernel's OOM killer chose the process
	 * (tracepoint mark_victim), else 0: its final profile says so.
	 */
	__u64 oom_victim_ns;
};

/*
 * Allocation calls are counted per CPU (map `call_counts`, a per-CPU array
 * of HT_CALL_SLOTS): one counter in struct ht_target, written by every
 * thread of the process on every call, would move its cache line between
 * CPUs on each call of a multi-threaded target. Slot ht_call_slot(tgid) of
 * a CPU belongs to the first process that counts there (tgid 0: free);
 * a process whose slot another one holds on that CPU counts in
 * ht_target.calls instead. The daemon adds both, and frees a process's
 * slots when it deletes its entry.
 */
#define HT_CALL_SLOT_BITS 12
#define HT_CALL_SLOTS	  (1u << HT_CALL_SLOT_BITS)

struct ht_call_count {
	__u64 tgid; /* 64-bit: BPF's compare-and-swap takes no narrower operand */
	__u64 calls;
};

/* Fibonacci hashing again: consecutive PIDs land far apart. */
static inline __u32 ht_call_slot(__u32 tgid)
{
	return (__u32)((tgid * 0x9e3779b9u) >> (32 - HT_CALL_SLOT_BITS));
}

/*
 * CPython's pymalloc takes its small-object memory from the kernel in
 * arenas of 1 MiB (CPython 3.10 and later on 64-bit), one mmap(NULL,
 * 1 MiB, ...) each, and gives an arena back with munmap when all its
 * objects are gone. Its allocation fast path is inlined all over an
 * optimised interpreter, out of reach of probes; its arenas are not.
 */
#define HT_PY_ARENA_SIZE (1ull << 20)

#define HT_FROZEN_EXIT 1
#define HT_FROZEN_EXEC 2

/*
 * Host-wide counters (BPF global data, .bss): what could not be given to
 * any one process.
 */
struct ht_global_stats {
	__u64 targets_full;	/* processes not traced: the targets map was full */
	__u64 lost_proc_events; /* new-process, exec or fork events lost: ring buffer full */
	__u64 dropped_frozen;	/* calls of an exited or exec'ed process not yet removed */
};

/* Aggregation key: one per (process, stack). */
struct ht_agg_key {
	__u32 tgid;
	__u32 pad;
	__u64 stack_id; /* 64-bit hash of (tgid, frames) */
};

/*
 * Raw (unscaled) counters of sampled allocations for one stack, cumulative
 * since tracing began. In use = alloc - free + inherited: a forked child
 * holds copies of its parent's live sampled blocks (inherited, never its
 * allocations), and its frees of them count as frees.
 */
struct ht_agg_val {
	__u64 alloc_objects;
	__u64 alloc_bytes;
	__u64 free_objects;
	__u64 free_bytes;
	__u64 inherited_objects;
	__u64 inherited_bytes;
};

/*
 * A stack: frames[0] is the return address into the code that called the
 * allocator, then its callers, outermost last. Every frame is a return
 * address, so symbolizers look up frame - 1.
 */
struct ht_stack {
	__u32 tgid;
	__u32 depth;
	__u64 frames[HT_MAX_STACK_DEPTH];
};

/*
 * A counting filter over the addresses of live sampled blocks (BPF global
 * data, mmapped by the daemon): slot ht_live_slot(addr) counts the entries
 * of `live` with that address, whatever their process. Nearly every free is
 * of a block never sampled; a zero slot answers it from one word of a
 * 256 KiB array instead of a hash-map lookup (a cache miss into the map's
 * buckets, which are sized for --max-live). Raised before an entry is
 * added, lowered only after one was deleted (by the BPF side or by the
 * daemon's purge of an ended process), so a slot is never below its count
 * of entries: a free can find a zero slot only for an address not live.
 */
#define HT_LIVE_FILTER_BITS  16
#define HT_LIVE_FILTER_SLOTS (1u << HT_LIVE_FILTER_BITS)

/* Fibonacci hashing: the top bits of a multiply mix the block address's upper bits in. */
static inline __u32 ht_live_slot(__u64 addr)
{
	return (__u32)((addr * 0x9e3779b97f4a7c15ull) >> (64 - HT_LIVE_FILTER_BITS));
}

/* A live sampled block, keyed by (process, address). */
struct ht_live_key {
	__u32 tgid;
	__u32 pad;
	__u64 addr;
};

struct ht_live_val {
	__u64 stack_id;
	__u64 size;
	__u64 time_ns; /* bpf_ktime_get_ns() at allocation */
	__u64 slot;    /* its slot in `live_slots` + 1 */
};

/*
 * A per-process index of `live` (map `live_slots`), so that a fork copies
 * the parent's blocks by visiting the parent's slots, not every bucket of a
 * map that every traced process shares (a million buckets: tens of
 * milliseconds per fork), and the daemon reads one process's blocks the
 * same way. Slot i of process P (key {P, i}) holds the address of one of
 * P's live blocks or, while free, HT_SLOT_FREE | the next free slot + 1.
 * The free slots form a lock-free stack whose head (ht_target.slot_head:
 * free slot + 1 in the low half, a tag in the high half) changes its tag at
 * every push and pop, so that a pop racing with a pop and a push of the same
 * slot fails its compare-and-swap. A slot is taken from the stack first,
 * else above the others (ht_target.slots_used): a process's slots number
 * its peak count of live blocks, never more.
 */
struct ht_slot_key {
	__u32 tgid;
	__u32 slot;
};

#define HT_SLOT_FREE (1ull << 63)

/*
 * The attach cookie of a session-attached site (0 for most). A *forwarder*
 * is an entry point that always hands its request straight to another
 * probed one from its own code (libstdc++'s and libc++'s operator new call
 * malloc or aligned_alloc, operator new[] jumps to operator new): an
 * unsampled call of it arms no return run, it only leaves a marker that
 * the inner call recognises by its return address (see forwarder_holds in
 * the BPF programs). The cookie carries the function's extent: its size
 * and the probe's offset into it.
 */
#define HT_COOKIE_FORWARDER    (1ull << 63)
#define HT_COOKIE_PROBE_OFF(c) (((c) >> 32) & 0xffffu)
#define HT_COOKIE_FUNC_SIZE(c) ((c)&0xffffffffu)
#define HT_COOKIE(fwd, off, size)                                                                  \
	(((fwd) ? HT_COOKIE_FORWARDER : 0) | ((__u64)((off)&0xffffu) << 32) | ((size)&0xffffffffu))

/*
 * The call a thread is inside, between an allocator's entry and its return.
 * Keyed by thread id. entry_sp lets nested calls (reallocarray -> realloc,
 * realloc(NULL) -> malloc, operator new -> malloc) count once: a call whose
 * stack pointer lies below an outer in-flight call's is inside it.
 */
struct ht_inflight {
	__u64 entry_sp;
	__u64 time_ns;	/* entry time, bounds how long nesting is trusted */
	__u64 size;	/* requested bytes */
	__u64 old_addr; /* realloc's old block */
	__u64 out_ptr;	/* posix_memalign's memptr */
	__u64 stack_id; /* 0 when the call is not sampled */
	__u32 entry;	/* enum ht_entry */
	__u32 sampled;
	__u64 epoch; /* probe_epoch when written: older records are stale */
	/* The classic programs: the stack pointer a signal interrupted during the
	 * call (0: none), so that its handler's calls are counted as lost. */
	__u64 sig_sp;
};

/*
 * Unwinding method, a load-time knob. With HT_UNWIND_FP the kernel walks
 * frame pointers and the counters above are kept in BPF maps. With
 * HT_UNWIND_DWARF the kernel copies registers and the top of the user
 * stack into the events ring buffer; the daemon unwinds them with CFI and
 * keeps the counters itself, fed by the events below.
 */
enum ht_unwind {
	HT_UNWIND_FP = 0,
	HT_UNWIND_DWARF = 1,
};

/* Largest stack copy per sample; the copy size itself is a knob. */
#define HT_MAX_STACK_COPY 32768

/*
 * Sample events wake the daemon once this many bytes (at most a quarter of
 * the ring) wait in it; it looks at least every HT_EVENTS_POLL_MS otherwise.
 */
#define HT_WAKEUP_BYTES	  (256u << 10)
#define HT_EVENTS_POLL_MS 50

/* A frame value that marks a stack cut at HT_MAX_STACK_DEPTH frames. */
#define HT_FRAME_TRUNCATED (~0ull)

enum ht_event_type {
	HT_EV_STACK = 1,   /* struct ht_stack_event: a sampled call's stack, at entry */
	HT_EV_ALLOC = 2,   /* struct ht_alloc_event: that call returned */
	HT_EV_FREE = 3,	   /* struct ht_free_event: a sampled block was freed */
	HT_EV_PROCESS = 4, /* struct ht_proc_event: system-wide mode adopted a new process */
	HT_EV_EXEC =
	    5, /* struct ht_proc_event: a traced process exec'ed (now frozen), or one the filters now want (watch_execs) */
	HT_EV_FORK = 6, /* struct ht_proc_event: a traced process forked a traced child */
};

/* Every event starts with this; seq names one sampled call for its lifetime. */
struct ht_event_hdr {
	__u32 type;
	__u32 tgid;
	__u64 seq;
};

/* The caller's registers: as they will be right after the allocator returns. */
struct ht_regs {
	__u64 ip; /* return address into the caller */
	__u64 sp; /* caller's stack pointer: the allocator's entry sp + 8 */
	__u64 bp;
	__u64 bx;
	__u64 r12;
	__u64 r13;
	__u64 r14;
	__u64 r15;
};

struct ht_stack_event {
	struct ht_event_hdr hdr;
	struct ht_regs regs;
	__u32 stack_len; /* bytes copied from regs.sp upwards */
	__u32 pad;
	__u8 stack[]; /* stack_len bytes */
};

struct ht_alloc_event {
	struct ht_event_hdr hdr;
	__u64 addr; /* 0: the call failed, forget the stack */
	__u64 size;
};

struct ht_free_event {
	struct ht_event_hdr hdr;
	__u64 size;
};

/* Lifecycle events: hdr.tgid is the process concerned, hdr.seq is 0. */
struct ht_proc_event {
	struct ht_event_hdr hdr;
	__u32 parent_tgid; /* HT_EV_FORK: the traced parent */
	__u32 flags;	   /* HT_EV_FORK: HT_FORK_* */
};

/*
 * The child got copies of its parent's live sampled blocks (not with
 * --alloc-only, nor for a child sharing its parent's memory: vfork, CLONE_VM).
 * In DWARF mode the daemon copies the parent's live samples then; a block the
 * kernel side could not copy is followed by a free event for the child.
 */
#define HT_FORK_INHERIT 1

#endif /* HEAPTRACE_H */
