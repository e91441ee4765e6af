#!/bin/bash
# The systemd units as installed: systemd-analyze verify finds nothing wrong
# with them (nor with their man page reference) and security --offline rates
# both at most 4.0; their capability bounding set is what heaptrace needs,
# tested the hard way: with exactly that set heaptrace traces a command and
# another user's process, without CAP_SYS_ADMIN or CAP_SYS_PTRACE it cannot;
# the template's own command line, run as systemd would run it for a unit
# whose cgroup is the test's, traces that unit's process into its state
# directory. (No systemd runs as PID 1 here, so the sandbox itself is not.)
. "$(dirname "$0")/lib.sh"

require_root_btf
require_fixture alloc_known-fp
command -v systemd-analyze >/dev/null || _precondition_missing "systemd-analyze is not installed"
command -v setpriv >/dev/null || _precondition_missing "setpriv (util-linux) is not installed"
command -v strace >/dev/null || _precondition_missing "strace is not installed (scripts/install-deps.sh)"

# Installed as the Debian package puts them, beside a copy of systemd's own units
# (verify follows the units' dependencies, such as sysinit.target).
ROOT=$T/root
run_bounded 120 make --no-print-directory -C "$TOPDIR" BUILD="$BUILD" install DESTDIR="$ROOT" \
	PREFIX=/usr systemdunitdir=/lib/systemd/system >"$T/make.out" 2>&1
is $? 0 "make install PREFIX=/usr into a root" || diag "$(tail -n 20 "$T/make.out")"
mkdir -p "$ROOT/usr/lib/systemd"
cp -a /usr/lib/systemd/system "$ROOT/usr/lib/systemd/"
UNITDIR=$ROOT/lib/systemd/system

for unit in heaptrace.service heaptrace@redis-server.service; do
	MANPATH=$ROOT/usr/share/man run_bounded 60 systemd-analyze verify --root="$ROOT" "$unit" \
		>"$T/verify" 2>&1
	is "$?:$(cat "$T/verify")" "0:" "systemd-analyze verify $unit: clean"
	run_bounded 60 systemd-analyze security --offline=true --root="$ROOT" "$unit" >"$T/sec" 2>&1
	level=$(sed -n 's/.*Overall exposure level for [^ ]*: \([0-9.]*\) .*/\1/p' "$T/sec")
	ok $(awk -v l="$level" 'BEGIN { exit !(l != "" && l <= 4.0) }'; echo $?) \
		"systemd-analyze security $unit: exposure $level, at most 4.0" || diag "$(tail -n 5 "$T/sec")"
done

# Each setting the brief of a hardened service asks for is there.
for setting in 'ProtectSystem=strict' 'PrivateTmp=yes' 'ProtectHome=yes' 'NoNewPrivileges=yes' \
	'UMask=0027' 'RestrictAddressFamilies=' 'SystemCallFilter=@system-service' \
	'StateDirectory=heaptrace'; do
	for unit in heaptrace.service heaptrace@.service; do
		ok $(grep -q "^$setting" "$UNITDIR/$unit"; echo $?) "$unit: $setting"
	done
done

# The capabilities: the unit's bounding set, as setpriv takes it.
caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$UNITDIR/heaptrace.service")
is "$caps" "$(sed -n 's/^CapabilityBoundingSet=//p' "$UNITDIR/heaptrace@.service")" \
	"both units keep the same capabilities"
capset() { # CAP_A CAP_B ... -> +a,+b
	local c out=
	for c in "$@"; do
		c=${c#CAP_}
		out+=",+${c,,}"
	done
	echo "${out#,}"
}
with_caps() { # SET CMD...: CMD as root with only the capabilities of SET
	local set=$1
	shift
	setpriv --bounding-set=-all,"$set" --inh-caps=-all -- "$@"
}
UNIT_CAPS=$(capset $caps)
# traced_with SET LABEL EXPECT: a command, then a process of user nobody, traced at -r 1.
traced_with() {
	local set=$1 label=$2 expect=$3 out=$T/out-$RANDOM got
	mkdir -p "$out"
	with_caps "$set" timeout 60 "$HEAPTRACE" --config /dev/null -r 1 -o "$out" -- \
		"$FIXTURES/alloc_known-fp" >"$T/stdout" 2>"$T/err"
	got=none
	[ -n "$(last_profile "$out")" ] && got=$(pprof_flat "$(last_profile "$out")" alloc_objects leak_malloc)
	is "$got" "$expect" "$label: a command traced (leak_malloc $expect)" ||
		diag "$(grep error "$T/err")"
	rm -f "$out"/*
	setpriv --reuid=nobody --regid=nogroup --clear-groups "$FIXTURES/alloc_known-fp" --wait \
		>"$T/nobody.out" 2>&1 &
	local fpid=$!
	track_pid $fpid
	wait_for_line "$T/nobody.out" '^ready$' 20 1 $fpid ||
		diag "the fixture of user nobody did not get ready: $(cat "$T/nobody.out")"
	with_caps "$set" "$HEAPTRACE" --config /dev/null -r 1 -o "$out" -p $fpid >"$T/stdout" 2>"$T/err" &
	local hpid=$!
	track_pid $hpid
	wait_for_line "$T/err" 'tracing pid|error' 20 1 $hpid
	kill -USR1 $fpid
	wait_exit $fpid 20
	wait_exit $hpid 20
	got=none
	[ -n "$(last_profile "$out")" ] && got=$(pprof_flat "$(last_profile "$out")" alloc_objects leak_malloc)
	is "$got" "$4" "$label: a process of user nobody traced (leak_malloc $4)" ||
		diag "$(grep error "$T/err")"
}
traced_with "$UNIT_CAPS" "the unit's capabilities ($caps)" 10 10
traced_with "$(capset ${caps//CAP_SYS_ADMIN/})" "without CAP_SYS_ADMIN" none none
traced_with "$(capset ${caps//CAP_SYS_PTRACE/})" "without CAP_SYS_PTRACE" 10 none

# The template's command line, as systemd runs it for heaptrace@UNIT.service: %i
# is the watched unit's name without .service, HEAPTRACE_CGROUP the drop-in's (this host's cgroup v2 hierarchy
# is not at /sys/fs/cgroup), /var/lib the state directory's parent (its own, in
# a mount namespace of the test's).
make_test_cgroup
UNIT=t1903-watched
exec_start=$(sed -n 's/^ExecStart=//p' "$UNITDIR/heaptrace@.service")
like "$exec_start" '--cgroup \$\{HEAPTRACE_CGROUP\} --output-dir /var/lib/heaptrace/%i$' \
	"the template traces its unit's cgroup into its state directory"
like "$(grep '^Environment=HEAPTRACE_CGROUP=' "$UNITDIR/heaptrace@.service")" \
	'=/sys/fs/cgroup/system.slice/%i.service$' "by default, the unit's cgroup under system.slice"
cmdline=${exec_start//%i/$UNIT}
cmdline=${cmdline//\$\{HEAPTRACE_CGROUP\}/$cg}
# The installed binary: the root's /usr/sbin is $ROOT/usr/sbin here.
cmdline=${cmdline/#\/usr\/sbin\/heaptrace/$ROOT/usr/sbin/heaptrace}
mkdir -p "$T/varlib/heaptrace/$UNIT"
sh -ec 'echo $$ >"$1/cgroup.procs"; exec "$2" --wait' sh "$cg" "$FIXTURES/alloc_known-fp" \
	>"$T/watched.out" 2>&1 &
wpid=$!
track_pid $wpid
wait_for_line "$T/watched.out" '^ready$' 20 1 $wpid
is "$(cat "$cg/cgroup.procs")" "$wpid" "the watched process is in the unit's cgroup"
# The unit's command with its capabilities, plus a duration so that it ends;
# under strace, for the system calls it makes. (A sanitized build's leak check
# would stop the threads with ptrace, which strace holds: it is off for this run.)
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 unshare -m --propagation private sh -ec 'mount --bind "$1" /var/lib; shift; exec "$@"' sh \
	"$T/varlib" setpriv --bounding-set=-all,"$UNIT_CAPS" --inh-caps=-all -- \
	strace -f -qq -o "$T/syscalls" $cmdline \
	--config /dev/null -r 1 --interval 500ms --duration 6s >"$T/stdout" 2>"$T/err" &
hpid=$!
track_pid $hpid
wait_for_line "$T/err" 'tracing' 20 1 $hpid
sleep 1
kill -USR1 $wpid
wait_exit $wpid 20
wait_exit $hpid 30
is "$EXIT_STATUS" 0 "the template's command exits 0" || diag "$(tail -n 5 "$T/err")"
prof=$(last_profile "$T/varlib/heaptrace/$UNIT")
ok $([ -n "$prof" ]; echo $?) "profiles in /var/lib/heaptrace/$UNIT"
assert_table "$prof" "$ALLOC_KNOWN_TABLE" "heaptrace@$UNIT: "

# Every system call it made is one the units' SystemCallFilter= lines allow:
# the allow list's groups expanded (systemd-analyze syscall-filter), less the
# deny list's.
expand() { # GROUP-OR-CALL...: the calls, groups expanded
	local g
	for g in "$@"; do
		case $g in
		@*) expand $(systemd-analyze syscall-filter "$g" | tail -n +2 | grep -v '^ *#' | tr -d ' ') ;;
		*) echo "$g" ;;
		esac
	done
}
filters=$(grep '^SystemCallFilter=' "$UNITDIR/heaptrace@.service" | sed 's/^SystemCallFilter=//')
allow=$(head -n 1 <<<"$filters")
deny=$(sed -n '2s/^~//p' <<<"$filters")
ok $([ -n "$allow" ] && [ -n "$deny" ]; echo $?) "an allow list and a deny list"
expand $allow | sort -u >"$T/allowed"
expand $deny | sort -u >"$T/denied"
comm -23 "$T/allowed" "$T/denied" >"$T/permitted"
grep -oE '^[0-9]+ +[a-z_0-9]+\(' "$T/syscalls" | sed -E 's/^[0-9]+ +//; s/\($//' | sort -u >"$T/used"
n=$(wc -l <"$T/used")
ok $([ "$n" -ge 20 ]; echo $?) "strace saw heaptrace's system calls ($n kinds)"
is "$(comm -23 "$T/used" "$T/permitted" | tr '\n' ' ')" "" \
	"every system call heaptrace made is permitted by SystemCallFilter="

done_testing
