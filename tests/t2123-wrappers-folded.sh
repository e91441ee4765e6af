#!/bin/bash
# The leaf is the code that asked: heap_phases's alloc_new() allocates
# through xmalloc(), a wrapper of the GNU kind. By default the wrapper is
# folded out of the stacks (as Go hides runtime.malloc) and alloc_new holds
# the flat value; --show-wrappers keeps xmalloc as the leaf;
# --fold-wrappers adds patterns of one's own. Exact at -r 1.
. "$(dirname "$0")/lib.sh"

require_root_btf
require_fixture heap_phases-nofp

BLOCKS=8192000 # 2000 x 4096

# trace NAME ARGS...: heaptrace -r 1 ARGS -- heap_phases; sets PROF.
trace() {
	local name=$1
	shift
	mkdir -p "$T/$name"
	run_bounded 60 "$HEAPTRACE" -r 1 "$@" -o "$T/$name" -- "$FIXTURES/heap_phases-nofp" --gap 0 --hold 0 \
		>"$T/$name.stdout" 2>"$T/$name.err"
	is $? 0 "$name: heaptrace -r 1 $* -- heap_phases exits 0" || diag "$(tail -3 "$T/$name.err")"
	PROF=$(last_profile "$T/$name")
}

trace default
is "$(pprof_flat "$PROF" inuse_space alloc_new)" "$BLOCKS" "default: alloc_new, xmalloc's caller, is the leaf of its 8192000 bytes"
is "$(pprof_cum "$PROF" inuse_space xmalloc)" 0 "default: xmalloc appears in no stack"
is "$(pprof_flat "$PROF" inuse_space alloc_old)" "$BLOCKS" "default: alloc_old, which calls malloc itself, is unchanged"
like "$(pprof_traces "$PROF" inuse_space | cut -f2 | grep -m1 '^alloc_new;')" '^alloc_new;main;' \
	"default: the folded stack goes on from alloc_new to main"

trace show --show-wrappers
is "$(pprof_flat "$PROF" inuse_space xmalloc)" "$BLOCKS" "--show-wrappers: xmalloc is the leaf again"
is "$(pprof_flat "$PROF" inuse_space alloc_new)" 0 "--show-wrappers: alloc_new holds no flat value"
is "$(pprof_cum "$PROF" inuse_space alloc_new)" "$BLOCKS" "--show-wrappers: alloc_new is xmalloc's caller"

trace extra --fold-wrappers 'alloc_n*,no_such_fn'
is "$(pprof_flat "$PROF" inuse_space alloc_new)" 0 "--fold-wrappers 'alloc_n*,...': alloc_new folded too"
is "$(pprof_flat "$PROF" inuse_space main)" "$BLOCKS" "--fold-wrappers: main, their caller, is the leaf"
is "$(pprof_flat "$PROF" inuse_space alloc_old)" "$BLOCKS" "--fold-wrappers: alloc_old matches no pattern and stays"

"$HEAPTRACE" --fold-wrappers 'a,,b' -- true >/dev/null 2>"$T/bad.err"
is $? 2 "--fold-wrappers with an empty pattern: usage error, exit 2"
is "$(wc -l <"$T/bad.err")" 1 "...in one line: $(cat "$T/bad.err")"
like "$(cat "$T/bad.err")" "invalid --fold-wrappers 'a,,b': give comma-separated" "...naming the option and the fix"
done_testing
