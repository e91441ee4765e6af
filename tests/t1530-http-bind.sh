#!/bin/bash
# --http errors: a malformed address is a usage error (exit 2); an address
# in use fails before anything is attached, with one line that says so and
# suggests another port (exit 1).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-http.sh"

require_root_btf
require_fixture alloc_known-fp

start_fixture alloc_known-fp --wait --hold 30 || bail_out "fixture did not start"
fix=$FIX_PID
start_http_trace "$T/err" -p "$fix" || bail_out "heaptrace did not start"

"$HEAPTRACE" --http "127.0.0.1:$HTTP_PORT" -p "$fix" >/dev/null 2>"$T/e1"
is $? 1 "a second heaptrace on the same port exits 1"
is "$(wc -l <"$T/e1")" 1 "...with one line"
like "$(cat "$T/e1")" "^heaptrace: error: cannot listen on 127\.0\.0\.1:$HTTP_PORT: address already in use: .*choose another port" \
	"...saying the address is in use and to choose another port"
for bad in 'x' '127.0.0.1:' '::1:80' '127.0.0.1:65536' '[::1]'; do
	"$HEAPTRACE" --http "$bad" -p "$fix" >/dev/null 2>"$T/e2"
	is $? 2 "--http '$bad': usage error"
done
like "$(cat "$T/e2")" "^heaptrace: error: invalid --http address '\[::1\]': use PORT, HOST:PORT, \[IPV6\]:PORT or unix:PATH" \
	"...naming the forms accepted"
"$HEAPTRACE" --http 203.0.113.1:6060 -p "$fix" >/dev/null 2>"$T/e3"
is $? 1 "an address of no local interface exits 1"
like "$(cat "$T/e3")" '^heaptrace: error: cannot listen on 203\.0\.113\.1:6060: ' "...with one error line"
ok "$(is_running "$HT_PID"; echo $?)" "the first heaptrace is unaffected"
is "$(http_code "$BASE_URL/")" 200 "...and still serves"
kill -INT "$HT_PID"
wait_exit "$HT_PID" 20
is "$EXIT_STATUS" 0 "heaptrace exits 0 on SIGINT"
done_testing
