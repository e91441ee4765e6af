#!/bin/bash
# The config file: `key = value` lines of long option names, applied as the
# command line applies them; the command line wins, a later line wins over an
# earlier one; /etc/heaptrace/heaptrace.conf is read when it exists (tried in a
# mount namespace of the test's own, with an overlay on /etc, so that no other
# heaptrace of the host sees it) and --config /dev/null reads none; each kind
# of bad file or line is one error naming FILE:LINE (or the file) and the fix,
# exit 2, nothing written; the shipped example parses with every one of its
# settings uncommented.
. "$(dirname "$0")/lib.sh"

require_root_btf
require_fixture alloc_known-fp

# A real trace whose sample rate, output directory and interval come from the file.
mkdir -p "$T/from-file" "$T/earlier" "$T/cli"
cat >"$T/good.conf" <<CONF
# comments and blank lines are skipped

   # an indented comment
output-dir = $T/earlier
sample-rate=1
	interval   =   200ms
output-dir = $T/from-file
follow-forks
alloc-only = false
CONF
run_bounded 60 "$HEAPTRACE" --config "$T/good.conf" -- "$FIXTURES/alloc_known-fp" >"$T/out" 2>"$T/err"
is $? 0 "heaptrace with a config file exits 0" || diag "$(tail -n 5 "$T/err")"
prof=$(last_profile "$T/from-file")
ok $([ -n "$prof" ]; echo $?) "the profile is in the file's output-dir (its later line)"
is "$(profiles_of "$T/earlier" | wc -l)" 0 "an earlier line for the same key does not count"
assert_table "$prof" "$ALLOC_KNOWN_TABLE" "sample-rate = 1 from the file: "

# The command line wins over the file; what it does not give still comes from it.
run_bounded 60 "$HEAPTRACE" -o "$T/cli" --config "$T/good.conf" -- "$FIXTURES/alloc_known-fp" \
	>"$T/out" 2>"$T/err"
is $? 0 "-o on the command line with a config file: exit 0" || diag "$(tail -n 5 "$T/err")"
is "$(profiles_of "$T/cli" | wc -l)" 1 "the command line's -o wins over the file's output-dir"
is "$(pprof_flat "$(last_profile "$T/cli")" alloc_objects leak_malloc)" 10 \
	"the file's sample-rate = 1 still applies"
printf 'sample-rate = 1\ninterval = 1s\n' >"$T/rate.conf"
# --write-empty: at that rate the profile has no sample, and would otherwise not be written.
run_bounded 60 "$HEAPTRACE" -r 1 -r 1000000000 --write-empty -o "$T/cli" --config "$T/rate.conf" -- \
	"$FIXTURES/alloc_known-fp" >"$T/out" 2>"$T/err"
is "$(pprof_flat "$(last_profile "$T/cli")" alloc_objects leak_malloc)" 0 \
	"-r on the command line wins over the file's sample-rate"

# A pipe: no size to read up front.
mkdir -p "$T/pipe"
printf 'sample-rate = 1\noutput-dir = %s\n' "$T/pipe" |
	run_bounded 60 "$HEAPTRACE" --config /dev/stdin -- "$FIXTURES/alloc_known-fp" >"$T/out" 2>"$T/err"
is "$?:$(pprof_flat "$(last_profile "$T/pipe")" alloc_objects leak_malloc)" 0:10 \
	"--config /dev/stdin reads a pipe"

# Bad files and lines: one error line with FILE:LINE and a fix, exit 2, nothing written.
# bad NAME CONTENT REGEX
bad() {
	local name=$1 content=$2 re=$3 f=$T/$1.conf
	printf '%b' "$content" >"$f"
	mkdir -p "$T/bad-$name"
	run_bounded 30 "$HEAPTRACE" --config "$f" -o "$T/bad-$name" -- "$FIXTURES/alloc_known-fp" \
		>"$T/out" 2>"$T/err"
	is $? 2 "$name: exit 2"
	is "$(wc -l <"$T/err")" 1 "$name: one line" || diag "$(cat "$T/err")"
	like "$(cat "$T/err")" "^heaptrace: error: ${re//FILE/$f}" "$name: names the problem and the fix"
	is "$(ls "$T/bad-$name" | wc -l)" 0 "$name: nothing written, the command not run"
	ok $(grep -q '^alloc_known: pid' "$T/out"; [ $? -ne 0 ]; echo $?) "$name: the command did not run"
}
bad unknown-key 'interval = 1s\nsampel-rate = 1\n' \
	"FILE:2: unknown option 'sampel-rate': see heaptrace --help$"
bad bad-value '\n\ninterval = 5 minutes\n' \
	"FILE:3: invalid interval '5 minutes': use a duration such as 500ms, 30s or 5m$"
bad bad-flag 'follow-forks = maybe\n' \
	"FILE:1: invalid value 'maybe' for --follow-forks: use true or false$"
bad not-a-line 'interval = 1s\n[heaptrace]\n' \
	"FILE:2: '\\[heaptrace\\]' is not a setting: write \`long-option-name = value\` \\(or start the line with '#' for a comment\\)$"
bad no-value 'output-dir =\n' "FILE:1: no value for 'output-dir': write \`output-dir = VALUE\`, or remove the line$"
bad bare-key-with-value 'interval\n' "FILE:1: option 'interval' needs a value: see heaptrace --help$"
bad action-key 'version = true\n' \
	"FILE:1: 'version' is an action, not a setting: give --version on the command line$"
bad nested-config 'config = /etc/other.conf\n' \
	"FILE:1: a config file cannot name another: give --config on the command line$"
bad nul-byte 'interval = 1s\n\0\n' \
	"config file 'FILE' holds a NUL byte: give a text file of \`key = value\` lines$"
bad checked-value 'comm = a-name-longer-than-fifteen\n' \
	"FILE:1: invalid --comm 'a-name-longer-than-fifteen': give a process name of 1 to 15 bytes"

# --config FILE must be there; a directory is no file.
for f in "$T/missing.conf" "$T"; do
	run_bounded 30 "$HEAPTRACE" --config "$f" -- "$FIXTURES/alloc_known-fp" >"$T/out" 2>"$T/err"
	is $? 2 "--config $(basename "$f"): exit 2"
	like "$(cat "$T/err")" \
		"^heaptrace: error: cannot read config file '$f': (No such file or directory|Is a directory): give a readable file, or --config /dev/null for none$" \
		"--config $(basename "$f"): says why and the way out"
done

# The default file, in a mount namespace of this test's own: an overlay on /etc.
mkdir -p "$T/ov/up" "$T/ov/work" "$T/default"
in_own_etc() {
	unshare -m --propagation private sh -ec '
		mount -t overlay overlay -o "lowerdir=/etc,upperdir=$1/up,workdir=$1/work" /etc
		mkdir -p /etc/heaptrace
		cat >/etc/heaptrace/heaptrace.conf
		shift
		exec "$@"' sh "$T/ov" "$@"
}
printf 'sample-rate = 1\noutput-dir = %s\n' "$T/default" |
	in_own_etc timeout --kill-after=5 60 "$HEAPTRACE" -- "$FIXTURES/alloc_known-fp" >"$T/out" 2>"$T/err"
is $? 0 "with /etc/heaptrace/heaptrace.conf: exit 0" || diag "$(tail -n 5 "$T/err")"
is "$(pprof_flat "$(last_profile "$T/default")" alloc_objects leak_malloc)" 10 \
	"the default file is read when it exists"
printf 'interval = never\n' | in_own_etc "$HEAPTRACE" -p $$ >"$T/out" 2>"$T/err"
is $? 2 "a bad default file: exit 2"
like "$(cat "$T/err")" "^heaptrace: error: /etc/heaptrace/heaptrace.conf:1: invalid interval 'never'" \
	"a bad default file: named, with its line"
mkdir -p "$T/none"
# --write-empty: at the default rate the fixture's profile may have no sample.
printf 'interval = never\n' | in_own_etc timeout --kill-after=5 60 "$HEAPTRACE" --config /dev/null \
	--write-empty -o "$T/none" -- "$FIXTURES/alloc_known-fp" >"$T/out" 2>"$T/err"
is $? 0 "--config /dev/null reads no file" || diag "$(cat "$T/err")"
is "$(profiles_of "$T/none" | wc -l)" 1 "--config /dev/null: the trace ran"
ok $(! grep -qs 'interval = never' /etc/heaptrace/heaptrace.conf; echo $?) \
	"the host's /etc never saw the test's file"

# The shipped example: as it is, and with every setting in it uncommented.
run_bounded 30 "$HEAPTRACE" --config "$TOPDIR/dist/heaptrace.conf" --list-allocators -p $$ \
	>"$T/out" 2>"$T/err"
is $? 0 "the shipped heaptrace.conf parses" || diag "$(cat "$T/err")"
sed -E 's/^#([a-z][a-z0-9-]* *=)/\1/' "$TOPDIR/dist/heaptrace.conf" >"$T/uncommented.conf"
# Its system-wide filters would refuse -p $$: a shell of this test is no redis-server.
sed -i -E '/^(comm|cgroup) =/d; s|^output-dir = .*|output-dir = '"$T"'|' "$T/uncommented.conf"
n=$(grep -cE '^[a-z]' "$T/uncommented.conf")
ok $([ "$n" -ge 10 ]; echo $?) "the example has settings to uncomment ($n)"
run_bounded 30 "$HEAPTRACE" --config "$T/uncommented.conf" --list-allocators -p $$ >"$T/out" 2>"$T/err"
is $? 0 "every setting of the shipped example is valid" || diag "$(cat "$T/err")"
# The two system-wide filters, parsed (then refused for want of a target to list).
grep -E '^#(comm|cgroup) = ' "$TOPDIR/dist/heaptrace.conf" | sed 's/^#//' >"$T/filters.conf"
is "$(wc -l <"$T/filters.conf")" 2 "the example shows comm and cgroup"
"$HEAPTRACE" --config "$T/filters.conf" --list-allocators >"$T/out" 2>"$T/err"
like "$(cat "$T/err")" '^heaptrace: error: nothing to list' "the example's comm and cgroup lines parse"

done_testing
