#!/bin/bash
# Retention over many intervals (-i 200ms for 4 s, about 20 profiles):
# --keep N leaves each series its first and N newest profiles, --max-age
# removes what is older (but the first), --max-disk keeps the total under
# the bound; -base against the first still works, and files heaptrace did
# not write in this run are never touched.
. "$(dirname "$0")/lib.sh"

require_root_btf
require_fixture alloc_known-fp

# run NAME ARGS...: traces a fresh fixture (REPEAT rounds, default 1) for 4 s into $T/NAME with two
# files of others planted there first; sets OUT, PID, FIRST (the first
# profile, seen while it ran) and WROTE (profiles written).
run() {
	local name=$1 first_seen=
	shift
	OUT=$T/$name
	mkdir "$OUT"
	start_fixture alloc_known-fp --wait --hold 30 --repeat "${REPEAT:-1}"
	PID=$FIX_PID
	# Same pattern and series name, but an earlier run's; and another name.
	echo old >"$OUT/alloc_known-fp.$PID.20200101T000000.000Z.heap.pb.gz"
	echo notes >"$OUT/notes.txt"
	start_heaptrace "$T/$name.err" -p "$PID" -r 1 -i 200ms -d 4s -o "$OUT" "$@" || return 1
	kill -USR1 "$PID"
	while is_running "$HT_PID"; do
		[ -n "$first_seen" ] || first_seen=$(ls "$OUT" | grep -v '^alloc_known-fp\.[0-9]*\.2020' | grep 'heap\.pb\.gz$' | sort | head -n 1)
		sleep 0.05
	done
	wait_exit "$HT_PID" 20
	is "$EXIT_STATUS" 0 "$name: heaptrace exits 0"
	FIRST=$OUT/$first_seen
	WROTE=$(grep -c "pid $PID .*inuse" "$T/$name.err")
	ok "$([ "$WROTE" -ge 15 ]; echo $?)" "$name: many intervals ($WROTE profiles)"
	is "$(cat "$OUT/alloc_known-fp.$PID.20200101T000000.000Z.heap.pb.gz")" old "$name: an earlier run's file is untouched"
	is "$(cat "$OUT/notes.txt")" notes "$name: another file is untouched"
	ok "$([ -n "$first_seen" ] && [ -f "$FIRST" ]; echo $?)" "$name: the first profile is kept ($first_seen)"
	kill "$PID" 2>/dev/null
}

# this_run: the profiles of this run in $OUT, oldest first.
this_run() {
	profiles_of "$OUT" "$PID" | grep -v '\.2020'
}

# Three rounds of allocations a second apart: the newest has more than the first.
REPEAT=3 run keep --keep 3
is "$(this_run | wc -l)" 4 "keep 3: the first and the 3 newest are left"
is "$(this_run | head -n 1)" "$FIRST" "keep 3: the oldest left is the first"
pprof -top -sample_index=inuse_space -base "$FIRST" "$(this_run | tail -n 1)" >"$T/base.top" 2>&1
is $? 0 "keep 3: go tool pprof -base FIRST NEWEST works"
like "$(cat "$T/base.top")" 'leak_malloc' "keep 3: and shows what grew since the first"

run age --max-age 1s
n=$(this_run | wc -l)
ok "$([ "$n" -ge 2 ] && [ "$n" -le 9 ]; echo $?)" "max-age 1s: about a second of profiles and the first are left ($n of $WROTE)"
now=$(date +%s%N)
old=0
for f in $(this_run); do
	[ "$f" = "$FIRST" ] && continue
	m=$(stat -c %.9Y "$f" | tr -d .)
	age=$(((now - m) / 1000000))
	[ "$age" -le 2000 ] || { old=$((old + 1)); diag "$f is $age ms old"; }
done
is "$old" 0 "max-age 1s: nothing but the first is much older than a second"

run disk --max-disk 5k
total=$(this_run | xargs stat -c %s | awk '{ s += $1 } END { print s }')
ok "$([ "$total" -le 5120 ]; echo $?)" "max-disk 5k: this run's profiles total $total bytes"
n=$(this_run | wc -l)
ok "$([ "$n" -ge 2 ] && [ "$n" -lt "$WROTE" ]; echo $?)" "max-disk 5k: $n of $WROTE profiles left, the newest among them"
assert_table "$(this_run | tail -n 1)" "$ALLOC_KNOWN_TABLE" "disk: newest: "

done_testing
