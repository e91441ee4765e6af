#!/bin/bash
# heaptrace report --html: one self-contained page (nothing fetched: no
# src, href or url() to anywhere) drawing each process's in-use over time
# and its suspects' growth, rendered in headless Chromium with every
# network request sent to a dead proxy; the screenshot shows the total's
# line and the suspect's line in their colours, and a series without a
# leak shows no suspect's colour at all. Then report's bad inputs: one line
# each naming the problem, exit 1 (2 for bad usage), a bad file inside a
# directory only a warning.
. "$(dirname "$0")/lib.sh"

require_root_btf
require_fixture heap_patterns-nofp
chromium=$(command -v chromium || command -v chromium-browser) ||
	bail_out "chromium is not installed (scripts/install-deps.sh)"
command -v jq >/dev/null || bail_out "jq is not installed (scripts/install-deps.sh)"

SUSPECT=d62728 # LEAK_HTML_SUSPECT_COLOUR, output/leak_html.h
TOTAL=1f77b4   # LEAK_HTML_TOTAL_COLOUR

# series DIR FIXTURE_ARGS...: 12 profiles half a second apart.
series() {
	local dir=$1
	shift
	mkdir -p "$dir"
	start_fixture heap_patterns-nofp --wait --seconds 6 "$@" || bail_out "fixture did not start"
	start_heaptrace "$dir/err" -r 16384 -i 500ms -o "$dir" -p "$FIX_PID" || bail_out "heaptrace did not start"
	kill -USR1 "$FIX_PID"
	wait_exit "$HT_PID" 30
	is "$EXIT_STATUS" 0 "heaptrace over heap_patterns $* exits 0"
}

# shot HTML PNG: the page rendered by headless Chromium.
shot() {
	run_bounded 60 "$chromium" --headless --no-sandbox --disable-gpu --hide-scrollbars \
		--proxy-server=http://127.0.0.1:9 --user-data-dir="$T/chromium" \
		--window-size=1000,1300 --screenshot="$2" "file://$1" >"$T/chromium.log" 2>&1
}

count() {
	mkdir -p "$T/home"
	HOME=$T/home GOCACHE=$T/home/gocache go run "$TOPDIR/tests/leak/count_colour.go" "$@"
}

series "$T/leak" --no-churn
"$HEAPTRACE" report --html "$T/leak" >"$T/leak.html" 2>"$T/html.err"
is $? 0 "report --html exits 0" || diag "$(cat "$T/html.err")"
like "$(head -c 15 "$T/leak.html")" '^<!DOCTYPE html>' "it is an HTML page"
is "$(grep -cE '(src|href)=|url\(|<link|<script src|<img' "$T/leak.html")" 0 "it fetches nothing: no src, href, url() or link"
is "$(grep -oE 'https?://[^"]*' "$T/leak.html" | sort -u | tr '\n' ' ')" "http://www.w3.org/2000/svg " \
	"the only URL is SVG's namespace name"
like "$(grep -c '<svg' "$T/leak.html")" '^2$' "two charts: in-use over time, and the suspects' growth"
like "$(grep -o '<tr class="growing"><td>growing</td><td>leak_steady' "$T/leak.html")" . "the suspects' table names leak_steady"
shot "$T/leak.html" "$T/leak.png"
is $? 0 "headless Chromium renders it" || diag "$(tail -n 5 "$T/chromium.log")"
read -r red blue <<<"$(count "$T/leak.png" "$SUSPECT" "$TOTAL" | tr '\n' ' ')"
ok "$([ "${red:-0}" -ge 3000 ]; echo $?)" "the screenshot shows the suspect's line ($red pixels of #$SUSPECT)"
ok "$([ "${blue:-0}" -ge 500 ]; echo $?)" "and the in-use line ($blue pixels of #$TOTAL)"
[ "${HT_KEEP:-0}" = 1 ] && cp "$T/leak.png" "/tmp/$TEST_NAME.png"

series "$T/flat" --no-leak --no-churn
"$HEAPTRACE" report --html "$T/flat" >"$T/flat.html"
shot "$T/flat.html" "$T/flat.png"
read -r red blue <<<"$(count "$T/flat.png" "$SUSPECT" "$TOTAL" | tr '\n' ' ')"
is "${red:-x}" 0 "a series without a leak draws no suspect's line"
ok "$([ "${blue:-0}" -ge 500 ]; echo $?)" "but its in-use ($blue pixels)"
is "$("$HEAPTRACE" report --json "$T/flat" | jq '.suspects | length')" 0 "and --json has no suspect"

# Bad inputs.
bad() {
	local code=$1 re=$2
	shift 2
	"$HEAPTRACE" report "$@" >"$T/bad.out" 2>"$T/bad.err"
	local rc=$?
	is "$rc" "$code" "report $*: exit $code"
	is "$(wc -l <"$T/bad.err")" 1 "report $*: one line" || diag "$(cat "$T/bad.err")"
	like "$(cat "$T/bad.err")" "$re" "report $*: says why"
	is "$(wc -c <"$T/bad.out")" 0 "report $*: nothing on stdout"
}
mkdir "$T/empty"
echo "not a profile" >"$T/notes.txt"
bad 1 "^heaptrace: error: cannot read '$T/none': No such file or directory: give a directory" "$T/none"
bad 1 "^heaptrace: error: no profiles in $T/empty: heaptrace report reads \*\.heap\.pb\.gz files" "$T/empty"
bad 1 "^heaptrace: error: cannot read the profile '$T/notes.txt': not a heap profile: give heap profiles" "$T/notes.txt"
bad 2 "^heaptrace: error: report needs profiles: heaptrace report DIR"
bad 2 "^heaptrace: error: report takes --json or --html, not both" --json --html "$T/leak"
bad 2 "^heaptrace: error: unknown option '--xml' for report: see heaptrace report --help" --xml "$T/leak"
cp "$T/notes.txt" "$T/leak/broken.heap.pb.gz"
"$HEAPTRACE" report --json "$T/leak" >"$T/warn.json" 2>"$T/warn.err"
is $? 0 "a broken file inside the directory: still exit 0"
like "$(cat "$T/warn.err")" "^heaptrace: warning: skipping '$T/leak/broken.heap.pb.gz': not a heap profile$" \
	"with one warning naming it"
is "$(jq -r '[.suspects[].function] | join(",")' "$T/warn.json")" leak_steady "and the report of the rest"

done_testing
