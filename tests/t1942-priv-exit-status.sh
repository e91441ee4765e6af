#!/bin/bash
# heaptrace -- COMMAND exits with the command's status, as time(1) and
# strace do: its exit code, or 128+N when signal N ended it; heaptrace's
# own failures keep their codes (2 for a bad command line, 1 for a command
# that cannot be run or a failure of tracing). The profiles are written
# either way.
. "$(dirname "$0")/lib.sh"

require_root_btf
require_fixture alloc_known-fp

# run_cmd NAME ARGS...: heaptrace -r 1 -- ARGS, its status in RC.
run_cmd() {
	local name=$1
	shift
	mkdir -p "$T/$name"
	run_bounded 60 "$HEAPTRACE" -r 1 -o "$T/$name" -- "$@" >"$T/$name.out" 2>"$T/$name.err"
	RC=$?
}

run_cmd ok "$FIXTURES/alloc_known-fp"
is "$RC" 0 "a command that exits 0: heaptrace exits 0" || diag "$(cat "$T/ok.err")"
assert_table "$(last_profile "$T/ok")" "$ALLOC_KNOWN_TABLE" "exit 0: "

run_cmd three sh -c "$FIXTURES/alloc_known-fp; exit 3"
is "$RC" 3 "sh -c '...; exit 3': heaptrace exits 3" || diag "$(cat "$T/three.err")"
ok "$([ -n "$(profiles_of "$T/three")" ]; echo $?)" "exit 3: profiles written"

run_cmd segv sh -c "$FIXTURES/alloc_known-fp; kill -SEGV \$\$"
is "$RC" 139 "a command killed by SIGSEGV: heaptrace exits 128+11" || diag "$(cat "$T/segv.err")"
ok "$([ -n "$(profiles_of "$T/segv")" ]; echo $?)" "SIGSEGV: profiles written"

run_cmd term sh -c 'kill -TERM $$'
is "$RC" 143 "a command killed by SIGTERM: heaptrace exits 128+15"

run_cmd missing "$T/no-such-command"
is "$RC" 1 "a command that cannot be run: heaptrace exits 1"
like "$(grep -c '^heaptrace: error: cannot run' "$T/missing.err")" '^1$' "... with one error line"

run_cmd sh127 sh -c 'exit 127'
is "$RC" 127 "a command that ran and exited 127 is not mistaken for one that could not run"

"$HEAPTRACE" --interval nonsense -- true >/dev/null 2>&1
is $? 2 "a bad command line: exit 2, the command never runs"
done_testing
