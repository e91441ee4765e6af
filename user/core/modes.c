// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* modes.c - the modes that trace nothing, and the table that picks one; see modes.h. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "core/command.h"
#include "core/modes.h"
#include "core/report.h"
#include "core/trace.h"
#include "output/legacytext.h"
#include "output/printtext.h"
#include "output/pprof.h"
#include "probe/allocator.h"
#include "probe/discover.h"
#include "symbol/procmaps.h"
#include "util/log.h"

/* Why a profile could not be read, in words. */
static const char *read_error(int err)
{
	switch (err) {
	case -EPROTO:
		return "not a heap profile";
	case -EFBIG:
		return "more than 64 MiB once decompressed, the most heaptrace reads";
	case -E2BIG:
		return "reading it would take more than 256 MiB of memory, the most heaptrace "
		       "allows (millions of tiny records: crafted or corrupt)";
	default:
		return strerror(-err);
	}
}

/* Reads a heap profile, saying why it cannot (`what`: "the profile", "the base profile"). */
static int read_profile(const char *path, const char *what, struct pprof_builder **out)
{
	int err = pprof__read_gz(path, out);

	if (err)
		log_error("cannot read %s '%s': %s: give a heap profile written by heaptrace or Go",
			  what, path, read_error(err));
	return err;
}

/* heaptrace print [-legacy] [-base OLD] FILE: the profile for a person (or as legacy text). */
static int run_print(const struct env *env)
{
	struct pprof_builder *b = NULL, *base = NULL;
	int err;

	err = read_profile(env->print_file, "the profile", &b);
	if (err)
		goto cleanup;
	if (env->print_base) {
		err = read_profile(env->print_base, "the base profile", &base);
		if (err)
			goto cleanup;
		err = pprof__merge(b, base, -1);
		if (err) {
			log_error("cannot subtract '%s' from '%s': %s", env->print_base,
				  env->print_file, strerror(-err));
			goto cleanup;
		}
	}
	err = env->print_legacy ? legacytext__write(stdout, b, NULL, NULL, 0)
				: printtext__write(stdout, b);
	if (err)
		log_error("cannot write to stdout: %s", strerror(-err));
cleanup:
	pprof__free(base);
	pprof__free(b);
	return err ? 1 : 0;
}

/* Where pid's allocator would be probed, and why, on stdout. */
static int list_probes_of(const struct env *env, pid_t pid)
{
	struct alloc_plan *plan = NULL;
	struct procmaps *pm;
	int err;

	if (procmaps__load(pid, &pm)) {
		log_error("no such process: pid %d: check the PID (ps -p %d)", pid, pid);
		return -ESRCH;
	}
	err = allocator__plan(pid, pm, env->probe_at_entry, &plan);
	if (err == -ENOENT)
		log_error("allocator not found in pid %d: no object it maps defines malloc", pid);
	else if (err)
		log_error("cannot plan the probes of pid %d: %s", pid, strerror(-err));
	else
		allocator__plan_write(plan, stdout);
	allocator__plan_free(plan);
	procmaps__free(pm);
	return err;
}

/* --list-probes: for each -p PID, or for the command run to its entry point, then ended. */
static int run_list_probes(const struct env *env)
{
	struct command *cmd = NULL;
	int err = 0, status;
	size_t i;

	if (env->command) {
		sigset_t none;

		sigemptyset(&none);
		err = command__start(env->command, &none, &cmd);
		if (!err)
			err = command__run(cmd);
		if (!err)
			err = list_probes_of(env, command__pid(cmd));
	}
	for (i = 0; i < env->nr_pids && !env->command && !err; i++)
		err = list_probes_of(env, env->pids[i]);
	status = command__free(cmd);
	/* A command that could not even start is an error of the run. */
	return err || status == 127 ? 1 : 0;
}

/* --list-allocators: which objects serve each target's allocations, and why. */
static int run_list_allocators(const struct env *env)
{
	size_t i;
	int err = 0;

	if (!env->nr_pids) {
		log_error("--list-allocators needs -p PID: a process that is running");
		return 2;
	}
	for (i = 0; i < env->nr_pids && !err; i++)
		err = discover__print(stdout, env->pids[i]);
	return err ? 1 : 0;
}

static bool is_print(const struct env *env, int parsed)
{
	(void)env;
	return parsed == ENV_PRINT;
}

static bool is_report(const struct env *env, int parsed)
{
	(void)env;
	return parsed == ENV_REPORT;
}

static bool is_list_probes(const struct env *env, int parsed)
{
	(void)parsed;
	return env->list_probes;
}

static bool is_list_allocators(const struct env *env, int parsed)
{
	(void)parsed;
	return env->list_allocators;
}

static bool always(const struct env *env, int parsed)
{
	(void)env;
	(void)parsed;
	return true;
}

/* In order of precedence; a new mode is one line here and its run function. */
static const struct mode modes[] = {
	{ "print", is_print, run_print },
	{ "report", is_report, report__run },
	{ "--list-probes", is_list_probes, run_list_probes },
	{ "--list-allocators", is_list_allocators, run_list_allocators },
	{ "trace", always, trace__run },
};

const struct mode *modes__select(const struct env *env, int parsed)
{
	size_t i;

	for (i = 0; i + 1 < sizeof(modes) / sizeof(modes[0]); i++)
		if (modes[i].selected(env, parsed))
			return &modes[i];
	return &modes[i];
}
