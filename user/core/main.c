// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * main.c - heaptrace's entry point: parse the command line, pick the mode
 * (modes.h), run it.
 */
#include "core/env.h"
#include "core/modes.h"
#include "util/log.h"

int main(int argc, char **argv)
{
	struct env env = { 0 };
	char err_msg[512];
	int parsed, code;

	parsed = env__parse(argc, argv, &env, err_msg, sizeof(err_msg));
	if (parsed == ENV_EXIT || parsed < 0) {
		if (parsed < 0)
			log_error("%s", err_msg);
		env__free(&env);
		return parsed < 0 ? 2 : 0;
	}
	log_verbose = env.verbose;
	code = modes__select(&env, parsed)->run(&env);
	env__free(&env);
	return code;
}
