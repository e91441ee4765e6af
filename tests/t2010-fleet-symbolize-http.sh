#!/bin/bash
# /debug/pprof/symbol as net/http/pprof serves it, and mappings that say
# what heaptrace symbolized: `go tool pprof -top http://.../heap` against a
# stripped binary (a stripped copy of a fixture) exits 0 and names what can
# be named (libc's functions), pprof asks the symbol endpoint only for the
# mapping heaptrace could not name, and a binary with symbols still shows
# its functions. The endpoint's answers agree with the profile's names.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-http.sh"

require_root_btf
# The stripped copy is of alloc_known-nofp and the binary with symbols is
# alloc_known-fp: a copy has its original's build id, and one build id is
# one object to the symbolizer.
require_fixture alloc_known-nofp alloc_known-fp
command -v curl >/dev/null || bail_out "curl is not installed (scripts/install-deps.sh)"
command -v strip >/dev/null || bail_out "strip is not installed (binutils, with gcc)"

cp "$FIXTURES/alloc_known-nofp" "$T/alloc_stripped" && strip "$T/alloc_stripped" ||
	bail_out "cannot make a stripped copy of alloc_known-nofp"
like "$(readelf -S "$T/alloc_stripped" | grep -c -E '\.symtab|\.debug_info')" '^0$' \
	"the copy has neither .symtab nor DWARF"

"$T/alloc_stripped" --wait --hold 60 >"$T/stripped.out" 2>"$T/stripped.err" &
s=$!
track_pid "$s"
wait_for_line "$T/stripped.out" '^ready$' 20 1 "$s" || bail_out "the stripped fixture did not start"
start_fixture alloc_known-fp --wait --hold 60 || bail_out "fixture did not start"
k=$FIX_PID
start_http_trace "$T/err" -r 1 -i 1h -o "$T" -p "$s" -p "$k" || bail_out "heaptrace did not start"
root=http://127.0.0.1:$HTTP_PORT
kill -USR1 "$s" "$k"
for _ in $(seq 100); do
	curl -s -m 5 "$BASE_URL/heap?pid=$s&debug=1" >"$T/text" 2>/dev/null
	[ "$(sed -n 's/^# LiveTrackedBlocks = //p' "$T/text")" = 27 ] && break
	sleep 0.1
done

# What heaptrace's profile says of each mapping: the stripped executable's
# code has no names (no [FN]), libc's has names, files and lines.
curl -s -m 10 -o "$T/stripped.pb.gz" "$BASE_URL/heap?pid=$s"
pprof -raw -symbolize=none "$T/stripped.pb.gz" >"$T/raw" 2>&1
code=$(grep -E '^[0-9]+: 0x[0-9a-f]+/0x[0-9a-f]+/0x1000 .*/alloc_stripped ' "$T/raw")
like "$code" 'alloc_stripped [0-9a-f]+ *$' \
	"profile: the stripped executable's code mapping is not marked has_functions" ||
	diag "$(sed -n '/^Mappings/,$p' "$T/raw")"
like "$(grep -E '^[0-9]+: .*/libc\.so\.6 ' "$T/raw")" '\[FN\]\[FL\]\[LN\]' \
	"profile: libc's mapping is marked has_functions, has_filenames, has_line_numbers"
curl -s -m 10 -o "$T/known.pb.gz" "$BASE_URL/heap?pid=$k"
pprof -raw -symbolize=none "$T/known.pb.gz" >"$T/raw-known" 2>&1
like "$(grep -E '^[0-9]+: 0x[0-9a-f]+/0x[0-9a-f]+/0x1000 .*/alloc_known-fp ' "$T/raw-known")" \
	'\[FN\]' \
	"profile: the fixture with symbols is marked has_functions (its _start has no line: no [LN])"

# go tool pprof over HTTP, as a Go programmer would: it asks the symbol
# endpoint for the stripped mapping (remote alone: any error would fail it).
for form in "$BASE_URL/heap?pid=$s" "$root/pid/$s/debug/pprof/heap"; do
	pprof -top -sample_index=inuse_space "$form" >"$T/top" 2>"$T/top.err"
	is $? 0 "go tool pprof -top $form exits 0 (stripped binary)" || diag "$(cat "$T/top.err")"
	like "$(grep -c ' __libc_start_call_main$' "$T/top")" '^1$' "$form: libc's functions are named"
	is "$(pprof_total "$form" inuse_space)" 51480 "$form: all 51480 bytes in use"
	pprof -top -symbolize=remote "$form" >/dev/null 2>"$T/remote.err"
	is $? 0 "$form: -symbolize=remote (the symbol endpoint alone) exits 0" ||
		diag "$(cat "$T/remote.err")"
done
pprof -raw "$BASE_URL/heap?pid=$s" >"$T/raw-http" 2>&1
like "$(grep -E '^[0-9]+: 0x[0-9a-f]+/0x[0-9a-f]+/0x1000 .*/alloc_stripped ' "$T/raw-http")" '\[FN\]' \
	"pprof marks the stripped mapping symbolized once it asked the endpoint"

pprof -top -sample_index=inuse_space "$BASE_URL/heap?pid=$k" >"$T/top-known" 2>"$T/top.err"
is $? 0 "go tool pprof -top on the fixture with symbols exits 0" || diag "$(cat "$T/top.err")"
is "$(pprof_flat "$BASE_URL/heap?pid=$k" inuse_space leak_malloc)" 10000 \
	"the fixture with symbols still shows leak_malloc (10000 bytes)"

# The endpoint itself, as net/http/pprof answers it.
curl -s -m 10 -D "$T/hdr" -o "$T/sym" "$BASE_URL/symbol"
like "$(head -n 1 "$T/hdr")" '^HTTP/1.1 200' "GET /debug/pprof/symbol: 200"
is "$(cat "$T/sym")" "num_symbols: 1" "GET: num_symbols: 1"

# Every location of the fixture's profile: POSTed, each named location gets
# its innermost function, the name the profile gives it.
awk '/^Locations/ { on = 1; next } /^Mappings/ { on = 0 }
	on && $1 ~ /^[0-9]+:$/ && $4 != "" { print $2 "\t" $4 }' "$T/raw-known" | sort >"$T/want"
body=$(cut -f 1 "$T/want" | paste -sd+)
curl -s -m 10 --data-binary "$body" "$root/pid/$k/debug/pprof/symbol" >"$T/got"
is "$(head -n 1 "$T/got")" "num_symbols: 1" "POST: num_symbols first"
tail -n +2 "$T/got" | tr ' ' '\t' | sort >"$T/got.sorted"
like "$(grep -c . "$T/want")" '^[1-9][0-9]*$' "the fixture's profile has named locations"
is "$(diff "$T/want" "$T/got.sorted" && echo same)" same \
	"POST /pid/$k/debug/pprof/symbol names every location as the profile does"
grep -q $'\tleak_malloc$' "$T/got.sorted"
ok $? "the answer names leak_malloc"

# The stripped process: libc's addresses are named, its own are not.
awk '/^Locations/ { on = 1; next } /^Mappings/ { on = 0 }
	on && $1 ~ /^[0-9]+:$/ { print $2 }' "$T/raw" >"$T/addrs"
curl -s -m 10 --data-binary "$(paste -sd+ "$T/addrs")" "$root/pid/$s/debug/pprof/symbol" >"$T/got-s"
like "$(grep -c ' __libc_start_call_main$' "$T/got-s")" '^1$' "stripped process: libc is named"
is "$(grep -c . "$T/got-s")" 3 "stripped process: only libc's two frames (and the header)"
is "$(curl -s -m 10 "$root/pid/$k/debug/pprof/symbol?$(head -n 1 "$T/want" | cut -f 1)" | tail -n 1)" \
	"$(head -n 1 "$T/want" | tr '\t' ' ')" "GET with addresses in the query, as net/http/pprof"
is "$(curl -s -m 10 -d '0x0+junk+0xzz++0x' "$BASE_URL/symbol")" "num_symbols: 1" \
	"words that are no address are skipped"

# A long request (pprof sends every unnamed location at once).
seq 1 20000 | awk '{ printf "%s0x%x", (NR > 1 ? "+" : ""), 4096 * $1 }' >"$T/big"
is "$(http_code "$BASE_URL/symbol" --data-binary @"$T/big")" 200 "POST of 20000 addresses: 200"
head -c 300000 /dev/zero | tr '\0' '+' >"$T/huge"
is "$(http_code "$BASE_URL/symbol" --data-binary @"$T/huge")" 413 "POST body over 256 KiB: 413"
is "$(http_code "$BASE_URL/symbol" -H 'Transfer-Encoding: chunked' --data-binary @"$T/big")" 411 \
	"chunked POST body: 411"
is "$(http_code "$BASE_URL/heap" -X POST)" 405 "POST /debug/pprof/heap: 405"
is "$(http_code "$BASE_URL/symbol" -X PUT)" 405 "PUT /debug/pprof/symbol: 405"
is "$(http_code "$root/pid/999999999/debug/pprof/symbol" -d 0x1)" 404 "symbol of an untraced pid: 404"
is "$(http_code "$BASE_URL/heap?pid=$s")" 200 "the server still answers after all that"

kill -INT "$HT_PID"
wait_exit "$HT_PID" 20
is "$EXIT_STATUS" 0 "heaptrace exits 0 on SIGINT"
done_testing
