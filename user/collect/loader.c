// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

/* The skeleton's global data names struct ht_global_stats: the ABI comes first. */
#include "heaptrace.h"
#include "heaptrace.skel.h"
#include "collect/linkreap.h"
#include "collect/loader.h"
#include "util/clock.h"
#include "probe/uprobe_session.h"
#include "util/vec.h"

struct probe_link {
	pid_t pid;
	struct bpf_link *link; /* NULL for a uprobe session link: */
	int fd;		       /* ... its descriptor, made by uprobe_session.c */
	bool usdt;	       /* libbpf's USDT link: never released on another thread */
};

struct loader {
	struct heaptrace_bpf *skel;
	struct ring_buffer *events;
	loader_event_fn event_fn;
	void *event_ctx;
	uint64_t consumed;	      /* records handled by this loader__consume_events */
	uint64_t consume_deadline_ns; /* when it stops */
	struct probe_link *links;
	size_t nr_links, cap_links;
	struct link_reaper *reaper; /* releases the links of ended processes; NULL: inline */
	bool probe_at_entry;
	bool floor;
	bool alloc_only;
	bool session;	 /* allocating sites get one uprobe session link, not a uprobe pair */
	int session_err; /* why not, when not: 0 when --no-session said so */
	struct bpf_link
	    *lifecycle[4];	   /* exec, exit, signal and (--follow-forks) fork tracepoints */
	struct bpf_link *oom_link; /* mark_victim, where the kernel's tracepoint fits */
	bool oom_victims;	   /* on_mark_victim loaded (and, once set up, attached) */
	pid_t *retired;		   /* frozen targets whose data loader__purge deletes, sorted */
	size_t nr_retired, cap_retired;
	struct agg_entry *agg_cache; /* loader__cache_aggs: every counter, by tgid */
	size_t nr_agg_cache;
	bool agg_cached;
};

struct agg_entry {
	struct ht_agg_key key;
	struct ht_agg_val val;
};

static bool verbose_libbpf;

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	/* heaptrace reports failures itself, in one line; libbpf's detail is for -v. */
	if (!verbose_libbpf)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

/*
 * The programs of an entry point, from the table (bpf/entry_kinds.h): its
 * uprobe, <prog>_entry; and for an allocating one (class ALLOC) its uprobe
 * session, <prog>_session, its uprobe pair's other half being alloc_return.
 */
static struct bpf_program *entry_program(struct heaptrace_bpf *skel, enum ht_entry entry)
{
	switch (entry) {
#define ENTRY_PROGRAM_(ENTRY, prog, SIG, CLASS, always_track)                                      \
	case HT_##ENTRY:                                                                           \
		return skel->progs.prog##_entry;
		HT_ENTRY_PROGRAMS(ENTRY_PROGRAM_)
#undef ENTRY_PROGRAM_
	case HT_NR_ENTRIES:
		break;
	}
	return NULL;
}

/* The session variant of an entry point's program; NULL where there is none (a free). */
static struct bpf_program *session_program(struct heaptrace_bpf *skel, enum ht_entry entry)
{
	switch (entry) {
#define SESSION_PROGRAM_ALLOC(ENTRY, prog)                                                         \
	case HT_##ENTRY:                                                                           \
		return skel->progs.prog##_session;
#define SESSION_PROGRAM_FREE(ENTRY, prog)
#define SESSION_PROGRAM_(ENTRY, prog, SIG, CLASS, always_track) SESSION_PROGRAM_##CLASS(ENTRY, prog)
		HT_ENTRY_PROGRAMS(SESSION_PROGRAM_)
#undef SESSION_PROGRAM_
#undef SESSION_PROGRAM_FREE
#undef SESSION_PROGRAM_ALLOC
	default:
		break;
	}
	return NULL;
}

/* Session programs load only when used ("?" sections): a kernel without sessions rejects
 * their kfuncs. */
static void setup_session_programs(struct loader *l)
{
	struct bpf_program *prog;
	int e;

	for (e = 0; e <= HT_NR_ENTRIES; e++) {
		prog =
		    e < HT_NR_ENTRIES ? session_program(l->skel, e) : l->skel->progs.floor_session;
		if (!prog)
			continue;
		bpf_program__set_autoload(prog, l->session);
		if (l->session)
			bpf_program__set_expected_attach_type(
			    prog, (enum bpf_attach_type)UPROBE_SESSION_ATTACH_TYPE);
	}
}

/* The cgroup filter's map entry, and the lifecycle tracepoints. */
/*
 * Whether the kernel's mark_victim tracepoint takes (struct task_struct *,
 * uid_t), as on_mark_victim reads it: btf_trace_mark_victim is a pointer
 * to a prototype (void *, struct task_struct *, uid_t).
 */
static bool mark_victim_takes_task(void)
{
	struct btf *btf = btf__load_vmlinux_btf();
	const struct btf_type *t;
	const struct btf_param *p;
	bool ok = false;
	int id;

	if (!btf)
		return false;
	id = btf__find_by_name_kind(btf, "btf_trace_mark_victim", BTF_KIND_TYPEDEF);
	t = id > 0 ? btf__type_by_id(btf, (__u32)id) : NULL;
	t = t ? btf__type_by_id(btf, t->type) : NULL;
	t = t && btf_is_ptr(t) ? btf__type_by_id(btf, t->type) : NULL;
	if (t && btf_is_func_proto(t) && btf_vlen(t) == 3) {
		p = btf_params(t);
		t = btf__type_by_id(btf, p[1].type);
		t = t && btf_is_ptr(t) ? btf__type_by_id(btf, t->type) : NULL;
		ok = t && btf_is_struct(t) &&
		     !strcmp(btf__name_by_offset(btf, t->name_off), "task_struct");
	}
	btf__free(btf);
	return ok;
}

static int setup_lifecycle(struct loader *l, const struct loader_opts *opts)
{
	__u32 zero = 0, fd = (__u32)opts->cgroup_fd;

	if (opts->filter_cgroup && bpf_map__update_elem(l->skel->maps.cgroup_filter, &zero,
							sizeof(zero), &fd, sizeof(fd), BPF_ANY))
		return -errno;
	l->lifecycle[0] = bpf_program__attach(l->skel->progs.on_exec);
	if (!l->lifecycle[0])
		return -errno;
	l->lifecycle[1] = bpf_program__attach(l->skel->progs.on_exit);
	if (!l->lifecycle[1])
		return -errno;
	l->lifecycle[3] = bpf_program__attach(l->skel->progs.on_signal);
	if (!l->lifecycle[3])
		return -errno;
	/* Without it OOM kills go unsaid, nothing else changes. */
	if (l->oom_victims)
		l->oom_link = bpf_program__attach(l->skel->progs.on_mark_victim);
	if (l->oom_victims && !l->oom_link)
		l->oom_victims = false;
	if (!opts->follow_forks)
		return 0;
	l->lifecycle[2] = bpf_program__attach(l->skel->progs.on_fork);
	return l->lifecycle[2] ? 0 : -errno;
}

int loader__open(const struct loader_opts *opts, struct loader **out)
{
	struct loader *l;
	int err;

	verbose_libbpf = opts->verbose;
	libbpf_set_print(libbpf_print);

	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->probe_at_entry = opts->probe_at_entry;
	l->floor = opts->floor;
	l->alloc_only = opts->alloc_only;
	l->session_err = opts->no_session ? 0 : uprobe_session__probe();
	l->session = !opts->no_session && !l->session_err;
	l->reaper = link_reaper__new(); /* without one, links are released inline */
reopen:
	l->skel = heaptrace_bpf__open();
	if (!l->skel) {
		err = -errno;
		goto cleanup;
	}
	l->skel->rodata->sample_rate = opts->sample_rate;
	l->skel->rodata->page_size = (uint64_t)sysconf(_SC_PAGESIZE);
	l->skel->rodata->unwind_mode = opts->unwind;
	l->skel->rodata->stack_copy_size = opts->stack_copy_size;
	l->skel->rodata->alloc_only = opts->alloc_only;
	l->skel->rodata->trace_all = opts->trace_all;
	l->skel->rodata->watch_execs = opts->watch_execs;
	l->skel->rodata->follow_forks = opts->follow_forks;
	l->skel->rodata->self_tgid = (__u32)opts->self;
	l->skel->rodata->filter_cgroup = opts->filter_cgroup;
	if (opts->comm)
		strncpy((char *)l->skel->rodata->filter_comm, opts->comm,
			sizeof(l->skel->rodata->filter_comm) - 1);
	bpf_map__set_max_entries(l->skel->maps.events, opts->ring_size);
	l->skel->rodata->wakeup_bytes =
	    opts->ring_size / 4 < HT_WAKEUP_BYTES ? opts->ring_size / 4 : HT_WAKEUP_BYTES;
	l->skel->rodata->half_ring_bytes = opts->ring_size / 2;
	bpf_map__set_max_entries(l->skel->maps.targets, opts->max_targets);
	bpf_map__set_max_entries(l->skel->maps.stacks, opts->max_stacks);
	/* Every recorded stack has one counter per process using it. */
	bpf_map__set_max_entries(l->skel->maps.aggs, opts->max_stacks);
	bpf_map__set_max_entries(l->skel->maps.live, opts->max_live);
	bpf_map__set_max_entries(l->skel->maps.live_slots, opts->max_live);
	/* A fork visits the parent's slots with bpf_loop, which takes at most 1 << 23 turns. */
	l->skel->rodata->max_slots = opts->max_live < (1u << 23) ? opts->max_live : 1u << 23;
	bpf_map__set_max_entries(l->skel->maps.inflight, opts->max_threads);
	bpf_map__set_max_entries(l->skel->maps.stack_event_scratch,
				 (__u32)libbpf_num_possible_cpus());
	setup_session_programs(l);
	l->oom_victims = mark_victim_takes_task();
	bpf_program__set_autoload(l->skel->progs.on_mark_victim, l->oom_victims);

	err = heaptrace_bpf__load(l->skel);
	if (err && l->session) {
		/* Sessions link but these programs do not verify here: fall back to pairs. */
		heaptrace_bpf__destroy(l->skel);
		l->session = false;
		l->session_err = err < 0 ? err : -EINVAL;
		goto reopen;
	}
	if (err)
		goto cleanup;
	err = setup_lifecycle(l, opts);
	if (err)
		goto cleanup;
	*out = l;
	return 0;
cleanup:
	loader__free(l);
	return err < 0 ? err : -EINVAL;
}

bool loader__sees_oom_kills(const struct loader *l)
{
	return l->oom_victims;
}

int loader__add_target(struct loader *l, pid_t pid)
{
	struct ht_target zero = {};
	__u32 key = (__u32)pid;

	if (bpf_map__update_elem(l->skel->maps.targets, &key, sizeof(key), &zero, sizeof(zero),
				 BPF_NOEXIST)) {
		if (errno == EEXIST)
			return 0;
		return errno == E2BIG ? -ENOSPC : -errno;
	}
	return 0;
}

static int remember_link(struct loader *l, pid_t pid, struct bpf_link *link, int fd, bool usdt)
{
	if (VEC_RESERVE(l->links, l->cap_links, l->nr_links + 1))
		return -ENOMEM;
	l->links[l->nr_links] =
	    (struct probe_link){ .pid = pid, .link = link, .fd = fd, .usdt = usdt };
	l->nr_links++;
	return 0;
}

/* A link libbpf just made (NULL: it failed, errno says why), remembered for pid. */
static int keep_link(struct loader *l, pid_t pid, struct bpf_link *link, bool usdt)
{
	int err;

	if (!link)
		return -errno;
	err = remember_link(l, pid, link, -1, usdt);
	if (err)
		bpf_link__destroy(link);
	return err;
}

static int attach_one(struct loader *l, pid_t pid, const char *path, const char *symbol,
		      size_t offset, struct bpf_program *prog, bool retprobe)
{
	LIBBPF_OPTS(bpf_uprobe_opts, uopts, .func_name = symbol, .retprobe = retprobe);

	/* With a symbol, libbpf adds its file offset to `offset`; without, `offset` is one. */
	return keep_link(l, pid, bpf_program__attach_uprobe_opts(prog, pid, path, offset, &uopts),
			 false);
}

/*
 * Attaches an allocating site as one uprobe session, when sessions are on
 * and its entry point has a session program: 1 when attached so, 0 when
 * the caller must attach the uprobe pair, or a negative errno.
 */
static int attach_session(struct loader *l, pid_t pid, const char *path,
			  const struct alloc_site *site)
{
	struct bpf_program *prog = session_program(l->skel, site->entry);
	int fd, err;

	if (!l->session || !site->allocates || !prog)
		return 0;
	if (l->floor)
		prog = l->skel->progs.floor_session;
	/* uprobe_multi says "every process" with pid 0, perf uprobes with -1. */
	fd = uprobe_session__attach(bpf_program__fd(prog), path, site->file_offset, site->cookie,
				    pid < 0 ? 0 : pid);
	if (fd < 0)
		return fd;
	err = remember_link(l, pid, NULL, fd, false);
	if (err) {
		close(fd);
		return err;
	}
	return 1;
}

int loader__attach_sites(struct loader *l, pid_t pid, const char *path,
			 const struct alloc_site *sites, size_t nr, const char **failed)
{
	int attached = 0, err;
	size_t i;

	link_reaper__attaching(l->reaper);
	for (i = 0; i < nr; i++) {
		struct bpf_program *prog = entry_program(l->skel, sites[i].entry);
		struct bpf_program *ret = l->skel->progs.alloc_return;

		/* A site that allocates nothing is a free: --alloc-only probes none. */
		if (!sites[i].allocates && l->alloc_only)
			continue;
		if (l->floor) {
			prog = l->skel->progs.floor_entry;
			ret = l->skel->progs.floor_return;
		}
		err = attach_session(l, pid, path, &sites[i]);
		if (err < 0)
			goto fail;
		if (err > 0) {
			attached++;
			continue;
		}
		err = attach_one(l, pid, path, NULL, sites[i].file_offset, prog, false);
		if (err)
			goto fail;
		attached++;
		if (!sites[i].allocates)
			continue;
		/* The return probe shares the entry's site: rsp is the same there. */
		err = attach_one(l, pid, path, NULL, sites[i].file_offset, ret, true);
		if (err)
			goto fail;
		attached++;
	}
	return attached;
fail:
	if (failed)
		*failed = sites[i].symbol;
	return err;
}

static int attach_usdt_one(struct loader *l, pid_t pid, const char *path, const char *name,
			   struct bpf_program *prog)
{
	return keep_link(
	    l, pid, bpf_program__attach_usdt(prog, pid, path, "otel_memory", name, NULL), true);
}

int loader__attach_usdt(struct loader *l, pid_t pid, const char *path)
{
	int err;

	link_reaper__attaching(l->reaper);
	err = attach_usdt_one(l, pid, path, "alloc", l->skel->progs.otel_alloc);
	if (err)
		return err;
	if (l->alloc_only)
		return 1;
	err = attach_usdt_one(l, pid, path, "free", l->skel->progs.otel_free);
	return err ? err : 2;
}

/* Collects the keys of `map` for which `belongs` is true, then deletes them. */
static int cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return x < y ? -1 : x > y;
}

/* A sorted set of PIDs, for one walk of a map that serves many removals. */
struct pidset {
	const pid_t *pids;
	size_t nr;
};

static bool in_set(const struct pidset *set, __u32 tgid)
{
	pid_t p = (pid_t)tgid;

	return bsearch(&p, set->pids, set->nr, sizeof(p), cmp_pid) != NULL;
}

/* Remembers one key to delete; false when out of memory. */
static bool add_key(void **keys, size_t *nr, size_t *cap, const void *key, size_t key_size)
{
	/* Keys of key_size bytes: vec__reserve itself, VEC_RESERVE sizes by the pointer's type. */
	if (vec__reserve(keys, cap, *nr + 1, key_size))
		return false;
	memcpy((char *)*keys + *nr * key_size, key, key_size);
	(*nr)++;
	return true;
}

/*
 * Collects the keys of `map` for which `belongs` is true, then deletes them.
 * The map is read in batches, bucket by bucket: a walk by "next key" starts
 * over whenever the BPF side deletes the key it stands on (a free in a busy
 * process), which on a large map of live blocks made removals quadratic.
 */
static void
delete_matching(struct bpf_map *map, size_t key_size, size_t value_size, const struct pidset *pid,
		bool (*belongs)(const void *key, const void *value, const struct pidset *pid),
		void (*deleted)(struct loader *l, const void *key), struct loader *l)
{
	enum { BATCH = 512 };
	int fd = bpf_map__fd(map);
	char *bkeys, *bvalues, *prev = NULL, *key;
	void *keys = NULL;
	__u64 cursor = 0, next = 0;
	size_t nr = 0, cap = 0, i;
	bool first = true;
	__u32 count;
	int err;

	bkeys = malloc(BATCH * key_size);
	bvalues = malloc(BATCH * value_size);
	key = malloc(key_size);
	if (!bkeys || !bvalues || !key)
		goto cleanup;
	for (;;) {
		count = BATCH;
		err = bpf_map_lookup_batch(fd, first ? NULL : &cursor, &next, bkeys, bvalues,
					   &count, NULL);
		if (err && errno != ENOENT)
			break;
		for (i = 0; i < count; i++)
			if (belongs(bkeys + i * key_size, bvalues + i * value_size, pid) &&
			    !add_key(&keys, &nr, &cap, bkeys + i * key_size, key_size))
				goto drop;
		if (err)
			goto drop; /* ENOENT: the last batch */
		first = false;
		cursor = next;
	}
	/* No batch operations on this kernel: walk key by key. */
	while (bpf_map_get_next_key(fd, prev, key) == 0) {
		if (bpf_map_lookup_elem(fd, key, bvalues) == 0 && belongs(key, bvalues, pid) &&
		    !add_key(&keys, &nr, &cap, key, key_size))
			break;
		if (!prev) {
			prev = malloc(key_size);
			if (!prev)
				break;
		}
		memcpy(prev, key, key_size);
	}
drop:
	for (i = 0; i < nr; i++) {
		const void *k = (const char *)keys + i * key_size;

		if (bpf_map_delete_elem(fd, k) == 0 && deleted)
			deleted(l, k);
	}
cleanup:
	free(keys);
	free(bkeys);
	free(bvalues);
	free(key);
	free(prev);
}

static bool agg_belongs(const void *key, const void *value, const struct pidset *pid)
{
	(void)value;
	return in_set(pid, ((const struct ht_agg_key *)key)->tgid);
}

static bool stack_belongs(const void *key, const void *value, const struct pidset *pid)
{
	(void)key;
	return in_set(pid, ((const struct ht_stack *)value)->tgid);
}

static bool live_belongs(const void *key, const void *value, const struct pidset *pid)
{
	(void)value;
	return in_set(pid, ((const struct ht_live_key *)key)->tgid);
}

static bool slot_belongs(const void *key, const void *value, const struct pidset *pid)
{
	(void)value;
	return in_set(pid, ((const struct ht_slot_key *)key)->tgid);
}

/*
 * A live block removed here leaves the BPF side's filter (HT_LIVE_FILTER_SLOTS):
 * its slot is lowered through the mmapped global data, atomically as the
 * BPF side does, so frees of that address stop costing a map lookup.
 */
static void live_deleted(struct loader *l, const void *key)
{
	const struct ht_live_key *lk = key;

	if (l->skel->bss)
		__atomic_fetch_sub(&l->skel->bss->live_filter[ht_live_slot(lk->addr)], 1,
				   __ATOMIC_RELAXED);
}

/*
 * The calls of `pid` counted in its per-CPU slot (see HT_CALL_SLOTS); with
 * `release`, the slot is freed on every CPU where `pid` holds it, so that a
 * later process given this PID starts from zero. Other processes' counts on
 * the CPUs where they hold the slot are written back as read (a call they
 * make meanwhile may be lost from the count: a rate, not an exact figure).
 */
static __u64 call_slot_calls(struct loader *l, pid_t pid, bool release)
{
	int ncpus = libbpf_num_possible_cpus();
	__u32 key = ht_call_slot((__u32)pid);
	struct ht_call_count *per_cpu;
	bool held = false;
	__u64 calls = 0;
	int i;

	if (ncpus <= 0)
		return 0;
	per_cpu = calloc((size_t)ncpus, sizeof(*per_cpu));
	if (!per_cpu)
		return 0;
	if (bpf_map__lookup_elem(l->skel->maps.call_counts, &key, sizeof(key), per_cpu,
				 (size_t)ncpus * sizeof(*per_cpu), 0))
		goto cleanup;
	for (i = 0; i < ncpus; i++) {
		if (per_cpu[i].tgid != (__u32)pid)
			continue;
		calls += per_cpu[i].calls;
		held = true;
		if (release)
			per_cpu[i] = (struct ht_call_count){ 0 };
	}
	if (release && held)
		bpf_map__update_elem(l->skel->maps.call_counts, &key, sizeof(key), per_cpu,
				     (size_t)ncpus * sizeof(*per_cpu), BPF_EXIST);
cleanup:
	free(per_cpu);
	return calls;
}

/*
 * `pid`'s entry in `targets` and how many of its slots exist (as far as the
 * BPF side visits them); false when it has no entry.
 */
static bool target_slots(struct loader *l, pid_t pid, struct ht_target *t, __u64 *used)
{
	__u32 key = (__u32)pid;
	__u64 max = l->skel->rodata->max_slots;

	if (bpf_map__lookup_elem(l->skel->maps.targets, &key, sizeof(key), t, sizeof(*t), 0))
		return false;
	*used = t->slots_used < max ? t->slots_used : max;
	return true;
}

/*
 * Deletes `pid`'s live blocks and slots through its slots (struct
 * ht_slot_key): what it held, not every bucket of two maps sized for the
 * whole host. False when that may have left some (its entry is gone, or
 * fewer blocks were found than it counted): the caller then sweeps.
 */
static bool delete_blocks_by_slots(struct loader *l, pid_t pid)
{
	int live_fd = bpf_map__fd(l->skel->maps.live);
	int slots_fd = bpf_map__fd(l->skel->maps.live_slots);
	struct ht_slot_key sk = { .tgid = (__u32)pid };
	struct ht_live_key key = { .tgid = (__u32)pid };
	__u64 used, slot, addr, found = 0;
	struct ht_target t;

	if (!target_slots(l, pid, &t, &used))
		return false;
	for (slot = 0; slot < used; slot++) {
		sk.slot = (__u32)slot;
		if (bpf_map_lookup_elem(slots_fd, &sk, &addr))
			continue;
		if (!(addr & HT_SLOT_FREE)) {
			key.addr = addr;
			if (bpf_map_delete_elem(live_fd, &key) == 0) {
				live_deleted(l, &key);
				found++;
			}
		}
		bpf_map_delete_elem(slots_fd, &sk);
	}
	return found >= t.live_blocks;
}

/*
 * Deletes everything recorded for the processes of `set`, whose entries in
 * `targets` are still there (frozen, so that nothing is added meanwhile).
 */
static void delete_data(struct loader *l, const struct pidset *set)
{
	bool sweep = false;
	size_t i;

	for (i = 0; i < set->nr; i++) {
		call_slot_calls(l, set->pids[i], true);
		if (!delete_blocks_by_slots(l, set->pids[i]))
			sweep = true;
	}
	delete_matching(l->skel->maps.aggs, sizeof(struct ht_agg_key), sizeof(struct ht_agg_val),
			set, agg_belongs, NULL, l);
	delete_matching(l->skel->maps.stacks, sizeof(__u64), sizeof(struct ht_stack), set,
			stack_belongs, NULL, l);
	if (!sweep)
		return;
	delete_matching(l->skel->maps.live, sizeof(struct ht_live_key), sizeof(struct ht_live_val),
			set, live_belongs, live_deleted, l);
	delete_matching(l->skel->maps.live_slots, sizeof(struct ht_slot_key), sizeof(__u64), set,
			slot_belongs, NULL, l);
}

static void drop_link(struct probe_link *pl)
{
	bpf_link__destroy(pl->link);
	if (pl->fd >= 0)
		close(pl->fd);
}

/*
 * Detaches every probe of `pid`; those of a process that has `ended` may be
 * released later, on the reaper's thread (collect/linkreap.h).
 */
static void drop_links_of(struct loader *l, pid_t pid, bool ended)
{
	size_t i, kept = 0;

	for (i = 0; i < l->nr_links; i++) {
		struct probe_link *pl = &l->links[i];

		if (pl->pid != pid)
			l->links[kept++] = *pl;
		else if (!ended || !l->reaper || pl->usdt ||
			 link_reaper__add(l->reaper, pl->link, pl->link ? -1 : pl->fd))
			drop_link(pl);
	}
	l->nr_links = kept;
}

void loader__detach_probes(struct loader *l, pid_t pid)
{
	drop_links_of(l, pid, false);
	/* Calls cut off from their return runs leave records: make them stale. */
	l->skel->bss->probe_epoch++;
}

int loader__run_probed(struct loader *l, const char *path, uint64_t offset, int (*fn)(void *ctx),
		       void *ctx)
{
	struct bpf_link *link;
	int ret;

	link = bpf_program__attach_uprobe(l->skel->progs.floor_entry, false, getpid(), path,
					  (size_t)offset);
	if (!link)
		return -errno;
	ret = fn(ctx);
	/* Taken off at loader__free: a detach now waits ~90 ms for the kernel's grace period. */
	if (remember_link(l, getpid(), link, -1, false))
		bpf_link__destroy(link);
	return ret;
}

/* Stops the BPF side adding to `pid`'s data (its programs skip a frozen process). */
static void freeze_target(struct loader *l, pid_t pid, __u64 why)
{
	struct ht_target t;
	__u32 key = (__u32)pid;

	if (!bpf_map__lookup_elem(l->skel->maps.targets, &key, sizeof(key), &t, sizeof(t), 0) &&
	    !t.frozen) {
		t.frozen = why;
		bpf_map__update_elem(l->skel->maps.targets, &key, sizeof(key), &t, sizeof(t),
				     BPF_EXIST);
	}
}

int loader__remove_target(struct loader *l, pid_t pid)
{
	__u32 key = (__u32)pid;

	/* At once: an exec'ed image is traced again right away, and the old links would fire too. */
	drop_links_of(l, pid, false);
	freeze_target(l, pid, HT_FROZEN_EXIT);
	delete_data(l, &(struct pidset){ .pids = &pid, .nr = 1 });
	bpf_map__delete_elem(l->skel->maps.targets, &key, sizeof(key), 0);
	return 0;
}

int loader__retire_target(struct loader *l, pid_t pid)
{
	drop_links_of(l, pid, true);
	/* Frozen until purged, so that a new process given this PID waits for it. */
	freeze_target(l, pid, HT_FROZEN_EXIT);
	if (VEC_RESERVE(l->retired, l->cap_retired, l->nr_retired + 1))
		return loader__remove_target(l, pid);
	l->retired[l->nr_retired++] = pid;
	return 0;
}

size_t loader__nr_retired(const struct loader *l)
{
	return l->nr_retired;
}

void loader__purge(struct loader *l)
{
	struct pidset set = { .pids = l->retired, .nr = l->nr_retired };
	size_t i;

	if (!l->nr_retired)
		return;
	qsort(l->retired, l->nr_retired, sizeof(*l->retired), cmp_pid);
	delete_data(l, &set);
	for (i = 0; i < l->nr_retired; i++) {
		__u32 key = (__u32)l->retired[i];

		bpf_map__delete_elem(l->skel->maps.targets, &key, sizeof(key), 0);
	}
	l->nr_retired = 0;
}

static int cmp_agg(const void *a, const void *b)
{
	const struct agg_entry *x = a, *y = b;

	return x->key.tgid < y->key.tgid ? -1 : x->key.tgid > y->key.tgid;
}

/* Appends one counter to the cache, growing it. */
static int cache_agg(struct loader *l, const struct ht_agg_key *key, const struct ht_agg_val *val,
		     size_t *cap)
{
	if (VEC_RESERVE(l->agg_cache, *cap, l->nr_agg_cache + 1))
		return -ENOMEM;
	l->agg_cache[l->nr_agg_cache].key = *key;
	l->agg_cache[l->nr_agg_cache++].val = *val;
	return 0;
}

#define AGG_BATCH 4096

/*
 * Every counter of the aggs map into the cache, sorted by process. In
 * batches: one system call per AGG_BATCH entries rather than two per entry
 * (a profile of 100 000 stacks spent half its time here). A kernel without
 * batch operations on hash maps gets the walk key by key.
 */
static int read_aggs(struct loader *l)
{
	int fd = bpf_map__fd(l->skel->maps.aggs), err = 0;
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	struct ht_agg_key *keys = NULL, key, prev;
	struct ht_agg_val *vals = NULL, val;
	__u64 in = 0, out = 0;
	bool first = true;
	size_t cap = 0;
	__u32 i, count;

	l->nr_agg_cache = 0;
	keys = malloc(AGG_BATCH * sizeof(*keys));
	vals = malloc(AGG_BATCH * sizeof(*vals));
	if (!keys || !vals) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (;;) {
		int ret;

		count = AGG_BATCH;
		ret = bpf_map_lookup_batch(fd, first ? NULL : &in, &out, keys, vals, &count, &opts);
		if (ret < 0 && ret != -ENOENT) {
			if (!first)
				err = ret;
			break; /* on the first call: no batch support, walk below */
		}
		for (i = 0; i < count && !err; i++)
			err = cache_agg(l, &keys[i], &vals[i], &cap);
		if (err || ret == -ENOENT)
			goto sort;
		in = out;
		first = false;
	}
	if (err)
		goto cleanup;
	while (bpf_map_get_next_key(fd, first ? NULL : &prev, &key) == 0) {
		first = false;
		prev = key;
		if (bpf_map_lookup_elem(fd, &key, &val))
			continue;
		err = cache_agg(l, &key, &val, &cap);
		if (err)
			goto cleanup;
	}
sort:
	if (!err && l->nr_agg_cache)
		qsort(l->agg_cache, l->nr_agg_cache, sizeof(*l->agg_cache), cmp_agg);
cleanup:
	free(keys);
	free(vals);
	return err;
}

int loader__cache_aggs(struct loader *l, bool on)
{
	int err;

	l->agg_cached = false;
	l->nr_agg_cache = 0;
	if (!on)
		return 0;
	err = read_aggs(l);
	l->agg_cached = !err;
	return err;
}

/* loader__for_each_agg from the cache: the entries of `pid` are one run of it. */
static int for_each_cached_agg(struct loader *l, pid_t pid, loader_agg_fn fn, void *ctx,
			       struct ht_stack *stack)
{
	int stack_fd = bpf_map__fd(l->skel->maps.stacks);
	size_t lo = 0, hi = l->nr_agg_cache;
	int ret = 0;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (l->agg_cache[mid].key.tgid < (__u32)pid)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < l->nr_agg_cache && l->agg_cache[lo].key.tgid == (__u32)pid && !ret; lo++) {
		const struct agg_entry *e = &l->agg_cache[lo];

		if (bpf_map_lookup_elem(stack_fd, &e->key.stack_id, stack) == 0)
			ret = fn(&e->val, stack, ctx);
		else
			ret = fn(&e->val, NULL, ctx);
	}
	return ret;
}

int loader__global_stats(struct loader *l, struct ht_global_stats *out)
{
	if (!l->skel->bss)
		return -ENOENT;
	*out = l->skel->bss->gstats;
	return 0;
}

int loader__target_pids(struct loader *l, pid_t **out, size_t *nr)
{
	int fd = bpf_map__fd(l->skel->maps.targets);
	__u32 key, prev;
	pid_t *pids = NULL;
	size_t n = 0, cap = 0;
	bool first = true;

	while (bpf_map_get_next_key(fd, first ? NULL : &prev, &key) == 0) {
		first = false;
		prev = key;
		if (VEC_RESERVE(pids, cap, n + 1)) {
			free(pids);
			return -ENOMEM;
		}
		pids[n++] = (pid_t)key;
	}
	*out = pids;
	*nr = n;
	return 0;
}

int loader__target_stats(struct loader *l, pid_t pid, struct ht_target *out)
{
	__u32 key = (__u32)pid;

	if (bpf_map__lookup_elem(l->skel->maps.targets, &key, sizeof(key), out, sizeof(*out), 0))
		return -errno;
	out->calls += call_slot_calls(l, pid, false);
	return 0;
}

/*
 * Slot `slot` of `pid`'s index (struct ht_slot_key): its live block, or 1
 * when it holds none (free, or an address left from a block that has
 * another slot now).
 */
static int slot_block(struct loader *l, pid_t pid, __u32 slot, struct ht_live_val *val)
{
	struct ht_slot_key sk = { .tgid = (__u32)pid, .slot = slot };
	struct ht_live_key key = { .tgid = (__u32)pid };
	__u64 addr;

	if (bpf_map__lookup_elem(l->skel->maps.live_slots, &sk, sizeof(sk), &addr, sizeof(addr),
				 0) ||
	    (addr & HT_SLOT_FREE))
		return 1;
	key.addr = addr;
	if (bpf_map__lookup_elem(l->skel->maps.live, &key, sizeof(key), val, sizeof(*val), 0) ||
	    val->slot != (__u64)slot + 1)
		return 1;
	return 0;
}

int loader__for_each_live(struct loader *l, pid_t pid, loader_live_fn fn, void *ctx)
{
	int stack_fd = bpf_map__fd(l->skel->maps.stacks);
	__u64 have = 0; /* the stack id in *stack: blocks of one stack often follow each other */
	struct ht_live_val val;
	struct ht_stack *stack;
	struct ht_target t;
	__u64 slot, used;
	int ret = 0;

	/* The process's own slots: what other processes hold costs nothing here. */
	if (!target_slots(l, pid, &t, &used))
		return 0;
	stack = malloc(sizeof(*stack));
	if (!stack)
		return -ENOMEM;
	for (slot = 0; !ret && slot < used; slot++) {
		if (slot_block(l, pid, (__u32)slot, &val))
			continue;
		if (val.stack_id != have) {
			if (bpf_map_lookup_elem(stack_fd, &val.stack_id, stack)) {
				have = 0;
				continue;
			}
			have = val.stack_id;
		}
		ret = fn(stack, val.size, val.time_ns, ctx);
	}
	free(stack);
	return ret;
}

int loader__for_each_agg(struct loader *l, pid_t pid, loader_agg_fn fn, void *ctx)
{
	int agg_fd = bpf_map__fd(l->skel->maps.aggs);
	int stack_fd = bpf_map__fd(l->skel->maps.stacks);
	struct ht_agg_key key, prev;
	struct ht_agg_val val;
	struct ht_stack *stack;
	bool first = true;
	int ret = 0;

	stack = malloc(sizeof(*stack));
	if (!stack)
		return -ENOMEM;
	if (l->agg_cached) {
		ret = for_each_cached_agg(l, pid, fn, ctx, stack);
		free(stack);
		return ret;
	}
	/* One process's counters: read in batches too, unless out of memory. */
	if (read_aggs(l) == 0) {
		ret = for_each_cached_agg(l, pid, fn, ctx, stack);
		l->nr_agg_cache = 0;
		free(stack);
		return ret;
	}
	while (bpf_map_get_next_key(agg_fd, first ? NULL : &prev, &key) == 0) {
		first = false;
		prev = key;
		if (key.tgid != (__u32)pid)
			continue;
		if (bpf_map_lookup_elem(agg_fd, &key, &val))
			continue;
		if (bpf_map_lookup_elem(stack_fd, &key.stack_id, stack) == 0)
			ret = fn(&val, stack, ctx);
		else
			ret = fn(&val, NULL, ctx);
		if (ret)
			break;
	}
	free(stack);
	return ret;
}

static int dispatch_event(void *ctx, void *data, size_t size)
{
	struct loader *l = ctx;
	int err = 0;

	if (size >= sizeof(struct ht_event_hdr) && l->event_fn)
		err = l->event_fn(data, size, l->event_ctx);
	if (err)
		return err;
	/* Out of time: libbpf keeps this record consumed and stops (see loader__consume_events). */
	if (++l->consumed % 64 == 0 && clock__mono_ns() >= l->consume_deadline_ns)
		return -EAGAIN;
	return 0;
}

int loader__set_event_handler(struct loader *l, loader_event_fn fn, void *ctx)
{
	l->event_fn = fn;
	l->event_ctx = ctx;
	if (l->events)
		return 0;
	l->events = ring_buffer__new(bpf_map__fd(l->skel->maps.events), dispatch_event, l, NULL);
	return l->events ? 0 : -errno;
}

int loader__events_fd(const struct loader *l)
{
	return l->events ? ring_buffer__epoll_fd(l->events) : -1;
}

int loader__consume_events(struct loader *l)
{
	return loader__drain_events(l, LOADER_CONSUME_BUDGET_NS);
}

int loader__drain_events(struct loader *l, uint64_t budget_ns)
{
	int n;

	if (!l->events)
		return 0;
	/*
	 * Bounded in time: a process allocating faster than its samples can be
	 * unwound would otherwise keep the daemon here for good, with no
	 * profile, no signal and no safety valve handled. What the ring cannot
	 * hold meanwhile is counted as lost by the BPF side.
	 */
	l->consumed = 0;
	l->consume_deadline_ns = clock__mono_ns() + budget_ns;
	n = ring_buffer__consume(l->events);
	return n == -EAGAIN ? (int)l->consumed : n;
}

int loader__session_status(const struct loader *l)
{
	return l->session ? 1 : l->session_err;
}

void loader__free(struct loader *l)
{
	size_t i;

	if (!l)
		return;
	for (i = 0; i < sizeof(l->lifecycle) / sizeof(l->lifecycle[0]); i++)
		bpf_link__destroy(l->lifecycle[i]);
	bpf_link__destroy(l->oom_link);
	ring_buffer__free(l->events);
	free(l->retired);
	free(l->agg_cache);
	for (i = 0; i < l->nr_links; i++)
		drop_link(&l->links[i]);
	free(l->links);
	link_reaper__free(l->reaper);
	heaptrace_bpf__destroy(l->skel);
	free(l);
}
