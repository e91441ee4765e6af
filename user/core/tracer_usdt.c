// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * tracer_usdt.c - targets traced through an in-process sampler's USDT
 * probes whose object went away (a library with its own emitter,
 * dlclose'd): their probes would see nothing more, so once a second each is
 * checked, and one that lost its object is traced through its allocator's
 * entry points instead, said in one warning.
 */
#include "core/tracer_int.h"
#include "util/log.h"

static void fall_back(struct tracer *tr, struct target *t)
{
	struct target_probe_opts o = tr->probe_opts;
	pid_t pid = t->proc.pid;

	if (o.probes == ENV_PROBES_USDT) {
		log_warn("pid %d (%s): '%s', which carried its otel_memory probes, was unloaded: "
			 "its allocations are no longer seen (--probes usdt; auto would trace its "
			 "allocator instead)",
			 pid, t->proc.comm, t->usdt_object);
		t->proc.at_probe = false;
		return;
	}
	log_warn("pid %d (%s): '%s', which carried its otel_memory probes, was unloaded: tracing "
		 "its allocator's entry points instead (allocations since the unload, within the "
		 "last second, were not seen)",
		 pid, t->proc.comm, t->usdt_object);
	loader__detach_probes(tr->loader, pid);
	/*
	 * The snapshot, not fresh maps: the allocator has not moved, and the
	 * snapshot still names the unloaded object's code in stacks sampled
	 * before.
	 */
	o.probes = ENV_PROBES_UPROBES;
	if (target__probe(t, tr->loader, &o, true) == 0)
		target__announce(t, true);
}

void tracer__check_usdt(struct tracer *tr)
{
	size_t i;

	for (i = 0; i < tr->targets.nr; i++) {
		struct target *t = tr->targets.items[i];

		if (target__usdt_unloaded(t))
			fall_back(tr, t);
	}
}
