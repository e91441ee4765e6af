#!/bin/bash
# The leaf is the code that asked: heap_phases's alloc_new() allocates
# through xmalloc(), a wrapper of the GNU kind. By default the wrapper is
# folded out of the stacks (as Go hides runtime.malloc) and alloc_new holds
# the flat value; --show-wrappers keeps xmalloc as the leaf;
# --fold-wrappers adds patterns of one's own. Exact at -r 1. Then Debian's
# redis-server on loopback under redis-benchmark: its zmalloc family is
# folded by default and comes back with --show-wrappers.
. "$(dirname "$0")/lib.sh"

require_root_btf
require_fixture heap_phases-nofp

BLOCKS=8192000 # 2000 x 4096

# trace NAME ARGS...: heaptrace -r 1 ARGS -- heap_phases; sets PROF.
trace() {
	local name=$1
	shift
	mkdir -p "$T/$name"
	run_bounded 60 "$HEAPTRACE" -r 1 "$@" -o "$T/$name" -- "$FIXTURES/heap_phases-nofp" --gap 0 --hold 0 \
		>"$T/$name.stdout" 2>"$T/$name.err"
	is $? 0 "$name: heaptrace -r 1 $* -- heap_phases exits 0" || diag "$(tail -3 "$T/$name.err")"
	PROF=$(last_profile "$T/$name")
}

trace default
is "$(pprof_flat "$PROF" inuse_space alloc_new)" "$BLOCKS" "default: alloc_new, xmalloc's caller, is the leaf of its 8192000 bytes"
is "$(pprof_cum "$PROF" inuse_space xmalloc)" 0 "default: xmalloc appears in no stack"
is "$(pprof_flat "$PROF" inuse_space alloc_old)" "$BLOCKS" "default: alloc_old, which calls malloc itself, is unchanged"
like "$(pprof_traces "$PROF" inuse_space | cut -f2 | grep -m1 '^alloc_new;')" '^alloc_new;main;' \
	"default: the folded stack goes on from alloc_new to main"

trace show --show-wrappers
is "$(pprof_flat "$PROF" inuse_space xmalloc)" "$BLOCKS" "--show-wrappers: xmalloc is the leaf again"
is "$(pprof_flat "$PROF" inuse_space alloc_new)" 0 "--show-wrappers: alloc_new holds no flat value"
is "$(pprof_cum "$PROF" inuse_space alloc_new)" "$BLOCKS" "--show-wrappers: alloc_new is xmalloc's caller"

trace extra --fold-wrappers 'alloc_n*,no_such_fn'
is "$(pprof_flat "$PROF" inuse_space alloc_new)" 0 "--fold-wrappers 'alloc_n*,...': alloc_new folded too"
is "$(pprof_flat "$PROF" inuse_space main)" "$BLOCKS" "--fold-wrappers: main, their caller, is the leaf"
is "$(pprof_flat "$PROF" inuse_space alloc_old)" "$BLOCKS" "--fold-wrappers: alloc_old matches no pattern and stays"

"$HEAPTRACE" --fold-wrappers 'a,,b' -- true >/dev/null 2>"$T/bad.err"
is $? 2 "--fold-wrappers with an empty pattern: usage error, exit 2"
is "$(wc -l <"$T/bad.err")" 1 "...in one line: $(cat "$T/bad.err")"
like "$(cat "$T/bad.err")" "invalid --fold-wrappers 'a,,b': give comma-separated" "...naming the option and the fix"

command -v redis-server >/dev/null || bail_out "redis-server is missing (scripts/install-deps.sh)"
command -v redis-benchmark >/dev/null || bail_out "redis-benchmark is missing"
for _ in 1 2 3; do
	port=$((20000 + RANDOM % 12000))
	redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
		--dir "$T" >"$T/redis.log" 2>&1 &
	redis=$!
	track_pid "$redis"
	for _ in $(seq 100); do
		redis-cli -p "$port" ping >/dev/null 2>&1 && break
		is_running "$redis" || break
		sleep 0.1
	done
	is_running "$redis" && break
done
is "$(redis-cli -p "$port" ping 2>&1)" PONG "redis-server answers on 127.0.0.1:$port"

# redis_leaves NAME ARGS...: traces redis under a SET benchmark; its stacks' leaves, one a line.
ZRE='^(zmalloc|zmalloc_usable|zcalloc|zcalloc_num|zcalloc_usable|zrealloc|zrealloc_usable|ztrymalloc[a-z_]*|ztrycalloc[a-z_]*|ztryrealloc[a-z_]*|zstrdup)$'
redis_leaves() {
	local name=$1
	shift
	mkdir -p "$T/$name"
	start_heaptrace "$T/$name.err" -p "$redis" -r 4096 -i 1h --max-overhead off "$@" -o "$T/$name" ||
		bail_out "heaptrace did not start"
	run_bounded 60 redis-benchmark -h 127.0.0.1 -p "$port" -t set -n 20000 -r 20000 -d 1024 -q \
		>/dev/null 2>&1
	kill -INT "$HT_PID"
	wait_exit "$HT_PID" 30
	pprof_traces "$(last_profile "$T/$name")" alloc_space | cut -f2 | cut -d';' -f1 | sort -u
}
leaves=$(redis_leaves redis-default)
ok "$([ "$(grep -c . <<<"$leaves")" -ge 3 ]; echo $?)" "redis, default: stacks recorded ($(grep -c . <<<"$leaves") leaves)"
is "$(grep -cE "$ZRE" <<<"$leaves")" 0 "redis, default: no zmalloc-family function is a leaf"
ok "$(grep -qE '^(sdsnewlen|_sdsnewlen|createObject|createStringObject|dictAddRaw|_dictExpand|dictExpand|listAddNodeHead|listAddNodeTail)$' <<<"$leaves"; echo $?)" \
	"redis, default: redis's own code is the leaf (sds, objects, dicts, lists)" || diag "$leaves"
leaves=$(redis_leaves redis-show --show-wrappers)
ok "$(grep -qE "$ZRE" <<<"$leaves"; echo $?)" "redis, --show-wrappers: the zmalloc family is a leaf again" ||
	diag "$leaves"
redis-cli -p "$port" shutdown nosave >/dev/null 2>&1
done_testing
