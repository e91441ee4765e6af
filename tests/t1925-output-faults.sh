#!/bin/bash
# Faults of the output directory, each for real: removed, its filesystem
# remounted read-only, writes refused (the immutable attribute). Each is
# said once with its own cause, tracing goes on meanwhile, and when the
# fault passes the profiles that waited are written and that is said.
. "$(dirname "$0")/lib.sh"

require_root_btf
require_fixture alloc_known-fp

disk=$T/disk
mkdir -p "$disk"
mount -t tmpfs -o size=4m tmpfs "$disk" || bail_out "cannot mount a tmpfs on $disk"
trap 'chattr -i "$disk/out" 2>/dev/null; umount "$disk" 2>/dev/null; _cleanup' EXIT
out=$disk/out
mkdir "$out"

start_fixture alloc_known-fp --wait --hold 60
fix=$FIX_PID
start_heaptrace "$T/ht.err" -p "$fix" -r 1 -i 300ms -o "$out" || bail_out "heaptrace did not start"
kill -USR1 "$fix"
wait_for_line "$T/ht.err" 'inuse' 20 2 "$HT_PID"

# fault NAME CAUSE_RE BREAK REPAIR: one warning with the cause, tracing on, then recovery.
nth=0
fault() {
	local name=$1 cause=$2 brk=$3 repair=$4 n line
	nth=$((nth + 1))
	eval "$brk"
	wait_for_line "$T/ht.err" '^heaptrace: warning: cannot write' 20 "$nth" "$HT_PID"
	ok $? "$name: the failed write is said"
	line=$(grep '^heaptrace: warning: cannot write' "$T/ht.err" | tail -n 1)
	like "$line" "$cause" "$name: with its cause: $line"
	n=$(grep -c inuse "$T/ht.err")
	wait_for_line "$T/ht.err" 'inuse' 20 $((n + 3)) "$HT_PID"
	ok $? "$name: tracing goes on (status lines keep coming)"
	like "$(grep inuse "$T/ht.err" | tail -n 1)" '[0-9]+ profiles waiting for the disk$' "$name: the status line says profiles wait"
	is "$(grep -c '^heaptrace: warning: cannot write' "$T/ht.err")" "$nth" "$name: said once"
	eval "$repair"
	wait_for_line "$T/ht.err" "profiles are written into '$out' again" 20 "$nth" "$HT_PID"
	ok $? "$name: writing resumes once the fault passes"
}

fault "removed" "No such file or directory: the directory was removed" 'rm -rf "$out"' 'mkdir "$out"'
sleep 1
ok "$([ "$(profiles_of "$out" | wc -l)" -ge 3 ]; echo $?)" "removed: the waiting profiles went into the directory made again"
fault "read-only" "Read-only file system: the filesystem is read-only" \
	'mount -o remount,ro "$disk"' 'mount -o remount,rw "$disk"'
fault "permission" "Operation not permitted: permission denied" 'chattr +i "$out"' 'chattr -i "$out"'

kill -TERM "$HT_PID"
wait_exit "$HT_PID" 20
is "$EXIT_STATUS" 0 "heaptrace exits 0 after three faults"
is "$(grep -c '^heaptrace: error:' "$T/ht.err")" 0 "no error line"
assert_table "$(last_profile "$out")" "$ALLOC_KNOWN_TABLE"
is "$(find "$out" -name '.*tmp*' | wc -l)" 0 "no temporary file left behind"

done_testing
