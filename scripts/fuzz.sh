#!/bin/bash
# fuzz.sh BUILD RUNS NAME... - `make fuzz`: runs each libFuzzer harness
# BUILD/fuzz/fuzz_NAME for RUNS inputs, starting from tests/fuzz/corpus/NAME
# (read only: what it finds goes to a temporary directory), and prints the
# executions and the time each took. Fails on the first crash, leak or
# undefined behaviour, leaving the input that caused it in BUILD/fuzz/.
set -u
BUILD=${1:?usage: fuzz.sh BUILD RUNS NAME...}
RUNS=${2:?usage: fuzz.sh BUILD RUNS NAME...}
shift 2
TOP=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/heaptrace-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
fail=0
total=0
for name in "$@"; do
	bin=$BUILD/fuzz/fuzz_$name
	mkdir -p "$work/$name"
	start=$SECONDS
	# -rss_limit_mb: the readers bound what they allocate; past that is a finding.
	if ! "$bin" -runs="$RUNS" -max_len=65536 -rss_limit_mb=1024 -timeout=10 \
		-artifact_prefix="$BUILD/fuzz/crash-$name-" "$work/$name" "$TOP/tests/fuzz/corpus/$name" \
		>"$work/$name.log" 2>&1; then
		echo "fuzz: $name: FAILED after $((SECONDS - start)) s"
		grep -E 'ERROR|SUMMARY|runtime error|Test unit written' "$work/$name.log" | head -n 5 | sed 's/^/fuzz:   /'
		fail=1
		continue
	fi
	runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$work/$name.log")
	total=$((total + ${runs:-0}))
	echo "fuzz: $name: ${runs:-?} executions in $((SECONDS - start)) s, $(ls "$work/$name" | wc -l) new inputs"
done
echo "fuzz: $total executions in all"
exit "$fail"
