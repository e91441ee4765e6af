#!/bin/bash
# A full disk: heaptrace says so in one error line and exits non-zero, and
# the profiles it wrote before are left whole (they still open in pprof).
# The disk is a tiny tmpfs mounted for the test.
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
wait_exit "$HT_PID" 20
rc=$EXIT_STATUS
ok "$([ -n "$rc" ] && [ "$rc" -ne 0 ]; echo $?)" "heaptrace exits non-zero on a full disk (got $rc)"
line=$(grep -m1 '^heaptrace: error:' "$T/ht.err")
like "$line" 'No space left on device' "the error names the problem: $line"
like "$line" "$disk" "the error names the directory"
is "$(grep -c '^heaptrace: error:' "$T/ht.err")" 1 "exactly one error line"

intact=0
for f in $(profiles_of "$disk"); do
	if gzip -t "$f" 2>/dev/null && pprof -raw "$f" >/dev/null 2>&1; then
		intact=$((intact + 1))
	else
		diag "damaged: $f"
	fi
done
is "$intact" "$(profiles_of "$disk" | wc -l)" "every profile on the full disk is whole"
ok "$([ "$intact" -ge "$before" ]; echo $?)" "none of the $before earlier profiles was lost"
left=$(find "$disk" -name '.*tmp*' | wc -l)
is "$left" 0 "no temporary file left behind"

done_testing
