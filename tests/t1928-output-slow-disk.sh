#!/bin/bash
# A slow output filesystem (a FUSE filesystem whose fsync takes 4 s) stalls
# nothing: profiles are built every interval, HTTP answers at once, no
# event is lost, and SIGTERM ends heaptrace within 2 s, the final profile
# that could not be written in time said, not waited for. The helper
# process stuck in fsync ends once the filesystem answers.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-http.sh"

require_root_btf
require_fixture alloc_known-fp
require_fixture slowfs-fp
[ -c /dev/fuse ] || _precondition_missing "no /dev/fuse"

back=$T/back
mnt=$T/mnt
mkdir "$back" "$mnt"
"$FIXTURES/slowfs-fp" "$back" "$mnt" 4000 2>"$T/slowfs.err" &
fuse=$!
trap 'umount -l "$mnt" 2>/dev/null; kill "$fuse" 2>/dev/null; _cleanup' EXIT
for _ in $(seq 50); do mountpoint -q "$mnt" && break; sleep 0.1; done
mountpoint -q "$mnt" || bail_out "slowfs did not mount: $(cat "$T/slowfs.err")"
t0=$(date +%s%N)
echo x >"$mnt/probe" && sync "$mnt/probe"
ms=$((($(date +%s%N) - t0) / 1000000))
ok "$([ "$ms" -ge 3900 ]; echo $?)" "the filesystem's fsync is slow ($ms ms)"
rm -f "$mnt/probe"

start_fixture alloc_known-fp --wait --hold 60
fix=$FIX_PID
start_http_trace "$T/ht.err" -p "$fix" -r 1 -i 1s -o "$mnt" || bail_out "heaptrace did not start"
helper=$(pgrep -P "$HT_PID" | head -n 1)
ok "$([ -n "$helper" ]; echo $?)" "heaptrace has its writing helper ($helper)"
kill -USR1 "$fix"

# Eight seconds: two profiles at most reach the disk, eight are built.
slow=0
times=
for i in 1 2 3 4 5; do
	sleep 1.4
	t0=$(date +%s%N)
	code=$(curl -s -m 10 -o "$T/heap$i.pb.gz" -w "%{http_code}" "$BASE_URL/heap")
	ms=$((($(date +%s%N) - t0) / 1000000))
	times="$times $ms"
	[ "$code" = 200 ] && [ "$ms" -lt 1000 ] || { slow=$((slow + 1)); diag "request $i: $code in $ms ms"; }
done
diag "HTTP answer times (ms):$times"
is "$slow" 0 "5 of 5 HTTP requests answered 200 in under a second"
lines=$(grep -c inuse "$T/ht.err")
ok "$([ "$lines" -ge 6 ]; echo $?)" "a profile built every interval ($lines status lines in about 8 s)"
like "$(grep inuse "$T/ht.err" | tail -n 1)" ' 0 lost, [0-9]+ profiles waiting for the disk$' "nothing lost, and the status line counts what waits"
assert_table "$T/heap5.pb.gz" "$ALLOC_KNOWN_TABLE" "HTTP: "

t0=$(date +%s%N)
kill -TERM "$HT_PID"
wait_exit "$HT_PID" 20
ms=$((($(date +%s%N) - t0) / 1000000))
ok "$([ "$ms" -lt 2000 ]; echo $?)" "SIGTERM: heaptrace ended in under 2 s ($ms ms)"
is "$EXIT_STATUS" 1 "exit status 1: profiles were left unwritten"
like "$(grep '^heaptrace: warning:' "$T/ht.err" | tail -n 1)" "profiles not written: '$mnt' did not take them in time" "the unwritten profiles are said"
gone=1
for _ in $(seq 100); do kill -0 "$helper" 2>/dev/null || { gone=0; break; }; sleep 0.1; done
is "$gone" 0 "the helper ended too once the filesystem answered"

umount "$mnt"
intact=0
for f in $(profiles_of "$back"); do
	gzip -t "$f" 2>/dev/null && pprof -raw "$f" >/dev/null 2>&1 && intact=$((intact + 1))
done
ok "$([ "$intact" -ge 1 ] && [ "$intact" = "$(profiles_of "$back" | wc -l)" ]; echo $?)" "the profiles that reached the disk are whole ($intact)"

done_testing
