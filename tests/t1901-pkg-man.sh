#!/bin/bash
# heaptrace(8): man renders it without a warning; its OPTIONS section is made
# from the option table (heaptrace --help-man), so it lists exactly what
# --help lists, and docs/cli.md documents the same options; it has the
# sections and the Go-workflow examples a reader looks for.
. "$(dirname "$0")/lib.sh"

[ -x "$HEAPTRACE" ] || bail_out "$HEAPTRACE is not built (run make)"
MANPAGE=$BUILD/heaptrace.8
[ -f "$MANPAGE" ] || bail_out "$MANPAGE is not built (run make)"
command -v man >/dev/null && command -v groff >/dev/null ||
	_precondition_missing "man and groff are not installed (scripts/install-deps.sh)"

# Rendering: no warning from man (through groff) nor from groff's strictest checks.
MANWIDTH=80 man -l --warnings "$MANPAGE" >"$T/page" 2>"$T/warnings"
is $? 0 "man -l renders heaptrace.8"
is "$(cat "$T/warnings")" "" "man -l --warnings: no warning"
groff -man -ww -z "$MANPAGE" 2>"$T/groff"
is "$?:$(cat "$T/groff")" "0:" "groff -ww -z: no warning"
ok $(! grep -q '@[A-Z]*@' "$MANPAGE"; echo $?) "no placeholder is left in the page"

for section in NAME SYNOPSIS DESCRIPTION OPTIONS "CONFIGURATION FILE" FILES SIGNALS \
	"EXIT STATUS" "PROFILE FORMAT" EXAMPLES "SEE ALSO"; do
	ok $(grep -qx "$section" "$T/page"; echo $?) "section $section"
done
for example in 'go tool pprof -top -base OLD' 'go tool pprof -http 127.0.0.1:' 'pprof -list' \
	'pprof -traces' "go tool pprof -top 'http://127.0.0.1:6060/debug/pprof/heap?pid=" \
	'heaptrace print -base' 'systemctl start heaptrace@redis-server'; do
	ok $(grep -qF -- "$example" "$T/page"; echo $?) "example: $example"
done
for file in /etc/heaptrace/heaptrace.conf libheaptrace-sampler.so heaptrace.service \
	heaptrace@.service /var/lib/heaptrace/; do
	ok $(sed -n '/^FILES$/,/^SIGNALS$/p' "$T/page" | grep -qF "$file"; echo $?) "FILES: $file"
done

# The three lists of options: --help, the page's OPTIONS, docs/cli.md's table.
"$HEAPTRACE" --help | grep -oE '^(  -[a-zA-Z], |      )--[a-z0-9-]+' | grep -oE -- '--[a-z0-9-]+' |
	sort >"$T/help.list"
MANWIDTH=200 man -l "$MANPAGE" 2>/dev/null | sed -n '/^OPTIONS$/,/^[A-Z]/p' |
	grep -oE '^       (-[a-zA-Z], )?--[a-z0-9-]+' | grep -oE -- '--[a-z0-9-]+' | sort >"$T/man.list"
grep -oE '^\| `(-[a-zA-Z], )?--[a-z0-9-]+' "$TOPDIR/docs/cli.md" | grep -oE -- '--[a-z0-9-]+' |
	sort >"$T/cli.list"
n=$(wc -l <"$T/help.list")
ok $([ "$n" -ge 25 ]; echo $?) "--help lists the options ($n)"
diff -u "$T/help.list" "$T/man.list" >"$T/diff"
ok $? "the man page lists exactly --help's options" || diag "$(cat "$T/diff")"
diff -u "$T/help.list" "$T/cli.list" >"$T/diff"
ok $? "docs/cli.md documents exactly --help's options" || diag "$(cat "$T/diff")"
# Short names too: "-p, --pid" in both.
"$HEAPTRACE" --help | grep -oE '^  -[a-zA-Z], --[a-z0-9-]+' | sort >"$T/help.short"
MANWIDTH=200 man -l "$MANPAGE" 2>/dev/null | grep -oE '^       -[a-zA-Z], --[a-z0-9-]+' |
	sed 's/^ *//; s/^/  /' | sort >"$T/man.short"
diff -u "$T/help.short" "$T/man.short" >"$T/diff"
ok $? "the man page gives the same short names" || diag "$(cat "$T/diff")"

# Made from the table: the page's option paragraphs are --help-man's, and
# each one carries its --help text.
"$HEAPTRACE" --help-man >"$T/options.roff"
is $? 0 "heaptrace --help-man exits 0"
ok $(grep -qF -f "$T/options.roff" "$MANPAGE" && [ "$(grep -c '^\.TP$' "$T/options.roff")" -eq "$n" ]; echo $?) \
	"the page holds --help-man's $n paragraphs"
ok $(! "$HEAPTRACE" --help | grep -q -- '--help-man'; echo $?) "--help-man is not in --help"
want=$(sed -n '/^      --max-call-rate/,/^      --cool-down/p' <("$HEAPTRACE" --help) | head -n -1 |
	sed -E 's/^ +--max-call-rate N +//; s/^ +//' | tr '\n' ' ' | sed 's/ $//')
got=$(MANWIDTH=1000 man -l "$MANPAGE" 2>/dev/null | grep -A1 -E '^ +--max-call-rate N$' | tail -n 1 |
	sed 's/^ *//')
is "$got" "$want" "an option's text in the page is its --help text"

done_testing
