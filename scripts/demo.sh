#!/bin/bash
# demo.sh [BUILD_DIR] - watch heaptrace find a leak in a running process.
#
# Installs missing packages, builds heaptrace and the demo target (a fake
# server whose cache forgets to evict one entry in eight), starts the target,
# attaches heaptrace to it for 7 seconds with a profile every 2 seconds, and
# shows the last profile and the growth between the first and the last with
# `go tool pprof`. Needs root: heaptrace loads BPF programs.
set -euo pipefail

cd "$(dirname "$0")/.."
BUILD=${1:-${BUILD:-build}}
OUT=demo-profiles

if [ "$(id -u)" -ne 0 ]; then
	echo "demo: error: this demo must run as root (heaptrace loads eBPF programs);" >&2
	echo "demo: run it as: sudo $0 ${1:-}" >&2
	exit 1
fi

./scripts/install-deps.sh
make -s BUILD="$BUILD" "$BUILD/heaptrace" "$BUILD/fixtures/demo-leak-fp"

rm -rf "$OUT"
mkdir -p "$OUT"

"$BUILD/fixtures/demo-leak-fp" --seconds 30 &
target=$!
trap 'kill "$target" 2>/dev/null || true' EXIT
sleep 0.5

echo
echo "demo: tracing pid $target for 7 s, one profile every 2 s, into $OUT/"
"$BUILD/heaptrace" -p "$target" --interval 2s -d 7s -r 64k -o "$OUT/"
kill "$target" 2>/dev/null || true

mapfile -t profiles < <(ls "$OUT"/*.heap.pb.gz | sort)
if [ "${#profiles[@]}" -lt 2 ]; then
	echo "demo: error: expected at least two profiles in $OUT/, got ${#profiles[@]}" >&2
	exit 1
fi
first=${profiles[0]}
last=${profiles[${#profiles[@]}-1]}

export HOME=${HOME:-/root}
echo
echo "== go tool pprof -top -sample_index=inuse_space $last"
go tool pprof -top -sample_index=inuse_space "$last"
echo
echo "== go tool pprof -top -sample_index=inuse_space -base $first $last"
go tool pprof -top -sample_index=inuse_space -base "$first" "$last"
echo
echo "== heaptrace report $OUT/"
"$BUILD/heaptrace" report "$OUT/"

cat <<MSG

What you see:
 - The first table is what the server holds now: cache_insert_leaky keeps growing, because one cache entry in four is never put on the eviction list.
 - The second table (-base first last) is only what changed between the first and the last profile: the leak stands alone, the healthy per-request buffers (parse_request, render_response) cancel out.
 - The third (heaptrace report) judges the whole series: the stack whose in-use grows steadily is the leak suspect, the per-request buffers are churn.
 - Open any file interactively: go tool pprof -http=:8080 $last   (or -base $first for the growth).
MSG
