#!/bin/bash
# debuginfod: a stripped fixture whose split debug file only Debian's real
# debuginfod server has (on loopback). heaptrace fetches it by build id off
# the event loop, and the profile gets the fixture's function names and
# file:line; the file stays in DEBUGINFOD_CACHE_PATH and serves a later run
# with the server gone. With no server, or one that never answers, tracing
# goes on and a fetch gives up within --debuginfod-timeout.
. "$(dirname "$0")/lib.sh"

require_root_btf
require_fixture alloc_known-nofp nocfi_alloc-nofp
command -v debuginfod >/dev/null || bail_out "debuginfod is not installed (scripts/install-deps.sh)"

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# The stripped binary keeps its build id; its names and DWARF go to the debug file only.
mkdir -p "$T/bin" "$T/srv" "$T/cache"
BIN=$T/bin/alloc_known
cp "$FIXTURES/alloc_known-nofp" "$BIN"
objcopy --only-keep-debug "$BIN" "$T/srv/alloc_known.debug"
strip --strip-all "$BIN"
BUILD_ID=$(readelf -n "$BIN" | sed -n 's/.*Build ID: *//p')
like "$BUILD_ID" '^[0-9a-f]{40}$' "the stripped fixture keeps its build id"
ok "$(readelf -S "$BIN" | grep -qE '\.symtab|\.debug_info'; [ $? -ne 0 ]; echo $?)" \
	"the stripped fixture has neither .symtab nor .debug_info"

PORT=$(free_port)
debuginfod -F -p "$PORT" -d "$T/db.sqlite" -t 0 -g 0 "$T/srv" >"$T/debuginfod.log" 2>&1 &
DPID=$!
track_pid "$DPID"
URL=http://127.0.0.1:$PORT
code=
for _ in $(seq 1 200); do
	code=$(curl -s -o /dev/null -w '%{http_code}' "$URL/buildid/$BUILD_ID/debuginfo")
	[ "$code" = 200 ] && break
	sleep 0.1
done
is "$code" 200 "debuginfod serves the debug file by build id" || diag "$(tail -n 20 "$T/debuginfod.log")"

# run_stripped OUTDIR ERRFILE SECONDS_HELD ARGS...: heaptrace -r 1 -- the stripped fixture.
run_stripped() {
	local out=$1 err=$2 hold=$3
	shift 3
	mkdir -p "$out"
	SECONDS_START=$SECONDS
	run_bounded 60 "$HEAPTRACE" -r 1 -o "$out" "$@" -- "$BIN" --hold "$hold" >"$err.out" 2>"$err"
}

# file:line of a function in pprof's -lines view, e.g. "known_allocs.h:42".
lines_of() {
	pprof -top -lines -nodecount=200 -sample_index=alloc_space "$1" 2>/dev/null |
		grep -E " $2 " | grep -oE '[A-Za-z0-9_]+\.[ch]:[0-9]+' | head -n 1
}

# 1. The server has the file: names and lines in the profile (held 3 s: the fetch arrives first).
DEBUGINFOD_URLS=$URL DEBUGINFOD_CACHE_PATH=$T/cache run_stripped "$T/out1" "$T/err1" 3
is "$?" 0 "with the server: heaptrace exits 0" || diag "$(cat "$T/err1")"
prof=$(last_profile "$T/out1")
ok "$([ -n "$prof" ]; echo $?)" "with the server: a profile is written"
assert_table "$prof" "$ALLOC_KNOWN_TABLE" "with the server: "
like "$(lines_of "$prof" leak_malloc)" '^[a-z_]+\.[ch]:[0-9]+$' \
	"with the server: leak_malloc has its file:line from the fetched DWARF"
ok "$(find "$T/cache" -path "*$BUILD_ID*" -name debuginfo | grep -q .; echo $?)" \
	"the debug file is in DEBUGINFOD_CACHE_PATH"

# 2. The server is gone: the cache answers.
kill "$DPID"
wait "$DPID" 2>/dev/null
DEBUGINFOD_URLS=$URL DEBUGINFOD_CACHE_PATH=$T/cache run_stripped "$T/out2" "$T/err2" 2
is "$?" 0 "from the cache: heaptrace exits 0" || diag "$(cat "$T/err2")"
prof=$(last_profile "$T/out2")
is "$(pprof_flat "$prof" inuse_space leak_malloc)" 10000 \
	"from the cache, no server: leak_malloc named, its exact in-use"

# 3. No server at all, empty cache: tracing works, the profile lacks the names.
DEBUGINFOD_URLS=$URL DEBUGINFOD_CACHE_PATH=$T/cache3 run_stripped "$T/out3" "$T/err3" 1
is "$?" 0 "no server: heaptrace exits 0" || diag "$(cat "$T/err3")"
prof=$(last_profile "$T/out3")
is "$(pprof_total "$prof" inuse_space)" 51480 "no server: the profile holds the exact total in use"
is "$(pprof_flat "$prof" inuse_space leak_malloc)" 0 "no server: no name for leak_malloc"

# 4. A server that accepts and never answers: profiles keep coming every
# 500 ms while the fetch waits, and it gives up at the 2 s budget.
python3 -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0)); s.listen(16)
print(s.getsockname()[1], flush=True)
held = []
while True:
	c, _ = s.accept(); held.append(c)
' >"$T/hole.port" &
HOLE=$!
track_pid "$HOLE"
wait_for_line "$T/hole.port" '^[0-9]+$' 10
HPORT=$(head -n 1 "$T/hole.port")
start=$SECONDS
DEBUGINFOD_URLS=http://127.0.0.1:$HPORT DEBUGINFOD_CACHE_PATH=$T/cache4 \
	run_stripped "$T/out4" "$T/err4" 6 -i 500ms --debuginfod-timeout 2s
rc=$?
took=$((SECONDS - start))
is "$rc" 0 "silent server: heaptrace exits 0" || diag "$(cat "$T/err4")"
ok "$([ "$took" -le 12 ]; echo $?)" "silent server: the run takes the fixture's 6 s, not a network time-out (${took}s)"
n=$(profiles_of "$T/out4" | wc -l)
ok "$([ "$n" -ge 9 ]; echo $?)" "silent server: profiles every 500 ms while the fetch waits ($n in 6 s)"
like "$(grep -m1 'debuginfod' "$T/err4")" \
	"^heaptrace: warning: debuginfod: no answer for build id [0-9a-f]+ within 2000 ms: given up" \
	"silent server: the fetch gives up at the budget, with a warning"
is "$(pprof_total "$(last_profile "$T/out4")" inuse_space)" 51480 \
	"silent server: the final profile holds the exact total in use"

# 5. The same silent server, and code without CFI in .eh_frame: the DWARF
# unwinder must look for the debug file, and must not ask the server from
# the event loop (libdwfl's standard search would, for DEBUGINFOD_TIMEOUT).
NOCFI=$T/bin/nocfi_alloc
cp "$FIXTURES/nocfi_alloc-nofp" "$NOCFI"
strip --strip-all "$NOCFI"
mkdir -p "$T/out5"
start=$SECONDS
DEBUGINFOD_URLS=http://127.0.0.1:$HPORT DEBUGINFOD_CACHE_PATH=$T/cache5 \
	run_bounded 40 "$HEAPTRACE" -r 1 -i 500ms --unwind dwarf --debuginfod-timeout 2s \
	-o "$T/out5" -- "$NOCFI" 10 5 >"$T/err5.out" 2>"$T/err5"
rc=$?
took=$((SECONDS - start))
is "$rc" 0 "code without CFI, silent server: heaptrace exits 0" || diag "$(tail -n 5 "$T/err5")"
ok "$([ "$took" -le 10 ]; echo $?)" "code without CFI: the run takes the fixture's 5 s (${took}s)"
n=$(profiles_of "$T/out5" | wc -l)
ok "$([ "$n" -ge 8 ]; echo $?)" "code without CFI: profiles every 500 ms while the unwinder works ($n)"
is "$(pprof_total "$(last_profile "$T/out5")" inuse_space)" 6000 \
	"code without CFI: the final profile holds the exact 60 x 100 bytes in use"

# 6. A server that answers late (3 s, debuginfod's /buildid/ID/debuginfo):
# the profiles written before the file arrives lack the names, the ones after
# have them, for the same addresses.
python3 -c '
import http.server, sys, time
debug, bid = sys.argv[1], sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
	def log_message(self, *a): pass
	def do_GET(self):
		if self.path != "/buildid/%s/debuginfo" % bid:
			self.send_error(404); return
		time.sleep(3)
		data = open(debug, "rb").read()
		self.send_response(200)
		self.send_header("Content-Length", str(len(data)))
		self.end_headers()
		self.wfile.write(data)
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
' "$T/srv/alloc_known.debug" "$BUILD_ID" >"$T/late.port" &
LATE=$!
track_pid "$LATE"
wait_for_line "$T/late.port" '^[0-9]+$' 10
DEBUGINFOD_URLS=http://127.0.0.1:$(head -n 1 "$T/late.port") DEBUGINFOD_CACHE_PATH=$T/cache6 \
	run_stripped "$T/out6" "$T/err6" 6 -i 500ms
is "$?" 0 "late server: heaptrace exits 0" || diag "$(cat "$T/err6")"
first=$(first_profile "$T/out6")
last=$(last_profile "$T/out6")
is "$(pprof_flat "$first" inuse_space leak_malloc)" 0 "late server: the first profile, before the file came, has no leak_malloc"
is "$(pprof_total "$first" inuse_space)" 51480 "late server: but it holds the exact total"
is "$(pprof_flat "$last" inuse_space leak_malloc)" 10000 "late server: the last profile names leak_malloc, its exact in-use"
like "$(lines_of "$last" leak_malloc)" '^[a-z_]+\.[ch]:[0-9]+$' "late server: and gives its file:line"

done_testing
