#!/bin/bash
# --push within Pyroscope's documented limits and through its failures: a
# profile of 20,000 stacks is folded to at most 16,000 samples (the rest in
# one counted "[other]" stack, nothing lost from the totals) rather than be
# refused; the spool keeps to --push-spool-size while the server is away,
# dropping the oldest, and what it holds is sent by the next run; https with
# a CA file and a bearer token read from a file, and a wrong token kept for
# later, not dropped. The receiver (tests/pyroscope-receiver.py) makes the
# endpoint's checks, shown here to refuse what the server refuses.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-push.sh"

require_root_btf
require_fixture alloc_known-nofp many_stacks-nofp
command -v openssl >/dev/null || bail_out "openssl is not installed"

samples_of() {
	python3 "$RECEIVER" --samples-of "$@"
}

# post_form URL PROFILE: a multipart POST as the Go agent makes it; prints the HTTP code.
post_form() {
	curl -s -o "$T/post.answer" -w '%{http_code}' -F "profile=@$2;filename=profile.pprof" "$1"
}

# ---- 1. 20,000 stacks: folded to fit, totals kept.
R1=$T/rcv1
start_receiver "$R1"
out=$T/out1
mkdir -p "$out"
run_bounded 120 "$HEAPTRACE" -r 1 -o "$out" --push "http://127.0.0.1:$RCV_PORT" \
	-- "$FIXTURES/many_stacks-nofp" 20000 1 >"$T/err1.out" 2>"$T/err1"
is "$?" 0 "heaptrace --push on 20000 stacks exits 0" || diag "$(tail -n 5 "$T/err1")"
file=$(last_profile "$out")
n=$(samples_of "$file")
ok "$([ "$n" -gt 20000 ]; echo $?)" "the written profile keeps all its stacks ($n samples)"
is "$(accepted "$R1" | wc -l)" "$(profiles_of "$out" | wc -l)" "every profile is accepted, none refused for its size"
pushed=$(accepted_field "$R1" 'r["file"]' | tail -n 1)
n=$(samples_of "$pushed")
ok "$([ "$n" -le 16000 ]; echo $?)" "the pushed profile has at most 16000 samples ($n)"
is "$(pprof_total "$pushed" inuse_space)" "$(pprof_total "$file" inuse_space)" \
	"its in-use total is the written profile's: the folded stacks are counted in [other]"
is "$(pprof_total "$pushed" alloc_objects)" "$(pprof_total "$file" alloc_objects)" "so is its alloc_objects total"
other=$(pprof_flat "$pushed" inuse_space '[other]')
ok "$([ "${other:-0}" -gt 0 ]; echo $?)" "an [other] stack holds what was folded ($other bytes in use)"
like "$(accepted_field "$R1" 'r["comments"]' | tail -n 1)" \
	"heaptrace: [0-9]+ stacks folded into \[other\] to fit the server's limits \(16000 samples, 4194304 bytes\)" \
	"the profile says how many stacks were folded"
like "$(grep -m1 'folded' "$T/err1")" "^heaptrace: warning: push: pid [0-9]+: [0-9]+ stacks folded into \[other\]" \
	"and a warning says it once"
# The receiver refuses what the server refuses.
is "$(post_form "http://127.0.0.1:$RCV_PORT/ingest?name=app&from=1&until=2&format=pprof" "$file")" 400 \
	"the receiver refuses the unfolded profile (400)"
like "$(cat "$T/post.answer")" "samples, the limit is 16000" "for its sample count"
is "$(post_form "http://127.0.0.1:$RCV_PORT/ingest?name=app%7B1x%3Dy%7D&from=1&until=2&format=pprof" "$pushed")" 400 \
	"a label name starting with a digit is refused (400)"
head -c 5000000 /dev/zero | gzip >"$T/big.gz"
is "$(post_form "http://127.0.0.1:$RCV_PORT/ingest?name=app&from=1&until=2&format=pprof" "$T/big.gz")" 413 \
	"a profile over 4 MiB uncompressed is refused (413)"
stop_receiver

# ---- 2. Nobody listening: the spool keeps to its bound; the next run sends what it kept.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
out=$T/out2
spool=$T/spool
mkdir -p "$out"
start=$SECONDS
run_bounded 60 "$HEAPTRACE" -r 1 -i 200ms -o "$out" --push "http://127.0.0.1:$port" \
	--push-spool "$spool" --push-spool-size 8k -- "$FIXTURES/alloc_known-nofp" --repeat 2 --hold 1 \
	>"$T/err2.out" 2>"$T/err2"
is "$?" 0 "with no server, heaptrace exits 0" || diag "$(cat "$T/err2")"
ok "$([ $((SECONDS - start)) -le 15 ]; echo $?)" "and does not wait for it past the drain time ($((SECONDS - start)) s)"
like "$(grep -m1 'is full' "$T/err2")" \
	"^heaptrace: warning: push: spool $spool is full \(--push-spool-size 8192 bytes\): dropped the [0-9]+ oldest unsent profile\(s\)$" \
	"the bound drops the oldest, with a warning"
bytes=$(cat "$spool"/*.push | wc -c)
ok "$([ "$bytes" -le 8192 ]; echo $?)" "the spool holds at most 8192 bytes ($bytes)"
kept=$(ls "$spool" | grep -c '\.push$')
ok "$([ "$kept" -ge 1 ]; echo $?)" "and keeps the newest profiles ($kept)"
R2=$T/rcv2
start_receiver "$R2" "$port"
out=$T/out2b
mkdir -p "$out"
run_bounded 60 "$HEAPTRACE" -r 1 -o "$out" --push "http://127.0.0.1:$port" --push-spool "$spool" \
	-- "$FIXTURES/alloc_known-nofp" >"$T/err2b.out" 2>"$T/err2b"
is "$?" 0 "the next run exits 0" || diag "$(cat "$T/err2b")"
is "$(accepted "$R2" | wc -l)" "$((kept + $(profiles_of "$out" | wc -l)))" \
	"it sends the $kept left in the spool and its own"
newest_old=$(times_of $(profiles_of "$T/out2") | tail -n "$kept" | tr '\n' ' ')
is "$(accepted_field "$R2" 'r["time_nanos"]' | head -n "$kept" | tr '\n' ' ')" "$newest_old" \
	"the spooled ones first: the newest $kept of the earlier run"
is "$(ls "$spool" | wc -l)" 0 "the spool is empty at the end"
stop_receiver

# ---- 3. https with --push-ca-file, a bearer token from --push-token-file.
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 \
	-addext subjectAltName=IP:127.0.0.1 -keyout "$T/key.pem" -out "$T/cert.pem" >/dev/null 2>&1
ok $? "a self-signed certificate for 127.0.0.1"
printf 's3cret-token\n' >"$T/token"
printf 'wrong\n' >"$T/wrong"
R3=$T/rcv3
start_receiver "$R3" 0 --token s3cret-token --tls "$T/cert.pem" "$T/key.pem"
out=$T/out3
mkdir -p "$out"
run_bounded 60 "$HEAPTRACE" -r 1 -i 1s -o "$out" --push "https://127.0.0.1:$RCV_PORT" \
	--push-ca-file "$T/cert.pem" --push-token-file "$T/token" \
	-- "$FIXTURES/alloc_known-nofp" --repeat 2 --hold 1 >"$T/err3.out" 2>"$T/err3"
is "$?" 0 "https push exits 0" || diag "$(cat "$T/err3")"
is "$(accepted "$R3" | wc -l)" "$(profiles_of "$out" | wc -l)" "over https with the token, every profile is accepted"
out=$T/out3b
mkdir -p "$out"
run_bounded 60 "$HEAPTRACE" -r 1 -o "$out" --push "https://127.0.0.1:$RCV_PORT" \
	--push-ca-file "$T/cert.pem" --push-token-file "$T/wrong" \
	-- "$FIXTURES/alloc_known-nofp" >"$T/err3b.out" 2>"$T/err3b"
is "$?" 0 "with a wrong token heaptrace still exits 0"
like "$(grep -m1 'push:' "$T/err3b")" "^heaptrace: warning: push: https://127.0.0.1:$RCV_PORT/ingest answered HTTP 401 \(unauthorized\): retrying" \
	"the 401 is said"
ok "$([ "$(ls "$out/push-spool" | grep -c '\.push$')" -ge 1 ]; echo $?)" "its profiles stay in the spool, not dropped"
stop_receiver

done_testing
