// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* process.c - see process.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "collect/process.h"
#include "util/procname.h"
#include "heaptrace.h"
#include "util/clock.h"
#include "util/procfs.h"

#define REFRESH_BACKOFF_NS 100000000ull /* after a re-read that did not help */

int process__open(struct process *p, pid_t pid)
{
	int err;

	memset(p, 0, sizeof(*p));
	p->pid = pid;
	p->alive = true;
	snprintf(p->comm, sizeof(p->comm), "%s", "?");
	procfs__read_comm(pid, p->comm, sizeof(p->comm));
	/* Unknown (gone already): root's, so that only root may read it. */
	if (procfs__owner_uid(pid, &p->uid))
		p->uid = 0;
	procname__exe(pid, p->exe, sizeof(p->exe));
	p->start_realtime_ns = clock__real_ns();
	err = procfs__start_time(pid, &p->start_time);
	if (err)
		return err;
	err = procmaps__load(pid, &p->maps);
	if (err || p->maps->nr == 0)
		return -ESRCH;
	return 0;
}

int process__refresh_maps(struct process *p)
{
	struct procmaps *fresh;
	int err;

	err = procmaps__load(p->pid, &fresh);
	if (err)
		return err;
	/* A process that is exiting shows an empty map: keep what it had. */
	if (fresh->nr == 0) {
		procmaps__free(fresh);
		return -ESRCH;
	}
	procmaps__free(p->maps);
	p->maps = fresh;
	p->maps_gen++;
	procfs__read_comm(p->pid, p->comm, sizeof(p->comm));
	/* A new image may be a setuid program's. */
	if (procfs__owner_uid(p->pid, &p->uid))
		p->uid = 0;
	procname__exe(p->pid, p->exe, sizeof(p->exe));
	return 0;
}

/* The unwinder reports modules from the maps it was given: tell it of a newer snapshot. */
static bool sync_unwinder(struct process *p)
{
	if (!p->unwinder || p->unwinder_gen == p->maps_gen)
		return false;
	p->unwinder_gen = p->maps_gen;
	return unwinder__set_maps(p->unwinder, p->maps) == 0;
}

bool process__refresh_for(struct process *p, uint64_t addr)
{
	uint64_t now;

	if (procmaps__find(p->maps, addr) || !p->alive)
		return sync_unwinder(p);
	now = clock__mono_ns();
	if (!p->last_refresh_found && now - p->last_refresh_ns < REFRESH_BACKOFF_NS)
		return false;
	p->last_refresh_ns = now;
	p->last_refresh_found = false;
	if (process__refresh_maps(p))
		return false;
	p->last_refresh_found = procmaps__find(p->maps, addr) != NULL;
	return p->unwinder ? sync_unwinder(p) : true;
}

int process__enable_dwarf(struct process *p, uint32_t max_stacks, uint32_t max_live)
{
	p->store = samples__new(max_stacks, max_live);
	if (!p->store)
		return -ENOMEM;
	p->unwinder_gen = p->maps_gen;
	return unwinder__new(p->pid, p->maps, &p->unwinder);
}

static void handle_stack(struct process *p, const struct ht_stack_event *ev, size_t size)
{
	uint64_t pcs[HT_MAX_STACK_DEPTH];
	struct unwind_regs regs = {
		.ip = ev->regs.ip,
		.sp = ev->regs.sp,
		.bp = ev->regs.bp,
		.bx = ev->regs.bx,
		.r12 = ev->regs.r12,
		.r13 = ev->regs.r13,
		.r14 = ev->regs.r14,
		.r15 = ev->regs.r15,
	};
	size_t len = ev->stack_len;
	int n, truncated = 0;

	if (len > size - sizeof(*ev))
		len = size - sizeof(*ev);
	n = unwinder__unwind(p->unwinder, &regs, ev->stack, len, pcs, HT_MAX_STACK_DEPTH - 1,
			     &truncated);
	/* A stack that ends in unknown code may have run into a library mapped since. */
	if (n >= 1 && !truncated && process__refresh_for(p, pcs[n - 1]))
		n = unwinder__unwind(p->unwinder, &regs, ev->stack, len, pcs,
				     HT_MAX_STACK_DEPTH - 1, &truncated);
	if (n < 1) {
		/* The leaf is known without unwinding: keep at least that. */
		pcs[0] = ev->regs.ip;
		n = 1;
		p->unwind_failures++;
	}
	if (truncated)
		pcs[n++] = HT_FRAME_TRUNCATED;
	samples__add_stack(p->store, ev->hdr.tgid, ev->hdr.seq, pcs, (uint32_t)n);
}

void process__handle_event(struct process *p, const void *data, size_t size)
{
	const struct ht_event_hdr *hdr = data;

	if (!p->store)
		return;
	p->events++;
	switch (hdr->type) {
	case HT_EV_STACK:
		if (size >= sizeof(struct ht_stack_event) && p->unwinder)
			handle_stack(p, data, size);
		break;
	case HT_EV_ALLOC:
		if (size >= sizeof(struct ht_alloc_event)) {
			const struct ht_alloc_event *ev = data;

			samples__add_alloc(p->store, hdr->seq, ev->addr, ev->size);
		}
		break;
	case HT_EV_FREE:
		if (size >= sizeof(struct ht_free_event)) {
			const struct ht_free_event *ev = data;

			samples__add_free(p->store, hdr->seq, ev->size);
		}
		break;
	}
}

uint64_t process__lost(const struct process *p)
{
	return p->store ? samples__lost(p->store) : 0;
}

void process__fini(struct process *p)
{
	unwinder__free(p->unwinder);
	p->unwinder = NULL;
	samples__free(p->store);
	p->store = NULL;
	procmaps__free(p->maps);
	p->maps = NULL;
}
