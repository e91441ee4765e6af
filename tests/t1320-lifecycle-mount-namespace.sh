#!/bin/bash
# A process in its own mount namespace, running a binary that exists only
# there (a copy on a tmpfs mounted inside the namespace, over a directory
# that is empty on the host), is traced and symbolized from its own files,
# read through /proc/PID/root: exact numbers and function names at -r 1,
# with frame pointers in the kernel and with DWARF unwinding in the daemon.
. "$(dirname "$0")/lib.sh"

require_root_btf
require_fixture alloc_known-fp alloc_known-nofp
command -v unshare >/dev/null || bail_out "unshare (util-linux) is missing"

for mode in fp dwarf; do
	fixture=alloc_known-fp
	[ $mode = dwarf ] && fixture=alloc_known-nofp
	mnt=$T/mnt-$mode
	out=$T/out-$mode
	mkdir -p "$mnt" "$out"
	# unshare execs the shell, which execs the fixture: $! is the fixture's PID.
	unshare -m --propagation private sh -c \
		'mount -t tmpfs heaptrace-test "$1" && cp "$2" "$1/" && exec "$1/$3" --wait' \
		sh "$mnt" "$FIXTURES/$fixture" "$fixture" >"$T/fix-$mode.out" 2>&1 &
	pid=$!
	track_pid "$pid"
	wait_for_line "$T/fix-$mode.out" '^ready$' 20 1 "$pid" ||
		bail_out "fixture in its own mount namespace did not start: $(cat "$T/fix-$mode.out")"
	ok "$([ ! -e "$mnt/$fixture" ] && [ -e "/proc/$pid/root$mnt/$fixture" ]; echo $?)" \
		"--unwind $mode: the binary exists only inside the process's mount namespace"
	isnt_ns=$([ "$(readlink /proc/$pid/ns/mnt)" != "$(readlink /proc/self/ns/mnt)" ]; echo $?)
	ok "$isnt_ns" "--unwind $mode: the process has its own mount namespace"

	start_heaptrace "$T/err-$mode" --unwind $mode -r 1 -o "$out" -p "$pid" ||
		bail_out "heaptrace did not attach"
	kill -USR1 "$pid"
	wait_exit "$pid" 20
	wait_exit "$HT_PID" 30
	is "$EXIT_STATUS" 0 "--unwind $mode: heaptrace exits 0 with its target" ||
		diag "$(tail -n 20 "$T/err-$mode")"
	prof=$(last_profile "$out" "$pid")
	ok "$([ -n "$prof" ]; echo $?)" "--unwind $mode: a profile"
	[ -n "$prof" ] || continue
	assert_table "$prof" "$ALLOC_KNOWN_TABLE" "--unwind $mode, own mount namespace: "
	like "$(pprof -raw "$prof" 2>/dev/null | grep -m1 -F "$mnt/$fixture")" "$mnt/$fixture" \
		"--unwind $mode: the mapping names the binary by its path inside the namespace"
	stack=$(pprof_traces "$prof" alloc_space | awk -F'\t' '$2 ~ /^leak_malloc;/ { print $2; exit }')
	ok "$(stack_reaches_main "$stack"; echo $?)" "--unwind $mode: leak_malloc's stack reaches main" ||
		diag "stack: $stack"
done

done_testing
