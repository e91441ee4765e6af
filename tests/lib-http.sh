# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
# lib-http.sh - helpers for the /debug/pprof and `heaptrace print` tests.
# Sourced after lib.sh.

# start_http_trace STDERR_FILE ARGS...: start_heaptrace with --http on a
# free loopback port; sets HTTP_PORT and BASE_URL.
HTTP_PORT=
BASE_URL=
start_http_trace() {
	local errfile=$1
	shift
	start_heaptrace "$errfile" --http 127.0.0.1:0 "$@" || return 1
	if ! wait_for_line "$errfile" '^heaptrace: serving http://' 10 1 "$HT_PID"; then
		diag "heaptrace never said where it serves; its stderr:"
		diag "$(cat "$errfile")"
		return 1
	fi
	HTTP_PORT=$(sed -n 's|^heaptrace: serving http://127\.0\.0\.1:\([0-9]*\)/.*|\1|p' "$errfile" | head -n 1)
	BASE_URL=http://127.0.0.1:$HTTP_PORT/debug/pprof
	[ -n "$HTTP_PORT" ]
}

# http_code URL [CURL_ARGS...]: the status code (000 when no answer), bounded.
http_code() {
	local url=$1
	shift
	curl -s -o /dev/null -m 10 -w '%{http_code}' "$@" "$url"
}

# legacy_check FILE: checks FILE is Go's legacy heap text and that the
# header's four numbers are the sums of the records'. Prints "ok" or what
# is wrong, then "records N".
legacy_check() {
	awk '
	function fail(msg) { if (!bad) print msg " (line " NR ": " $0 ")"; bad = 1 }
	NR == 1 {
		if ($0 !~ /^heap profile: -?[0-9]+: -?[0-9]+ \[-?[0-9]+: -?[0-9]+\] @ heap\/[0-9]+$/)
			fail("bad header")
		gsub(/[\[\]:]/, " "); h1 = $3; h2 = $4; h3 = $5; h4 = $6
		state = "rec"; next
	}
	state == "stats" { if ($0 != "" && $0 !~ /^# /) fail("bad trailing line"); next }
	state == "rec" && /^-?[0-9]+: -?[0-9]+ \[-?[0-9]+: -?[0-9]+\] @( 0x[0-9a-f]+)+$/ {
		line = $0; gsub(/[\[\]:]/, " ", line); split(line, f, " ")
		s1 += f[1]; s2 += f[2]; s3 += f[3]; s4 += f[4]; n++
		state = "frames"; nframes = 0; next
	}
	state == "frames" && /^#\t0x[0-9a-f]+(\t[^\t]+\t[^\t]*:-?[0-9]+)?$/ { nframes++; next }
	state == "frames" && $0 == "" { if (!nframes) fail("record without frames"); state = "rec"; next }
	state == "rec" && (/^# / || $0 == "") { state = "stats"; next }
	{ fail("unexpected line in state " state) }
	END {
		if (NR == 0) fail("empty")
		if (!bad && (s1 != h1 || s2 != h2 || s3 != h3 || s4 != h4))
			fail("header " h1 " " h2 " " h3 " " h4 " != sums " s1 " " s2 " " s3 " " s4)
		if (!bad) print "ok"
		print "records " n + 0
	}' "$1"
}

# legacy_record FILE FUNCTION: the counts "I: B [A: AB]" of the record whose
# first frame line (the leaf) is FUNCTION, summed over such records.
legacy_record() {
	awk -v fn="$2" '
	/^-?[0-9]+: -?[0-9]+ \[/ { line = $0; gsub(/[\[\]:]/, " ", line); split(line, cur, " "); first = 1; next }
	/^#\t/ {
		if (first) {
			split($0, p, "\t")
			if (p[3] == fn) { a += cur[1]; b += cur[2]; c += cur[3]; d += cur[4] }
		}
		first = 0; next
	}
	END { printf "%d: %d [%d: %d]\n", a, b, c, d }' "$1"
}
