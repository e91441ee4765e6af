#!/bin/bash
# libheaptrace-sampler.so on its own: its USDT notes (otel_memory:alloc and
# :free, with semaphores, on 5-byte nops), what it links and exports, and
# real programs run under LD_PRELOAD with no tracer attached (semaphores
# 0: every call goes straight to the real allocator): the exercise program
# (every wrapped function, threads, fork, signals, dlopen), Debian's
# python3 and g++.
. "$(dirname "$0")/lib.sh"
. "$TOPDIR/tests/preload/lib-sampler.sh"

require_sampler

# ---- the notes
notes=$(readelf -n "$SAMPLER")
is "$(grep -c 'Provider: otel_memory' <<<"$notes")" 2 "two otel_memory probes in .note.stapsdt" ||
	diag "$notes"
is "$(grep -cE '^ +Name: alloc$' <<<"$notes")" 1 "one alloc probe"
is "$(grep -cE '^ +Name: free$' <<<"$notes")" 1 "one free probe"
is "$(note_field alloc Arguments)" "8@%rdi 8@%rsi 8@%rdx" "alloc(ptr, size, weighted_bytes): three 8-byte arguments"
is "$(note_field free Arguments)" "8@%rdi" "free(ptr): one 8-byte argument"

probes_line=$(readelf -SW "$SAMPLER" | sed -nE 's/^ *\[ *[0-9]+\] \.probes +PROGBITS +([0-9a-f]+) [0-9a-f]+ ([0-9a-f]+) .* WA .*/\1 \2/p')
read -r probes_addr probes_size <<<"$probes_line"
ok "$([ -n "$probes_addr" ]; echo $?)" "a writable .probes section ($probes_line)"
for p in alloc free; do
	sem=$(note_field $p Semaphore)
	ok "$([ -n "$sem" ] && [ $((sem)) -ne 0 ] &&
		[ $((sem)) -ge $((0x$probes_addr)) ] && [ $((sem + 2)) -le $((0x$probes_addr + 0x$probes_size)) ]
		echo $?)" "$p: its semaphore ($sem) is in .probes"
done
is "$(note_field free Semaphore)" "$(printf '0x%016x' $(($(note_field alloc Semaphore) + 2)))" \
	"the two semaphores are next to each other"
base_sec=$(readelf -SW "$SAMPLER" | sed -nE 's/^ *\[ *[0-9]+\] \.stapsdt\.base +PROGBITS +([0-9a-f]+) .*/\1/p')
is "$(note_field alloc Base)" "0x$base_sec" "the notes' base is the .stapsdt.base section"
like "$(readelf -sW "$SAMPLER" | grep -F '_.stapsdt.base')" ' LOCAL ' "_.stapsdt.base is local (hidden)"
is "$(nm -D "$SAMPLER" | grep -cE 'stapsdt|ht_gate')" 0 "neither it nor the semaphores are exported"

# ---- the probe sites: 1-byte nops in one build, 5-byte ones in the other
site_bytes() {
	local lib=$1 probe=$2 n=$3 off
	off=$(file_offset "$(note_field "$probe" Location "$lib")" "$lib")
	od -An -tx1 -j "$off" -N "$n" "$lib" | tr -s ' ' | sed 's/^ //; s/ $//'
}
ok "$([ -n "$SAMPLER_OTHER" ]; echo $?)" "the other kind of probe site is built too ($SAMPLER_OTHER)"
kinds=
for lib in "$SAMPLER" $SAMPLER_OTHER; do
	kind=$(site_kind "$lib")
	kinds="$kinds $kind"
	for p in alloc free; do
		if [ "$kind" = nop5 ]; then
			is "$(site_bytes "$lib" $p 5)" "0f 1f 44 00 00" \
				"$(basename "$lib"): $p's probe site is a 5-byte nop (nopl 0x0(%rax,%rax,1))"
		else
			is "$(site_bytes "$lib" $p 1)" "90" "$(basename "$lib"): $p's probe site is a 1-byte nop"
		fi
	done
done
is "$(tr ' ' '\n' <<<"$kinds" | sort | tr '\n' ' ')" " nop1 nop5 " "one build of each kind"

# ---- the same notes made by <sys/sdt.h>
ref=$PRELOAD_BIN/sdt-reference
if [ -x "$ref" ]; then
	refnotes=$(readelf -n "$ref")
	sizes() { grep -E '^ +stapsdt ' | awk '{ print $2 }' | tr '\n' ' '; }
	is "$(sizes <<<"$notes")" "$(sizes <<<"$refnotes")" "note sizes are those of <sys/sdt.h>'s notes for the same probes"
	is "$(grep -cE 'Semaphore: 0x0*[1-9a-f]' <<<"$refnotes")" 2 "<sys/sdt.h>'s reference has its semaphores too"
	is "$("$ref")" 0 "the reference runs, its semaphores 0 untraced"
elif [ "${CI:-}" = true ]; then
	ok 1 "the <sys/sdt.h> reference is built (Debian package systemtap-sdt-dev)"
else
	skip "no <sys/sdt.h> (Debian package systemtap-sdt-dev): no cross-check"
fi

# ---- what it links and exports
is "$(readelf -dW "$SAMPLER" | sed -nE 's/.*\(NEEDED\).*\[(.*)\]/\1/p' | tr '\n' ' ')" "libc.so.6 " \
	"needs libc only"
is "$(nm -D --defined-only "$SAMPLER" | awk '$2 == "T" { print $3 }' | sort | tr '\n' ' ')" \
	"aligned_alloc calloc free malloc malloc_usable_size memalign posix_memalign pvalloc realloc reallocarray valloc " \
	"exports exactly the allocation API"

# ---- real programs, untraced
for rate in "" 1; do
	label="rate ${rate:-default}, untraced"
	out=$(HEAPTRACE_SAMPLE_RATE=$rate LD_PRELOAD=$SAMPLER run_bounded 60 "$PRELOAD_BIN/sampler-exercise" "$DLO" 2>&1)
	st=$?
	is "$st" 0 "$label: the exercise program passes its checks" || diag "$out"
	is "$out" "exercise ok" "$label: and says so"
done
out=$(HEAPTRACE_SAMPLE_RATE=1 LD_PRELOAD=$SAMPLER run_bounded 30 "$PRELOAD_BIN/sampler-known" 2>&1)
is "$out" "known ok" "the known allocations run"
out=$(HEAPTRACE_SAMPLE_RATE=banana LD_PRELOAD=$SAMPLER run_bounded 30 "$PRELOAD_BIN/sampler-known" 2>&1)
like "$out" 'HEAPTRACE_SAMPLE_RATE is not a number of bytes' "a bad HEAPTRACE_SAMPLE_RATE is said on stderr"

if [ -x "$PY" ]; then
	out=$(LD_PRELOAD=$SAMPLER run_bounded 60 "$PY" -c '
import json, hashlib
d = {str(i): list(range(i % 50)) for i in range(20000)}
s = json.dumps(d)
print(len(json.loads(s)), hashlib.sha256(s.encode()).hexdigest()[:8])' 2>&1)
	want=$("$PY" -c '
import json, hashlib
d = {str(i): list(range(i % 50)) for i in range(20000)}
s = json.dumps(d)
print(len(json.loads(s)), hashlib.sha256(s.encode()).hexdigest()[:8])')
	is "$out" "$want" "Debian's python3 runs with the sampler preloaded, same result"
else
	ok 1 "$PY is installed"
fi

cat >"$T/prog.cc" <<'EOC'
#include <iostream>
#include <map>
#include <string>
#include <vector>
int main()
{
	std::map<std::string, std::vector<int>> m;
	for (int i = 0; i < 100000; i++)
		m[std::to_string(i % 5000)].push_back(i);
	long s = 0;
	for (auto &kv : m)
		s += kv.second.size();
	std::cout << m.size() << " " << s << std::endl;
}
EOC
LD_PRELOAD=$SAMPLER run_bounded 120 g++ -O1 "$T/prog.cc" -o "$T/prog" 2>"$T/gxx.err"
is "$?" 0 "g++ (cc1plus, as, ld) compiles a C++ program with the sampler preloaded" || diag "$(cat "$T/gxx.err")"
is "$(LD_PRELOAD=$SAMPLER run_bounded 30 "$T/prog")" "5000 100000" "the C++ program runs with it (new/delete through malloc)"

done_testing
