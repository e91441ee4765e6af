#!/bin/bash
# Who may read profiles over HTTP: by default root and the owner of the
# process asked about. A real unprivileged local user gets 403 (one line
# saying why) for root's process and 200 for their own, and the index lists
# only their own; `go tool pprof http://127.0.0.1:PORT/debug/pprof/heap`
# works for root and for the owner. --http-allow group:NAME adds that
# group's members, anyone opens it to all. --http unix:PATH is a socket of
# mode 0600 that curl --unix-socket reads and others cannot connect to. An
# address other hosts can reach gets a warning; a pid that does not decode
# (%00) is a 400; bad --http-allow values are refused with one line.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-http.sh"

require_root_btf
require_fixture alloc_known-nofp
for c in curl useradd userdel groupadd groupdel setpriv runuser; do
	command -v $c >/dev/null || bail_out "$c is not installed"
done

# A user and a group of this test's own, removed at exit.
U=ht$$
G=htg$$
_cleanup_account() {
	userdel "$U" 2>/dev/null
	groupdel "$G" 2>/dev/null
}
trap '_cleanup_account; _cleanup' EXIT
groupadd "$G" || bail_out "groupadd $G failed"
useradd -M -r -s /usr/sbin/nologin -U -G "$G" "$U" || bail_out "useradd $U failed"
uid=$(id -u "$U")
mkdir -p "$T/uhome" "$T/o"
chown "$U" "$T/uhome"
chmod 1777 "$T/uhome" # nobody writes its answers there too

# as_user USER CMD...: CMD as USER, with a home of its own for go tool pprof.
as_user() {
	local who=$1
	shift
	runuser -u "$who" -- env HOME="$T/uhome" PPROF_TMPDIR="$T/uhome" "$@"
}
code_as() {
	local who=$1 url=$2
	as_user "$who" curl -s -o "$T/uhome/body.$who" -m 10 -w '%{http_code}' "$url"
	cp "$T/uhome/body.$who" "$T/body"
}

# The user's process and root's, both at -r 1.
setpriv --reuid="$U" --regid="$U" --init-groups "$FIXTURES/alloc_known-nofp" --wait --hold 60 \
	>"$T/u.out" 2>&1 &
upid=$!
track_pid "$upid"
start_fixture alloc_known-nofp --wait --hold 60 || bail_out "fixture did not start"
rpid=$FIX_PID
wait_for_line "$T/u.out" '^ready$' 20 1 "$upid" || bail_out "the user's fixture did not start"
is "$(stat -c %u "/proc/$upid")" "$uid" "the user's fixture runs as uid $uid"

start_http_trace "$T/err" -r 1 -i 1h -o "$T/o" -p "$upid" -p "$rpid" || bail_out "heaptrace did not start"
kill -USR1 "$upid" "$rpid"
for pid in $upid $rpid; do
	for _ in $(seq 100); do
		curl -s -m 5 "$BASE_URL/heap?pid=$pid&debug=1" >"$T/text" 2>/dev/null
		[ "$(legacy_record "$T/text" edge_cases)" = "0: 0 [1: 500]" ] && break
		sleep 0.1
	done
done

# The user: 403 for root's process, 200 for their own.
is "$(code_as "$U" "$BASE_URL/heap?pid=$rpid")" 403 "user $U: root's process: 403"
like "$(cat "$T/body")" "^pid $rpid: uid $uid may not read the profiles of a process of uid 0: only root, its owner may \\(heaptrace --http-allow widens this\\)$" \
	"403: one line saying why"
is "$(code_as "$U" "$BASE_URL/heap?pid=$rpid&debug=1")" 403 "user $U: root's process as text: 403"
is "$(code_as "$U" "$BASE_URL/allocs?pid=$rpid")" 403 "user $U: root's allocs: 403"
is "$(code_as "$U" "$BASE_URL/heap?pid=$upid")" 200 "user $U: their own process: 200"
as_user "$U" curl -s -m 10 "$BASE_URL/" >"$T/uindex"
is "$(grep -c "pid $upid (" "$T/uindex")" 1 "user's index lists their own process"
is "$(grep -c "pid $rpid (" "$T/uindex")" 0 "user's index does not list root's"
as_user "$U" curl -s -m 10 "$BASE_URL/heap" >"$T/several"
like "$(cat "$T/several")" "^several processes are traced: add \\?pid= with one of: $upid$" \
	"user: the pid list names only their own"
as_user "$U" go tool pprof -top -sample_index=inuse_space -unit=B "$BASE_URL/heap?pid=$upid" \
	>"$T/utop" 2>"$T/utop.err"
is $? 0 "user: go tool pprof on their own process" || diag "$(cat "$T/utop.err")"
like "$(grep ' leak_valloc$' "$T/utop")" '^ *5000B ' "user's go tool pprof: leak_valloc 5000 B in use"
# The scrapers' routes show the user only their own process too.
root_url=http://127.0.0.1:$HTTP_PORT
as_user "$U" curl -s -m 10 "$root_url/debug/pprof/targets" >"$T/utargets"
is "$(grep -c "\"$upid\"" "$T/utargets")" 1 "user's /debug/pprof/targets: their own process"
is "$(grep -c "\"$rpid\"" "$T/utargets")" 0 "user's /debug/pprof/targets: not root's"
as_user "$U" curl -s -m 10 "$root_url/metrics" >"$T/umetrics"
is "$(grep -c "pid=\"$upid\"" "$T/umetrics" | sed 's/^[1-9][0-9]*$/some/')" some "user's /metrics: series of their own process"
is "$(grep -c "pid=\"$rpid\"" "$T/umetrics")" 0 "user's /metrics: no series of root's"
is "$(code_as "$U" "$root_url/metrics?pid=$rpid")" 403 "user: /metrics?pid= of root's: 403"
is "$(code_as "$U" "$root_url/pid/$rpid/metrics")" 403 "user: /pid/ROOTPID/metrics: 403"
is "$(code_as "$U" "$root_url/pid/$rpid/debug/pprof/heap")" 403 "user: /pid/ROOTPID/debug/pprof/heap: 403"
is "$(code_as "$U" "$root_url/pid/$upid/debug/pprof/heap")" 200 "user: /pid/OWNPID/debug/pprof/heap: 200"
curl -s -m 10 "$root_url/metrics" >"$T/rmetrics"
is "$(grep -c "pid=\"$rpid\"" "$T/rmetrics" | sed 's/^[1-9][0-9]*$/some/')" some "root's /metrics: root's process too"

# nobody is no member of the group, and owns neither.
is "$(code_as nobody "$BASE_URL/heap?pid=$upid")" 403 "nobody: the user's process: 403"

# Root reads both.
is "$(http_code "$BASE_URL/heap?pid=$rpid")" 200 "root: root's process: 200"
is "$(http_code "$BASE_URL/heap?pid=$upid")" 200 "root: the user's process: 200"
curl -s -m 10 "$BASE_URL/" >"$T/rindex"
is "$(grep -cE "pid ($upid|$rpid) \(" "$T/rindex")" 2 "root's index lists both"
curl -s -m 10 -o "$T/u.pb.gz" "$BASE_URL/heap?pid=$upid"
assert_table "$T/u.pb.gz" "$ALLOC_KNOWN_TABLE" "root reads the user's process: "

# A pid that does not decode is refused, never cut at the NUL.
is "$(http_code "$BASE_URL/heap?pid=$rpid%00abc")" 400 "pid=$rpid%00abc: 400"
is "$(http_code "$BASE_URL/heap?pid=%zz")" 400 "pid=%zz: 400"
kill -INT "$HT_PID"
wait_exit "$HT_PID" 20
is "$EXIT_STATUS" 0 "heaptrace exits 0"

# One process: the bare URL, as a Go programmer types it, for its owner and root.
setpriv --reuid="$U" --regid="$U" --init-groups "$FIXTURES/alloc_known-nofp" --wait --hold 60 \
	>"$T/u2.out" 2>&1 &
upid=$!
track_pid "$upid"
wait_for_line "$T/u2.out" '^ready$' 20 1 "$upid" || bail_out "the user's fixture did not start"
start_http_trace "$T/err1" -r 1 -i 1h -o "$T/o" -p "$upid" || bail_out "heaptrace did not start"
kill -USR1 "$upid"
for _ in $(seq 100); do
	curl -s -m 5 "$BASE_URL/heap?debug=1" >"$T/text" 2>/dev/null
	[ "$(legacy_record "$T/text" edge_cases)" = "0: 0 [1: 500]" ] && break
	sleep 0.1
done
as_user "$U" go tool pprof -top -sample_index=inuse_space -unit=B "$BASE_URL/heap" \
	>"$T/utop1" 2>"$T/utop1.err"
is $? 0 "owner: go tool pprof $BASE_URL/heap" || diag "$(cat "$T/utop1.err")"
like "$(grep ' leak_malloc$' "$T/utop1")" '^ *10000B ' "owner: leak_malloc 10000 B in use"
pprof -top "$BASE_URL/heap" >"$T/rtop1" 2>"$T/rtop1.err"
is $? 0 "root: go tool pprof $BASE_URL/heap" || diag "$(cat "$T/rtop1.err")"
is "$(code_as nobody "$BASE_URL/heap")" 403 "nobody: the bare URL: 403"
kill -INT "$HT_PID"
wait_exit "$HT_PID" 20

# --http-allow group:G: the group's members read root's process; others still do not.
start_http_trace "$T/err2" --http-allow "group:$G" -r 1 -i 1h -o "$T/o" -p "$rpid" ||
	bail_out "heaptrace did not start"
is "$(code_as "$U" "$BASE_URL/heap?pid=$rpid")" 200 "group:$G: member $U reads root's process"
is "$(code_as nobody "$BASE_URL/heap?pid=$rpid")" 403 "group:$G: nobody still 403"
like "$(cat "$T/body")" "only root, its owner and group $G members may" "group:$G: the reason names the group"
kill -INT "$HT_PID"
wait_exit "$HT_PID" 20

# --http-allow anyone.
start_http_trace "$T/err3" --http-allow anyone -r 1 -i 1h -o "$T/o" -p "$rpid" ||
	bail_out "heaptrace did not start"
is "$(code_as nobody "$BASE_URL/heap?pid=$rpid")" 200 "anyone: nobody reads root's process"
kill -INT "$HT_PID"
wait_exit "$HT_PID" 20

# A Unix socket of mode 0600: root reads, others cannot even connect.
sock=$T/ht.sock
start_heaptrace "$T/err4" --http "unix:$sock" -r 1 -i 1h -o "$T/o" -p "$upid" ||
	bail_out "heaptrace did not start"
wait_for_line "$T/err4" "^heaptrace: serving /debug/pprof/ on unix:$sock " 10 1 "$HT_PID"
ok $? "unix: said where it serves" || diag "$(cat "$T/err4")"
is "$(stat -c '%F %a %u' "$sock")" "socket 600 0" "unix: a socket of mode 600 owned by root"
code=$(curl -s -o "$T/unix.pb.gz" -m 10 -w '%{http_code}' --unix-socket "$sock" http://localhost/debug/pprof/heap)
is "$code" 200 "unix: curl --unix-socket as root: 200"
like "$(pprof -raw "$T/unix.pb.gz" 2>&1 | grep '^PeriodType')" '^PeriodType: space bytes$' "unix: a heap profile"
as_user "$U" curl -s -o /dev/null -m 10 --unix-socket "$sock" http://localhost/debug/pprof/heap
is $? 7 "unix: the user cannot connect (curl: couldn't connect)"
kill -INT "$HT_PID"
wait_exit "$HT_PID" 20
is "$EXIT_STATUS" 0 "unix: exits 0"
ok "$([ ! -e "$sock" ]; echo $?)" "unix: the socket is removed at exit"
: >"$T/plain"
"$HEAPTRACE" --http "unix:$T/plain" -p "$upid" -o "$T/o" >/dev/null 2>"$T/err5"
is $? 1 "unix: a path that is not a socket: exit 1"
like "$(cat "$T/err5")" "^heaptrace: error: cannot listen on unix:$T/plain: '$T/plain' exists and is not a socket: remove it or choose another path$" \
	"unix: one line, the file left alone"
ok "$([ -f "$T/plain" ]; echo $?)" "unix: the file is still there"

# Addresses other hosts reach: a warning; local clients are still told apart.
start_heaptrace "$T/err6" --http 0.0.0.0:0 -r 1 -i 1h -o "$T/o" -p "$upid" || bail_out "heaptrace did not start"
wait_for_line "$T/err6" '^heaptrace: serving http://' 10 1 "$HT_PID"
like "$(grep -m1 'reachable from other hosts' "$T/err6")" \
	'^heaptrace: warning: --http 0\.0\.0\.0:[0-9]+ is reachable from other hosts: heaptrace can tell who asks only when the client runs on this host, so remote clients are refused \(403\) unless --http-allow anyone; prefer 127\.0\.0\.1:PORT or unix:PATH$' \
	"0.0.0.0: a warning"
port=$(sed -n 's|^heaptrace: serving http://0\.0\.0\.0:\([0-9]*\)/.*|\1|p' "$T/err6")
is "$(code_as "$U" "http://127.0.0.1:$port/debug/pprof/heap")" 200 "0.0.0.0: the owner, local, 200"
is "$(code_as nobody "http://127.0.0.1:$port/debug/pprof/heap")" 403 "0.0.0.0: nobody, local, 403"
kill -INT "$HT_PID"
wait_exit "$HT_PID" 20
start_http_trace "$T/err7" -r 1 -i 1h -o "$T/o" -p "$upid" || bail_out "heaptrace did not start"
is "$(grep -c 'warning' "$T/err7")" 0 "127.0.0.1: no warning"
kill -INT "$HT_PID"
wait_exit "$HT_PID" 20

# Bad values.
"$HEAPTRACE" --http-allow everyone -p "$upid" >/dev/null 2>"$T/bad1"
is $? 2 "--http-allow everyone: exit 2"
is "$(cat "$T/bad1")" "heaptrace: error: invalid --http-allow 'everyone': use owner, group:NAME or anyone" \
	"--http-allow everyone: one line"
"$HEAPTRACE" --http 127.0.0.1:0 --http-allow group:no-such-group-$$ -p "$upid" -o "$T/o" >/dev/null 2>"$T/bad2"
is $? 1 "unknown group: exit 1"
is "$(cat "$T/bad2")" "heaptrace: error: unknown group 'no-such-group-$$' in --http-allow: give a group of this host (getent group)" \
	"unknown group: one line"
kill "$upid" "$rpid"
done_testing
