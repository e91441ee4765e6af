#!/bin/bash
# A full disk: heaptrace says so once, with the cause, keeps tracing (the
# status line counts the profiles that wait), and writes them all once
# there is room again; every profile on the disk is whole and no
# temporary file is left. The disk is a tiny tmpfs mounted for the test.
. "$(dirname "$0")/lib.sh"

require_root_btf
require_fixture alloc_known-fp

disk=$T/disk
mkdir -p "$disk"
mount -t tmpfs -o size=256k tmpfs "$disk" || bail_out "cannot mount a tmpfs on $disk"
trap 'umount "$disk" 2>/dev/null; _cleanup' EXIT

start_fixture alloc_known-fp --wait --hold 30
fix=$FIX_PID
start_heaptrace "$T/ht.err" -p "$fix" -r 1 -i 300ms -o "$disk" || bail_out "heaptrace did not start"
kill -USR1 "$fix"

# Let a few profiles land, then fill the disk behind heaptrace's back.
wait_for_line "$T/ht.err" 'inuse' 20 3 "$HT_PID"
before=$(profiles_of "$disk" | wc -l)
ok "$([ "$before" -ge 1 ]; echo $?)" "profiles were written before the disk filled ($before)"
dd if=/dev/zero of="$disk/filler" bs=4k 2>/dev/null
wait_for_line "$T/ht.err" '^heaptrace: warning: cannot write' 20 1 "$HT_PID"
ok $? "the failed write is said"
line=$(grep -m1 '^heaptrace: warning: cannot write' "$T/ht.err")
like "$line" 'No space left on device: the filesystem is full' "it names the cause: $line"
like "$line" "$disk" "it names the directory"
like "$line" "tracing goes on" "it says tracing goes on"
wait_for_line "$T/ht.err" 'profiles waiting for the disk$' 20 3 "$HT_PID"
ok $? "the status line counts the profiles that wait"
is_running "$HT_PID"
ok $? "heaptrace is still tracing"
is "$(grep -c '^heaptrace: warning: cannot write' "$T/ht.err")" 1 "one warning for the whole fault"
is "$(grep -c '^heaptrace: error:' "$T/ht.err")" 0 "no error line"
waited=$(grep 'profiles waiting for the disk$' "$T/ht.err" | tail -n 1 | sed -E 's/.* ([0-9]+) profiles waiting.*/\1/')

rm -f "$disk/filler"
wait_for_line "$T/ht.err" "profiles are written into '$disk' again" 20 1 "$HT_PID"
ok $? "once there is room, writing resumes and that is said"
sleep 1
after=$(profiles_of "$disk" | wc -l)
ok "$([ "$after" -ge $((before + waited)) ]; echo $?)" "the $waited profiles that waited were written ($before before, $after now)"
kill -TERM "$HT_PID"
wait_exit "$HT_PID" 20
is "$EXIT_STATUS" 0 "heaptrace exits 0: every profile reached the disk"

intact=0
for f in $(profiles_of "$disk"); do
	if gzip -t "$f" 2>/dev/null && pprof -raw "$f" >/dev/null 2>&1; then
		intact=$((intact + 1))
	else
		diag "damaged: $f"
	fi
done
is "$intact" "$(profiles_of "$disk" | wc -l)" "every profile on the disk is whole"
assert_table "$(last_profile "$disk")" "$ALLOC_KNOWN_TABLE"
left=$(find "$disk" -name '.*tmp*' | wc -l)
is "$left" 0 "no temporary file left behind"

done_testing
