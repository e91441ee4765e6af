#!/bin/bash
# Debian's redis-server (jemalloc, no frame pointers) traced under
# redis-benchmark on loopback, at the default sample rate: heaptrace finds
# jemalloc, the profile shows redis's own allocation sites under its command
# processing, and the in-use estimate covers the values it now holds.
. "$(dirname "$0")/lib.sh"

require_root_btf
command -v redis-server >/dev/null || bail_out "redis-server is missing (scripts/install-deps.sh)"
command -v redis-benchmark >/dev/null || bail_out "redis-benchmark is missing"

# A port below the ephemeral range (clients' own ports); another one if it is taken.
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
	diag "redis-server did not start on port $port: $(tail -n 2 "$T/redis.log")"
done
is "$(redis-cli -p "$port" ping 2>&1)" PONG "redis-server answers on 127.0.0.1:$port"

out=$T/out
mkdir -p "$out"
# The valve off: redis-benchmark drives several hundred thousand allocator calls a second,
# over the default --max-overhead budget, and this test is about the stacks (t1735 is the valve's).
start_heaptrace "$T/ht.err" -p "$redis" -i 1s --max-overhead off -o "$out" ||
	bail_out "heaptrace did not start"
like "$(grep -m1 'tracing pid' "$T/ht.err")" 'jemalloc allocator' "redis-server: jemalloc is found"

# Up to 100000 keys of 1 KiB: about 60 MiB of values held. As many keys, because what stays in
# use under processCommand is small per key (a dict entry, a key: ~50 bytes): at the default
# rate 20000 keys left about 2 samples there, none in about one run in ten.
run_bounded 120 redis-benchmark -h 127.0.0.1 -p "$port" -t set,get -n 100000 -r 100000 -d 1024 \
	-q >"$T/bench.out" 2>&1
is $? 0 "redis-benchmark ran"
keys=$(redis-cli -p "$port" dbsize)
diag "redis holds $keys keys; $(tr '\r' '\n' <"$T/bench.out" | grep -E 'requests per second' | xargs)"

kill -INT "$HT_PID"
wait_exit "$HT_PID" 30
is "$EXIT_STATUS" 0 "heaptrace exits 0 on SIGINT"
prof=$(last_profile "$out")
inuse=$(pprof_total "$prof" inuse_space)
expected=$((keys * 1024))
ok "$([ "$inuse" -ge $((expected / 2)) ]; echo $?)" \
	"in-use estimate $inuse covers the $keys values held (~$expected bytes)"

traces=$(pprof_traces "$prof" inuse_space | cut -f2)
ok "$(grep -q ';processCommand;' <<<"$traces"; echo $?)" "stacks go through redis's processCommand" ||
	diag "$(head -n 8 <<<"$traces"; grep -v 'tracing pid' "$T/ht.err" | tail -n 5)"
ok "$(grep -qE '^(zmalloc|ztrymalloc|zmalloc_usable|ztrymalloc_usable|sdsnewlen|_sdsnewlen|createStringObject)[^;]*;' <<<"$traces"; echo $?)" \
	"redis's own allocation sites are leaves"
diag "e.g. $(grep ';processCommand;' <<<"$traces" | head -n 1)"
check_no_allocator_frames "$prof"

redis-cli -p "$port" shutdown nosave >/dev/null 2>&1
done_testing
