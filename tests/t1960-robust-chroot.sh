#!/bin/bash
# A chroot'ed process is traced with -p: /proc/PID/maps names its files with
# the chroot in front ("/jail/lib/.../libc.so.6"), so /proc/PID/root + that
# path names nothing, and heaptrace must reach them through the mapping
# (/proc/PID/map_files). Exact numbers at -r 1 for a dynamic fixture (its
# libc copied into the chroot) in both unwinding modes, and for a static one.
# Without the capability map_files needs (CAP_SYS_ADMIN, or
# CAP_CHECKPOINT_RESTORE), the files cannot be opened at all: heaptrace says
# so, and does not guess "a stripped static binary".
. "$(dirname "$0")/lib.sh"

require_root_btf
require_fixture alloc_known-fp alloc_known-nofp alloc_known-static
command -v chroot >/dev/null || bail_out "chroot (coreutils) is missing"
command -v setpriv >/dev/null || bail_out "setpriv (util-linux) is missing"

# make_jail DIR FIXTURE: DIR/bin/FIXTURE and the libraries it needs, nothing else.
make_jail() {
	local dir=$1 fixture=$2 lib
	mkdir -p "$dir/bin"
	cp "$FIXTURES/$fixture" "$dir/bin/"
	for lib in $(ldd "$FIXTURES/$fixture" 2>/dev/null | grep -o '/[^ ]*'); do
		mkdir -p "$dir$(dirname "$lib")"
		cp "$lib" "$dir$lib"
	done
}

for run in fp:alloc_known-fp dwarf:alloc_known-nofp dwarf:alloc_known-static; do
	mode=${run%%:*}
	fixture=${run#*:}
	jail=$T/jail-$fixture
	out=$T/out-$fixture
	mkdir -p "$out"
	make_jail "$jail" "$fixture"
	chroot "$jail" "/bin/$fixture" --wait >"$T/fix-$fixture.out" 2>&1 &
	pid=$!
	track_pid "$pid"
	wait_for_line "$T/fix-$fixture.out" '^ready$' 20 1 "$pid" ||
		bail_out "chroot'ed fixture did not start: $(cat "$T/fix-$fixture.out")"
	ok "$([ "$(readlink "/proc/$pid/root")" = "$jail" ] &&
		grep -qF " $jail/bin/$fixture" "/proc/$pid/maps"
	echo $?)" "$fixture: chroot'ed, and its maps name the binary with the chroot in front"

	if [ "$fixture" = alloc_known-nofp ]; then
		setpriv --inh-caps=-sys_admin,-checkpoint_restore \
			--bounding-set=-sys_admin,-checkpoint_restore \
			"$HEAPTRACE" -r 1 -o "$out" -p "$pid" >"$T/nocap.out" 2>"$T/nocap.err"
		is $? 1 "$fixture, map_files not permitted: heaptrace exits 1"
		is "$(wc -l <"$T/nocap.err")" 1 "$fixture, map_files not permitted: one line" ||
			diag "$(cat "$T/nocap.err")"
		like "$(cat "$T/nocap.err")" "^heaptrace: error: allocator not found in pid $pid \\(.*\\): some of its mapped files could not be opened, through /proc/$pid/root or /proc/$pid/map_files: see heaptrace --list-allocators -p $pid\$" \
			"$fixture, map_files not permitted: the files that could not be opened are named as the cause"
		ok "$(grep -q 'static' "$T/nocap.err"; [ $? -ne 0 ]; echo $?)" \
			"$fixture, map_files not permitted: no guess about a static binary"
	fi

	start_heaptrace "$T/err-$fixture" --unwind "$mode" -r 1 -o "$out" -p "$pid" ||
		bail_out "heaptrace did not attach to the chroot'ed $fixture"
	kill -USR1 "$pid"
	wait_exit "$pid" 20
	wait_exit "$HT_PID" 30
	is "$EXIT_STATUS" 0 "$fixture: heaptrace exits 0 with its target" ||
		diag "$(tail -n 20 "$T/err-$fixture")"
	ok "$(grep -qE 'error:|warning:|stripped' "$T/err-$fixture"; [ $? -ne 0 ]; echo $?)" \
		"$fixture: no error or warning" || diag "$(cat "$T/err-$fixture")"
	prof=$(last_profile "$out" "$pid")
	ok "$([ -n "$prof" ]; echo $?)" "$fixture: a profile"
	[ -n "$prof" ] || continue
	assert_table "$prof" "$ALLOC_KNOWN_TABLE" "$fixture in a chroot, --unwind $mode: "
done

done_testing
