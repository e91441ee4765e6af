// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * main.c - orchestration: check the host, load the probes, attach them to
 * each target, and write a profile per target every interval and when it
 * ends.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "command.h"
#include "discover.h"
#include "dump.h"
#include "env.h"
#include "http.h"
#include "legacytext.h"
#include "loader.h"
#include "log.h"
#include "preflight.h"
#include "signals.h"
#include "pprof.h"
#include "procmaps.h"
#include "serve.h"
#include "symbolize.h"
#include "target.h"

struct heaptrace {
	struct env env;
	struct loader *loader;
	struct symbolizer *symbolizer;
	struct target *targets;
	size_t nr_targets;
	struct command *command; /* the child we started, or NULL */
	struct dump_opts dump_opts;
	struct target_limits limits;
	int exit_code;
	bool write_failed;
	struct http_server *http; /* --http, or NULL */
	struct serve_ctx serve;
};

static uint64_t now_monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* With -v: what heaptrace itself cost, for the benchmark and the curious. */
static void report_own_cost(void)
{
	struct rusage ru;

	if (!log_verbose || getrusage(RUSAGE_SELF, &ru))
		return;
	log_debug("own cost: %.3f s CPU (%.3f user, %.3f system), peak RSS %ld KiB",
		  (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
		      (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6,
		  (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6,
		  (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6, ru.ru_maxrss);
}

static void format_bytes(int64_t bytes, char *buf, size_t len)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	double v = (double)(bytes < 0 ? -bytes : bytes);
	const char *sign = bytes < 0 ? "-" : "";
	size_t u = 0;

	while (v >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%s%" PRId64 " B", sign, bytes < 0 ? -bytes : bytes);
	else
		snprintf(buf, len, "%s%.1f %s", sign, v, units[u]);
}

/* Writes a profile for `t` and prints its status line. */
static int dump_target(struct heaptrace *ht, struct target *t)
{
	struct dump_summary sum;
	char path[4096], inuse[32], delta[32], alloc[32];
	int err;

	/* Everything the kernel reported so far belongs in this profile. */
	loader__consume_events(ht->loader);
	if (t->alive)
		target__refresh_maps(t);
	err = dump__write(ht->loader, ht->symbolizer, &ht->dump_opts, &t->dump, &sum, path,
			  sizeof(path));
	if (err) {
		ht->write_failed = true;
		log_error("cannot write the profile of pid %d (%s) into '%s': %s: free space or "
			  "choose another directory with -o",
			  t->pid, t->comm, ht->env.output_dir, strerror(-err));
		return err;
	}
	format_bytes(sum.inuse_bytes, inuse, sizeof(inuse));
	format_bytes(sum.inuse_bytes - t->last_inuse_bytes, delta, sizeof(delta));
	format_bytes(sum.alloc_bytes, alloc, sizeof(alloc));
	log_info("pid %d (%s): inuse %s (%s%s) in %" PRId64 " objects, allocated %s, %" PRIu64
		 " samples, %" PRIu64 " lost",
		 t->pid, t->comm, inuse, sum.inuse_bytes >= t->last_inuse_bytes ? "+" : "", delta,
		 sum.inuse_objects, alloc, sum.samples, sum.lost);
	log_debug("wrote %s", path);
	t->last_inuse_bytes = sum.inuse_bytes;
	t->dumps++;
	return 0;
}

/*
 * Final profile of a target, then forget it. After a failed write (a full
 * disk) no more are attempted: the error was said once, and the profiles
 * already written are what remains.
 */
static void finish_target(struct heaptrace *ht, size_t idx)
{
	struct target *t = &ht->targets[idx];

	if (!ht->write_failed && dump_target(ht, t))
		ht->exit_code = 1;
	loader__remove_target(ht->loader, t->pid);
	target__fini(t);
	ht->targets[idx] = ht->targets[--ht->nr_targets];
}

static int handle_event(const void *data, size_t size, void *ctx)
{
	const struct ht_event_hdr *hdr = data;
	struct heaptrace *ht = ctx;
	size_t i;

	for (i = 0; i < ht->nr_targets; i++) {
		if (ht->targets[i].pid == (pid_t)hdr->tgid) {
			target__handle_event(&ht->targets[i], data, size);
			break;
		}
	}
	return 0;
}

/*
 * The command exec'ed a new image: the old image's profile is final (its
 * snapshot still symbolizes it); the new image is a new series, with its own
 * allocator found and probed afresh.
 */
static int reattach_target(struct heaptrace *ht, size_t idx)
{
	struct target *t = &ht->targets[idx];
	pid_t pid = t->pid;
	int err;

	if (!ht->write_failed && dump_target(ht, t))
		ht->exit_code = 1;
	loader__remove_target(ht->loader, pid);
	target__fini(t);
	err = target__attach(t, pid, ht->loader, ht->env.probe_at_entry);
	if (!err && ht->env.unwind != ENV_UNWIND_FP)
		err = target__enable_dwarf(t, &ht->limits);
	if (err)
		ht->exit_code = 1;
	return err;
}

static int attach_all(struct heaptrace *ht, const pid_t *pids, size_t nr)
{
	size_t i;
	int err;

	ht->targets = calloc(nr, sizeof(*ht->targets));
	if (!ht->targets)
		return -ENOMEM;
	for (i = 0; i < nr; i++) {
		err = target__attach(&ht->targets[i], pids[i], ht->loader, ht->env.probe_at_entry);
		if (!err && ht->env.unwind != ENV_UNWIND_FP)
			err = target__enable_dwarf(&ht->targets[i], &ht->limits);
		ht->nr_targets++;
		if (err)
			return err;
	}
	return 0;
}

/* --list-probes: where each target's allocator would be probed, and why. */
static int list_probes(struct heaptrace *ht)
{
	const struct env *env = &ht->env;
	pid_t pid = 0;
	size_t i;
	int err = 0;

	if (env->command) {
		sigset_t none;

		/* The command runs to its entry point, is listed, then ended. */
		sigemptyset(&none);
		err = command__start(env->command, &none, &ht->command);
		if (!err)
			err = command__run(ht->command);
		if (err)
			return err;
		pid = command__pid(ht->command);
	}
	for (i = 0; i < (env->command ? 1 : env->nr_pids) && !err; i++) {
		struct alloc_plan *plan = NULL;
		struct procmaps *pm;

		if (!env->command)
			pid = env->pids[i];
		if (procmaps__load(pid, &pm)) {
			log_error("no such process: pid %d: check the PID (ps -p %d)", pid, pid);
			return -ESRCH;
		}
		err = allocator__plan(pid, pm, env->probe_at_entry, &plan);
		if (err == -ENOENT)
			log_error("allocator not found in pid %d: no object it maps defines malloc",
				  pid);
		else if (err)
			log_error("cannot plan the probes of pid %d: %s", pid, strerror(-err));
		else
			allocator__plan_write(plan, stdout);
		allocator__plan_free(plan);
		procmaps__free(pm);
	}
	return err;
}

/* --list-allocators: which objects serve each target's allocations, and why. */
static int list_allocators(const struct env *env)
{
	size_t i;
	int err = 0;

	for (i = 0; i < env->nr_pids && !err; i++)
		err = discover__print(stdout, env->pids[i]);
	return err;
}

/* heaptrace print [-base OLD] FILE: the profile as Go's legacy heap text on stdout. */
static int print_profile(const struct env *env)
{
	struct pprof_builder *b = NULL, *base = NULL;
	int err;

	err = pprof__read_gz(env->print_file, &b);
	if (err) {
		log_error(
		    "cannot read the profile '%s': %s: give a heap profile written by heaptrace "
		    "or Go",
		    env->print_file, err == -EPROTO ? "not a heap profile" : strerror(-err));
		goto cleanup;
	}
	if (env->print_base) {
		err = pprof__read_gz(env->print_base, &base);
		if (err) {
			log_error("cannot read the base profile '%s': %s: give a heap profile "
				  "written by heaptrace or Go",
				  env->print_base,
				  err == -EPROTO ? "not a heap profile" : strerror(-err));
			goto cleanup;
		}
		err = pprof__merge(b, base, -1);
		if (err) {
			log_error("cannot subtract '%s' from '%s': %s", env->print_base,
				  env->print_file, strerror(-err));
			goto cleanup;
		}
	}
	err = legacytext__write(stdout, b, NULL, NULL, 0);
	if (err)
		log_error("cannot write to stdout: %s", strerror(-err));
cleanup:
	pprof__free(base);
	pprof__free(b);
	return err;
}

static int setup_signals(sigset_t *mask)
{
	int fd;

	sigemptyset(mask);
	sigaddset(mask, SIGINT);
	sigaddset(mask, SIGTERM);
	sigaddset(mask, SIGCHLD);
	sigaddset(mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, mask, NULL))
		return -errno;
	fd = signals__open(mask);
	return fd;
}

/*
 * Waits for the next event: a signal, a target's exit, or a deadline.
 * Returns true when heaptrace should stop.
 */
static bool run_loop(struct heaptrace *ht, int sigfd)
{
	uint64_t start = now_monotonic_ns();
	uint64_t next_dump = start + ht->env.interval_ns;
	uint64_t deadline = ht->env.duration_ns ? start + ht->env.duration_ns : UINT64_MAX;
	struct pollfd *pfds = NULL;
	bool stop = false;

	while (!stop && ht->nr_targets) {
		uint64_t now = now_monotonic_ns(),
			 wake = next_dump < deadline ? next_dump : deadline;
		int timeout = wake > now ? (int)((wake - now + 999999) / 1000000) : 0;
		size_t i, n = 0, http_first;
		struct pollfd *np;
		int ret;

		np = realloc(pfds, (ht->nr_targets + 2 + HTTP_MAX_POLLFDS) * sizeof(*pfds));
		if (!np)
			break;
		pfds = np;
		pfds[n++] = (struct pollfd){.fd = sigfd, .events = POLLIN};
		/* A negative fd (frame-pointer mode: no events) is ignored by poll. */
		pfds[n++] = (struct pollfd){.fd = loader__events_fd(ht->loader), .events = POLLIN};
		for (i = 0; i < ht->nr_targets; i++)
			pfds[n++] = (struct pollfd){.fd = ht->targets[i].pidfd, .events = POLLIN};
		/* The server's sockets and time-outs share the one poll: no thread, no lock. */
		http_first = n;
		if (ht->http) {
			int ht_ms = http__timeout_ms(ht->http, now);

			n += http__pollfds(ht->http, pfds + n);
			if (ht_ms >= 0 && ht_ms < timeout)
				timeout = ht_ms;
		}
		ret = poll(pfds, n, timeout);
		if (ret < 0 && errno != EINTR)
			break;
		if (ht->http)
			http__process(ht->http, pfds + http_first, ret > 0 ? n - http_first : 0,
				      now_monotonic_ns());
		if (ret > 0 && (pfds[1].revents & POLLIN))
			loader__consume_events(ht->loader);

		if (ret > 0 && (pfds[0].revents & POLLIN)) {
			int sig = signals__read(sigfd);

			if (sig == SIGCHLD) {
				/* The command's exit stop: write its profile while its maps exist.
				 */
				enum command_state cs = ht->command
							    ? command__handle_child(ht->command)
							    : COMMAND_RUNNING;

				for (i = 0; i < ht->nr_targets && ht->command; i++)
					if (ht->targets[i].pid == command__pid(ht->command))
						break;
				if (cs == COMMAND_EXITING) {
					if (i < ht->nr_targets)
						finish_target(ht, i);
					command__release(ht->command);
				} else if (cs == COMMAND_EXECED) {
					if (i < ht->nr_targets && reattach_target(ht, i))
						stop = true;
					command__resume(ht->command);
				}
			} else if (sig > 0) {
				log_info("%s: writing final profiles", strsignal(sig));
				stop = true;
				break;
			}
		}
		/* Targets that exited: their maps snapshot still symbolizes them. */
		for (i = ht->nr_targets; i-- > 0;) {
			if (!target__exited(&ht->targets[i]))
				continue;
			ht->targets[i].alive = false;
			ht->targets[i].dump.alive = false;
			log_info("pid %d (%s) exited", ht->targets[i].pid, ht->targets[i].comm);
			finish_target(ht, i);
		}
		now = now_monotonic_ns();
		if (now >= deadline) {
			stop = true;
			break;
		}
		if (now >= next_dump) {
			for (i = 0; i < ht->nr_targets && !ht->write_failed; i++)
				if (dump_target(ht, &ht->targets[i]))
					ht->exit_code = 1;
			if (ht->exit_code)
				stop = true;
			while (next_dump <= now)
				next_dump += ht->env.interval_ns;
		}
	}
	free(pfds);
	return stop;
}

int main(int argc, char **argv)
{
	struct heaptrace ht = {.exit_code = 0};
	struct loader_opts lopts = {};
	char err_msg[512];
	sigset_t mask;
	int sigfd = -1, err;
	size_t i;

	err = env__parse(argc, argv, &ht.env, err_msg, sizeof(err_msg));
	if (err == ENV_EXIT)
		return 0;
	if (err == ENV_PRINT)
		return print_profile(&ht.env) ? 1 : 0;
	if (err < 0) {
		log_error("%s", err_msg);
		return 2;
	}
	log_verbose = ht.env.verbose;
	if (ht.env.list_probes) {
		ht.exit_code = list_probes(&ht) ? 1 : 0;
		goto cleanup;
	}
	if (ht.env.list_allocators) {
		if (!ht.env.nr_pids) {
			log_error("--list-allocators needs -p PID: a process that is running");
			ht.exit_code = 2;
		} else {
			ht.exit_code = list_allocators(&ht.env) ? 1 : 0;
		}
		goto cleanup;
	}

	if (preflight__check(&ht.env, err_msg, sizeof(err_msg))) {
		log_error("%s", err_msg);
		ht.exit_code = 1;
		goto cleanup;
	}

	/* Before anything is attached: an address in use is a quick, clean failure. */
	if (ht.env.http_addr) {
		ht.serve = (struct serve_ctx){.targets = &ht.targets,
					      .nr_targets = &ht.nr_targets,
					      .sample_rate = ht.env.sample_rate};
		err = http__listen(ht.env.http_addr, serve__handle, &ht.serve, &ht.http, err_msg,
				   sizeof(err_msg));
		if (err) {
			log_error("%s", err_msg);
			ht.exit_code = 1;
			goto cleanup;
		}
	}

	lopts.sample_rate = ht.env.sample_rate;
	lopts.max_targets = 1024;
	lopts.max_stacks = ht.env.max_stacks;
	lopts.max_live = ht.env.max_live;
	lopts.max_threads = ht.env.max_threads;
	lopts.verbose = ht.env.verbose;
	lopts.unwind = ht.env.unwind == ENV_UNWIND_FP ? HT_UNWIND_FP : HT_UNWIND_DWARF;
	lopts.stack_copy_size = ht.env.stack_copy_size;
	lopts.ring_size = env__ring_size(&ht.env);
	lopts.alloc_only = ht.env.alloc_only;
	lopts.probe_at_entry = ht.env.probe_at_entry;
	lopts.floor = ht.env.floor;
	lopts.no_session = ht.env.no_session;
	err = loader__open(&lopts, &ht.loader);
	if (err) {
		if ((err == -EPERM || err == -EACCES) && geteuid() == 0)
			log_error(
			    "the kernel refused heaptrace's BPF programs (%s): check "
			    "kernel.unprivileged_bpf_disabled and lockdown; run with -v for the "
			    "verifier's log",
			    strerror(-err));
		else if (err == -EPERM || err == -EACCES)
			log_error("loading BPF programs was not permitted: run as root, or grant "
				  "CAP_BPF, CAP_PERFMON and CAP_SYS_PTRACE");
		else
			log_error(
			    "cannot load the BPF programs: %s: run with -v for libbpf's detail",
			    strerror(-err));
		ht.exit_code = 1;
		goto cleanup;
	}
	err = loader__session_status(ht.loader);
	if (err > 0)
		log_debug("probes: uprobe sessions (a return run only for calls that need one)");
	else
		log_debug("probes: uprobe + uretprobe pairs (uprobe sessions: %s)",
			  err ? strerror(-err) : "off, --no-session");
	ht.symbolizer = symbolizer__new();
	if (!ht.symbolizer) {
		log_error("out of memory");
		ht.exit_code = 1;
		goto cleanup;
	}
	ht.serve.loader = ht.loader;
	ht.serve.symbolizer = ht.symbolizer;

	if (lopts.unwind == HT_UNWIND_DWARF) {
		err = loader__set_event_handler(ht.loader, handle_event, &ht);
		if (err) {
			log_error("cannot read the BPF event buffer: %s", strerror(-err));
			ht.exit_code = 1;
			goto cleanup;
		}
	}

	sigfd = setup_signals(&mask);
	if (sigfd < 0) {
		log_error("cannot set up signal handling: %s", strerror(-sigfd));
		ht.exit_code = 1;
		goto cleanup;
	}

	ht.limits.max_stacks = ht.env.max_stacks;
	/* Calls between their stack and their return are tracked too: one per thread at most. */
	ht.limits.max_live = ht.env.max_live + ht.env.max_threads;
	ht.dump_opts.output_dir = ht.env.output_dir;
	ht.dump_opts.sample_rate = ht.env.sample_rate;
	ht.dump_opts.subsecond_names = ht.env.interval_ns < 1000000000ull;
	ht.dump_opts.alloc_only = ht.env.alloc_only;

	if (ht.env.command) {
		pid_t pid;

		err = command__start(ht.env.command, &mask, &ht.command);
		if (err) {
			ht.exit_code = 1;
			goto cleanup;
		}
		pid = command__pid(ht.command);
		err = command__run(ht.command);
		if (!err)
			err = attach_all(&ht, &pid, 1);
		if (!err)
			command__resume(ht.command);
	} else {
		err = attach_all(&ht, ht.env.pids, ht.env.nr_pids);
	}
	if (err) {
		ht.exit_code = 1;
		goto cleanup;
	}

	if (ht.http)
		log_info("serving http://%s/debug/pprof/", http__address(ht.http));
	run_loop(&ht, sigfd);
	for (i = ht.nr_targets; i-- > 0;)
		finish_target(&ht, i);
cleanup:
	report_own_cost();
	http__free(ht.http);
	for (i = 0; i < ht.nr_targets; i++)
		target__fini(&ht.targets[i]);
	free(ht.targets);
	if (ht.command) {
		int status = command__free(ht.command);

		/* A command that could not even start is an error of the run. */
		if (status == 127 && !ht.exit_code)
			ht.exit_code = 1;
	}
	symbolizer__free(ht.symbolizer);
	loader__free(ht.loader);
	if (sigfd >= 0)
		close(sigfd);
	env__free(&ht.env);
	return ht.exit_code;
}
