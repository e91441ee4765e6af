// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* trace.c - see trace.h. */
#include <sys/resource.h>

#include "core/preflight.h"
#include "core/privilege.h"
#include "core/trace.h"
#include "core/tracer.h"
#include "util/log.h"

/* With -v: what heaptrace itself cost, for the benchmark and the curious. */
static void report_own_cost(const char *when)
{
	struct rusage ru;

	if (!log_verbose || getrusage(RUSAGE_SELF, &ru))
		return;
	log_debug("own cost %s: %.3f s CPU (%.3f user, %.3f system), peak RSS %ld KiB", when,
		  (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
		      (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6,
		  (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6,
		  (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6, ru.ru_maxrss);
}

int trace__run(const struct env *env)
{
	struct tracer *tr = NULL;
	char msg[512];
	int code;

	if (preflight__check(env, msg, sizeof(msg))) {
		log_error("%s", msg);
		return 1;
	}
	if (tracer__new(env, &tr))
		goto cleanup;
	if (tracer__start(tr))
		goto cleanup;
	/* Everything that needs root's full set is done: BPF loaded, --http bound, probes on. */
	if (!env->keep_privileges)
		privilege__drop(tracer__uses_sessions(tr), env->output_dir);
	/* Start-up (load, discovery, attach) apart from tracing, for the benchmark. */
	report_own_cost("at start-up");
	tracer__run(tr);
cleanup:
	report_own_cost("in all");
	code = tracer__free(tr);
	return code;
}
