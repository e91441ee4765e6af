#!/bin/bash
# heaptrace needs no tracefs: its process lifecycle programs are BTF-typed
# tracepoints and its uprobes go through the uprobe PMU, so a machine where
# /sys/kernel/tracing is not mounted (a fresh VM, a minimal container host)
# traces as any other. Run in a mount namespace where tracefs and debugfs
# are unmounted: exact numbers at -r 1, the exit of the target seen.
. "$(dirname "$0")/lib.sh"

require_root_btf
require_fixture alloc_known-fp
command -v unshare >/dev/null || bail_out "unshare (util-linux) is missing"

out=$T/out
mkdir -p "$out"
# Exit 99 if tracefs is still reachable inside the namespace: then the test
# would prove nothing.
run_bounded 60 unshare -m --propagation private sh -c '
	for d in /sys/kernel/debug/tracing /sys/kernel/tracing /sys/kernel/debug; do
		umount -l "$d" 2>/dev/null
	done
	for d in /sys/kernel/tracing /sys/kernel/debug/tracing; do
		[ -e "$d/events" ] && exit 99
	done
	exec "$@"' sh "$HEAPTRACE" -r 1 -o "$out" -- "$FIXTURES/alloc_known-fp" >"$T/stdout" 2>"$T/err"
rc=$?
[ "$rc" = 99 ] && bail_out "tracefs could not be hidden in a private mount namespace"
is "$rc" 0 "without tracefs: heaptrace -r 1 -- alloc_known-fp exits 0 by itself" ||
	diag "$(tail -n 20 "$T/err")"
like "$(grep -m1 'tracing pid' "$T/err")" "^heaptrace: tracing pid [0-9]+ \(alloc_known-fp\)" \
	"without tracefs: the probes attached"
like "$(grep -E ': inuse .* lost$' "$T/err" | tail -n 1)" "$STATUS_RE_HEAD\(alloc_known-fp\)$STATUS_RE_TAIL_NOLOSS" \
	"without tracefs: final status line, nothing lost"
prof=$(last_profile "$out")
ok "$([ -n "$prof" ]; echo $?)" "without tracefs: a profile"
[ -n "$prof" ] && assert_table "$prof" "$ALLOC_KNOWN_TABLE" "without tracefs: "

done_testing
