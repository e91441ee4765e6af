#!/bin/bash
# Python's object allocator: Debian's python3 keeps 200 000 strings of 300
# characters (349-byte objects, pymalloc's 352-byte class: 70.4 MB). They
# never reach malloc: pymalloc serves them from its arenas, 1 MiB mappings
# it takes with mmap, and its fast path is inlined in the interpreter
# (PyUnicode_New), where no probe can see it. heaptrace probes the arenas
# in a CPython process, so the in-use estimate at the default rate is
# within 25 % of what the strings hold, counted once.
. "$(dirname "$0")/lib.sh"

require_root_btf
PY=/usr/bin/python3
[ -x "$PY" ] || bail_out "$PY is missing (Debian's python3 package)"

cat >"$T/strings.py" <<'PYEOF'
import signal, sys, time
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
print("ready", flush=True)
signal.sigwait({signal.SIGUSR1})
keep = [("%06d" % i) * 50 for i in range(200000)]
print("held", len(keep), sys.getsizeof(keep[0]), flush=True)
time.sleep(60)
PYEOF
env --default-signal=INT,TERM "$PY" "$T/strings.py" >"$T/py.out" 2>"$T/py.err" &
py=$!
track_pid "$py"
wait_for_line "$T/py.out" '^ready$' 20 1 "$py" || bail_out "python3 did not start: $(cat "$T/py.err")"

out=$T/out
mkdir -p "$out"
start_heaptrace "$T/err" -p "$py" -i 1h -o "$out" || bail_out "heaptrace did not start"
"$HEAPTRACE" --list-allocators -p "$py" >"$T/alloc" 2>&1
like "$(grep 'probe mmap' "$T/alloc")" 'pymalloc-arena .* -> pyarena_entry' \
	"--list-allocators: mmap is probed for pymalloc's arenas in a CPython process"
kill -USR1 "$py"
wait_for_line "$T/py.out" '^held ' 60 1 "$py" || bail_out "python3 did not build its strings"
is "$(cut -d' ' -f2,3 <"$T/py.out" | tail -n 1)" "200000 349" "python3 holds 200000 strings of 349 bytes"
sleep 1
kill -INT "$HT_PID"
wait_exit "$HT_PID" 30
is "$EXIT_STATUS" 0 "heaptrace exits 0 on SIGINT"
prof=$(last_profile "$out")
truth=$((200000 * 352))
inuse=$(pprof_total "$prof" inuse_space)
within "$inuse" "$truth" 25 "in-use estimate $inuse bytes within 25% of the strings' $truth"
status=$(grep -E ": inuse .* lost" "$T/err" | tail -n 1)
like "$status" ' 0 lost' "nothing lost: $status"

# The arena probes are for CPython processes only: mmap elsewhere is not probed.
"$HEAPTRACE" --list-allocators -- /bin/true >"$T/alloc-true" 2>&1
ok "$(! grep -q 'pymalloc-arena' "$T/alloc-true"; echo $?)" "a process that is not CPython gets no arena probes"
kill "$py"
done_testing
