// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * tracer.c - the tracer's set-up and end: the HTTP server, the BPF
 * programs, the outputs, the first targets; see tracer.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/filters.h"
#include "core/tracer.h"
#include "core/tracer_int.h"
#include "probe/plancache.h"
#include "output/filesink.h"
#include "output/pushsink.h"
#include "output/statusline.h"
#include "output/wrappers.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/signals.h"

size_t tracer__nr_targets(const struct tracer *tr)
{
	return tr->targets.nr;
}

struct target *tracer__target(const struct tracer *tr, size_t i)
{
	return tr->targets.items[i];
}

struct target *tracer__find(const struct tracer *tr, pid_t pid)
{
	return targets__find(&tr->targets, pid);
}

/* The traced processes as the HTTP handlers see them (serve.h). */
static size_t serve_count(void *ctx)
{
	return tracer__nr_targets(ctx);
}

static struct process *serve_at(void *ctx, size_t i)
{
	return &tracer__target(ctx, i)->proc;
}

static struct process *serve_find(void *ctx, pid_t pid)
{
	struct target *t = tracer__find(ctx, pid);

	return t ? &t->proc : NULL;
}

static const char *serve_note(void *ctx, const struct process *p)
{
	struct target *t = tracer__find(ctx, p->pid);

	return t ? strbuf__str(&t->note) : NULL;
}

static const struct valve *serve_valve(void *ctx, const struct process *p)
{
	struct tracer *tr = ctx;
	struct target *t = tracer__find(tr, p->pid);

	if (tr->env->system_wide)
		return &tr->valve;
	return t ? &t->valve : NULL;
}

/* Before anything is attached: an address in use is a quick, clean failure. */
static int listen_http(struct tracer *tr)
{
	char msg[512];
	int err;

	if (!tr->env->http_addr)
		return 0;
	tr->serve = (struct serve_ctx){
		.opts = tr->popts,
		.procs = { serve_count, serve_at, serve_find, serve_note, serve_valve, tr },
	};
	err = access__new(tr->env->http_allow, &tr->access, msg, sizeof(msg));
	if (err) {
		log_error("%s", msg);
		return err;
	}
	tr->serve.access = tr->access;
	err = http__listen(tr->env->http_addr, serve__handle, &tr->serve, &tr->http, msg,
			   sizeof(msg));
	if (err)
		log_error("%s", msg);
	tr->serve.server = tr->http;
	return err;
}

static void loader_options(const struct tracer *tr, struct loader_opts *o)
{
	const struct env *env = tr->env;

	*o = (struct loader_opts){
		.sample_rate = env->sample_rate,
		.max_targets = env->max_processes,
		.trace_all = env->system_wide && !tr->filtered,
		.watch_execs = tr->filtered,
		/* A wanted process's children have its name and cgroup: wanted too. */
		.follow_forks = env->follow_forks || tr->filtered,
		.self = getpid(),
		.comm = env->comm,
		.cgroup_fd = -1,
		.max_stacks = env->max_stacks,
		.max_live = env->max_live,
		.max_threads = env->max_threads,
		.verbose = env->verbose,
		.unwind = env->unwind == ENV_UNWIND_FP ? HT_UNWIND_FP : HT_UNWIND_DWARF,
		.stack_copy_size = env->stack_copy_size,
		.ring_size = env__ring_size(env),
		.alloc_only = env->alloc_only,
		.probe_at_entry = env->probe_at_entry,
		.floor = env->floor,
		.no_session = env->no_session,
	};
}

static void say_load_error(int err)
{
	if ((err == -EPERM || err == -EACCES) && geteuid() == 0)
		log_error("the kernel refused heaptrace's BPF programs (%s): check "
			  "kernel.unprivileged_bpf_disabled and lockdown; run with -v for the "
			  "verifier's log",
			  strerror(-err));
	else if (err == -EPERM || err == -EACCES)
		log_error("loading BPF programs was not permitted: run as root, or grant "
			  "CAP_BPF, CAP_PERFMON and CAP_SYS_PTRACE");
	else
		log_error("cannot load the BPF programs: %s: run with -v for libbpf's detail",
			  strerror(-err));
}

/* The BPF programs, with --comm and --cgroup checked against the PIDs a person gave. */
static int load_probes(struct tracer *tr)
{
	const struct env *env = tr->env;
	struct loader_opts o;
	size_t i;
	int err;

	loader_options(tr, &o);
	if (env->cgroup) {
		o.cgroup_fd = filters__open_cgroup(env->cgroup);
		if (o.cgroup_fd < 0)
			return -EINVAL;
		o.filter_cgroup = true;
	}
	for (i = 0; i < env->nr_pids; i++) {
		if (!filters__match(env, env->pids[i])) {
			err = -EINVAL;
			goto cleanup;
		}
	}
	err = loader__open(&o, &tr->loader);
	if (err) {
		say_load_error(err);
		goto cleanup;
	}
	err = loader__session_status(tr->loader);
	if (err > 0)
		log_debug("probes: uprobe sessions (a return run only for calls that need one)");
	else
		log_debug("probes: uprobe + uretprobe pairs (uprobe sessions: %s)",
			  err ? strerror(-err) : "off, --no-session");
	err = 0;
cleanup:
	if (o.cgroup_fd >= 0)
		close(o.cgroup_fd); /* the BPF map holds the cgroup now */
	return err;
}

static int setup_signals(struct tracer *tr)
{
	sigemptyset(&tr->mask);
	sigaddset(&tr->mask, SIGINT);
	sigaddset(&tr->mask, SIGTERM);
	sigaddset(&tr->mask, SIGCHLD);
	sigaddset(&tr->mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &tr->mask, NULL))
		return -errno;
	tr->sigfd = signals__open(&tr->mask);
	return tr->sigfd < 0 ? tr->sigfd : 0;
}

/* Where each periodic and final profile goes, in order: the file, then the status line. */
static int add_sinks(struct tracer *tr)
{
	struct filesink_opts fo = {
		.dir = tr->env->output_dir,
		.subsecond_names = tr->env->interval_ns < 1000000000ull,
		.allow_unsafe_dir = tr->env->unsafe_output_dir,
		.write_empty = tr->env->write_empty,
		.retention = { .keep = tr->env->keep,
			       .max_age_ns = tr->env->max_age_ns,
			       .max_disk_bytes = tr->env->max_disk },
	};
	void *file = NULL, *status = NULL;
	int err;

	tr->sinks = sinks__new();
	status = statusline__new();
	if (!tr->sinks || !status) {
		free(status);
		log_error("out of memory");
		return -ENOMEM;
	}
	err = filesink__open(&fo, &file); /* says why it failed */
	if (err) {
		free(status);
		return err;
	}
	if (sinks__add(tr->sinks, &filesink_ops, file)) {
		free(status);
		log_error("out of memory");
		return -ENOMEM;
	}
	if (sinks__add(tr->sinks, &statusline_ops, status)) {
		log_error("out of memory");
		return -ENOMEM;
	}
	return 0;
}

/* With --push: profiles also go to a Pyroscope server, after the file and the status line. */
static int add_push_sink(struct tracer *tr)
{
	const struct env *env = tr->env;
	struct pushsink_opts po = {
		.queue = { .url = env->push_url,
			   .spool_dir = env->push_spool,
			   .spool_size = env->push_spool_size,
			   .ca_file = env->push_ca_file },
		.token_file = env->push_token_file,
		.service = env->push_name,
		.labels = env->push_labels,
		.nr_labels = env->nr_push_labels,
		.drain_ns = PUSHSINK_DRAIN_NS,
	};
	char spool[PATH_MAX];
	void *push;
	int err;

	if (!env->push_url)
		return 0;
	if (!po.queue.spool_dir) {
		snprintf(spool, sizeof(spool), "%s/push-spool", env->output_dir);
		po.queue.spool_dir = spool;
	}
	err = pushsink__new(&po, &push);
	if (err)
		return err;
	return sinks__add(tr->sinks, &pushsink_ops, push);
}

/* After the BPF programs: the daemon's side of tracing. Prints its own error. */
static int setup_daemon(struct tracer *tr)
{
	int err;

	tr->symbolizer = symbolizer__new();
	if (!tr->symbolizer) {
		log_error("out of memory");
		return -ENOMEM;
	}
	/* Not fatal: without libdebuginfod a warning says so and local debug files serve. */
	err = symbolizer__use_debuginfod(tr->symbolizer, tr->env->debuginfod_timeout_ns);
	if (err == -ENOMEM) {
		log_error("out of memory");
		return err;
	}
	if (err && err != -ENOENT)
		log_warn(
		    "debuginfod: cannot start the fetch thread: %s: debug files are not fetched",
		    strerror(-err));
	tr->serve.loader = tr->loader;
	tr->serve.symbolizer = tr->symbolizer;
	tr->leaks = leakwatch__new();
	if (!tr->leaks) {
		log_error("out of memory");
		return -ENOMEM;
	}
	tr->serve.leaks = tr->leaks;
	/* DWARF samples, and in every mode the new-process, exec and fork events. */
	err = loader__set_event_handler(tr->loader, tracer__handle_event, tr);
	if (err) {
		log_error("cannot read the BPF event buffer: %s", strerror(-err));
		return err;
	}
	err = setup_signals(tr);
	if (err) {
		log_error("cannot set up signal handling: %s", strerror(-err));
		return err;
	}
	err = add_sinks(tr); /* says why it failed */
	if (err)
		return err;
	err = tracer__setup_loop(tr);
	if (err) {
		log_error("out of memory");
		return err;
	}
	return add_push_sink(tr);
}

int tracer__new(const struct env *env, struct tracer **out)
{
	struct tracer *tr = calloc(1, sizeof(*tr));
	int err;

	if (!tr) {
		log_error("out of memory");
		return -ENOMEM;
	}
	tr->env = env;
	tr->sigfd = -1;
	tr->targets.max = env->max_processes;
	tr->popts =
	    (struct profile_opts){ .sample_rate = env->sample_rate, .alloc_only = env->alloc_only };
	if (wrappers__new(env->fold_wrappers, env->show_wrappers, &tr->wrappers)) {
		log_error("out of memory");
		free(tr);
		return -ENOMEM;
	}
	tr->popts.wrappers = tr->wrappers;
	/* Calls between their stack and their return are tracked too: one per thread at most. */
	tr->max_live = env->max_live + env->max_threads;
	tr->filtered = env->system_wide && (env->comm || env->cgroup);
	tr->per_pid = !env->system_wide || tr->filtered;
	/* Unfiltered system-wide probes are per object, shared: no process's own USDT probes. */
	tr->probe_opts = (struct target_probe_opts){
		.probe_at_entry = env->probe_at_entry,
		.probes = tr->per_pid ? env->probes : ENV_PROBES_UPROBES,
		.plans = plancache__new(), /* without one, every process is planned afresh */
	};
	err = listen_http(tr);
	if (!err)
		err = load_probes(tr);
	if (!err) {
		tracer__setup_valve(tr); /* before the loop arms its timer */
		err = setup_daemon(tr);
	}
	if (err) {
		tracer__free(tr);
		return err;
	}
	*out = tr;
	return 0;
}

/* The filters, as the start-up line says them: " named NAME in CGROUP", or "". */
static const char *scope_of(const struct env *env, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s%s", env->comm ? " named " : "", env->comm ? env->comm : "",
		 env->cgroup ? " in " : "", env->cgroup ? env->cgroup : "");
	return buf;
}

/* System-wide mode: probe every allocator object the host's processes use. */
static int start_system_wide(struct tracer *tr)
{
	const struct env *env = tr->env;
	char scope[PATH_MAX + 64];
	int n, err;

	err = sysscan__new(tr->loader, env->probe_at_entry, getpid(), &tr->sysscan);
	if (err) {
		log_error("out of memory");
		return err;
	}
	n = sysscan__scan(tr->sysscan);
	if (n < 0) {
		log_error("cannot read /proc: %s", strerror(-n));
		return n;
	}
	log_info("tracing every process%s: %zu probes on %zu allocator objects, at most %u "
		 "processes",
		 scope_of(env, scope, sizeof(scope)), sysscan__nr_probes(tr->sysscan),
		 sysscan__nr_objects(tr->sysscan), env->max_processes);
	return 0;
}

/* Filtered system-wide mode: every wanted process now, the rest as they come (exec, fork). */
static int start_filtered(struct tracer *tr)
{
	const struct env *env = tr->env;
	char scope[PATH_MAX + 64];
	int n = tracer__sweep_filtered(tr);

	if (n < 0) {
		log_error("cannot read /proc: %s", strerror(-n));
		return n;
	}
	log_info("tracing every process%s: %d now, probes per process (no other process traps), "
		 "at most %u processes",
		 scope_of(env, scope, sizeof(scope)), n, env->max_processes);
	return 0;
}

/*
 * Where the in-process sampler is: beside the binary (the build tree, or
 * an installation's sbin with the library copied beside it), else in the
 * installation's library directory (../lib/heaptrace/).
 */
static int find_sampler(char *path, size_t len)
{
	static const char *const places[] = { "%s/libheaptrace-sampler.so",
					      "%s/../lib/heaptrace/libheaptrace-sampler.so" };
	char exe[PATH_MAX], *slash;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	size_t i;

	if (n <= 0)
		return -ENOENT;
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (slash)
		*slash = '\0';
	for (i = 0; i < sizeof(places) / sizeof(places[0]); i++) {
		snprintf(path, len, places[i], exe);
		if (!access(path, R_OK))
			return 0;
	}
	return -ENOENT;
}

/*
 * --preload: the command (and what it runs) gets the sampler before any
 * other library, at heaptrace's rate. Set in heaptrace's own environment,
 * which only the command inherits: heaptrace runs nothing else.
 */
static int preload_sampler(const struct env *env)
{
	char path[PATH_MAX + 64], rate[32], *old = getenv("LD_PRELOAD");
	struct strbuf sb = { 0 };
	int err = find_sampler(path, sizeof(path));

	if (err) {
		log_error("cannot find libheaptrace-sampler.so beside heaptrace or in "
			  "../lib/heaptrace/: build it with make, or install heaptrace");
		return err;
	}
	err = strbuf__addf(&sb, "%s%s%s", path, old && *old ? " " : "", old ? old : "");
	snprintf(rate, sizeof(rate), "%" PRIu64, env->sample_rate);
	if (!err &&
	    (setenv("LD_PRELOAD", strbuf__str(&sb), 1) || setenv("HEAPTRACE_SAMPLE_RATE", rate, 1)))
		err = -errno;
	strbuf__release(&sb);
	if (err)
		log_error("cannot set the command's environment: %s", strerror(-err));
	else
		log_debug("preloading %s at rate %s", path, rate);
	return err;
}

/* The command runs to its entry point, is traced, then resumed. */
static int start_command(struct tracer *tr)
{
	pid_t pid;
	int err;

	if (tr->env->preload && preload_sampler(tr->env))
		return -ENOENT;
	err = command__start(tr->env->command, &tr->mask, &tr->command);
	if (err)
		return err;
	pid = command__pid(tr->command);
	err = command__run(tr->command);
	if (!err)
		err = tracer__attach_all(tr, &pid, 1);
	if (!err)
		command__resume(tr->command);
	return err;
}

int tracer__start(struct tracer *tr)
{
	int err;

	if (tr->env->command)
		err = start_command(tr);
	else if (tr->filtered)
		err = start_filtered(tr);
	else if (tr->env->system_wide)
		err = start_system_wide(tr);
	else
		err = tracer__attach_all(tr, tr->env->pids, tr->env->nr_pids);
	if (err) {
		tr->exit_code = 1;
		return err;
	}
	if (tr->http && !strncmp(http__address(tr->http), HTTP_UNIX_PREFIX, HTTP_UNIX_PREFIX_LEN))
		log_info("serving /debug/pprof/ on %s (curl --unix-socket %s "
			 "http://localhost/debug/pprof/)",
			 http__address(tr->http), http__address(tr->http) + HTTP_UNIX_PREFIX_LEN);
	else if (tr->http)
		log_info("serving http://%s/debug/pprof/", http__address(tr->http));
	return 0;
}

bool tracer__uses_sessions(const struct tracer *tr)
{
	return loader__session_status(tr->loader) > 0;
}

/* System-wide, heaptrace waits for processes; otherwise it ends with its targets. */
static bool more_to_trace(void *ctx)
{
	struct tracer *tr = ctx;

	return tr->targets.nr || tr->nr_pending || tr->env->system_wide;
}

int tracer__run(struct tracer *tr)
{
	size_t i;
	int err = evloop__run(tr->loop, more_to_trace, tr);

	if (err)
		log_error("the event loop failed: %s", strerror(-err));
	loader__drain_events(tr->loader, LOADER_DRAIN_BUDGET_NS);
	for (i = tr->targets.nr; i-- > 0;)
		tracer__finish(tr, i, false);
	tracer__report_global(tr);
	/*
	 * The last profiles go to disk while the probes come off (tracer__free),
	 * within a bound whatever the disk does.
	 */
	tr->flush_deadline_ns = clock__mono_ns() + FILESINK_FLUSH_NS;
	return tr->exit_code ? -EIO : 0;
}

int tracer__free(struct tracer *tr)
{
	int code;

	if (!tr)
		return 1;
	code = tr->exit_code;
	http__free(tr->http);
	access__free(tr->access);
	wrappers__free(tr->wrappers);
	targets__clear(&tr->targets);
	sysscan__free(tr->sysscan);
	free(tr->execs);
	free(tr->pending);
	if (tr->command) {
		bool ran = command__ran(tr->command);
		int status = command__free(tr->command);

		/*
		 * A command that could not even start is an error of the run; else, unless
		 * heaptrace itself failed, its status is the command's, as time(1) does.
		 */
		if (!code)
			code = ran ? status : 1;
	}
	/* Profiles left unwritten (said) make the run fail. Flushed before the
	 * probes go: releasing the links of a fork storm's children takes seconds. */
	if (sinks__flush(tr->sinks, tr->flush_deadline_ns ? tr->flush_deadline_ns
							  : clock__mono_ns() + FILESINK_FLUSH_NS) &&
	    !code)
		code = 1;
	sinks__free(tr->sinks);
	leakwatch__free(tr->leaks);
	evloop__free(tr->loop);
	symbolizer__free(tr->symbolizer);
	loader__free(tr->loader);
	plancache__free(tr->probe_opts.plans);
	if (tr->sigfd >= 0)
		close(tr->sigfd);
	free(tr);
	return code;
}
