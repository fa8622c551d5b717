#!/bin/sh
# The benchmark: every figure of the performance issue, for gpatch and its
# baselines, measured side by side in one run on this machine. Prints the
# medians of several repeats with their spread (min-max) and the ratios.
#
# Usage: bench.sh BUILD_DIR full|quick
# Only ratios measured in the same run mean anything on a shared machine.
set -eu

build=${1:?usage: bench.sh BUILD_DIR full|quick}
mode=${2:-full}
lib=$(cd "$build" && pwd)/libgpatch.so
progs=$build/progs
client=$progs/echo_client
tmp=$(mktemp -d "${TMPDIR:-/tmp}/gpatch-bench.XXXXXX")

if [ "$mode" = quick ]; then
  reps=3 echo_reps=1 conns_list="100 1000" echo_requests=40000
  n_switch_native=20000 n_switch=500000 n_spawn_native=2000
  n_spawn=200000 n_mutex=5000000 idle_native=2000 idle=100000
else
  reps=5 echo_reps=3 conns_list="100 1000 10000" echo_requests=200000
  n_switch_native=100000 n_switch=2000000 n_spawn_native=20000
  n_spawn=1000000 n_mutex=20000000 idle_native=10000 idle=100000
fi

# The server side gets CPU 0, the load generator CPU 1, where there are two.
pin_server="" pin_client=""
if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null 2>&1; then
  pin_server="taskset -c 0" pin_client="taskset -c 1"
fi
server_prefix=$pin_server
# shellcheck source=scripts/serverlib.sh
. "$(dirname "$0")/serverlib.sh"

# shellcheck disable=SC2317 # Invoked through the trap.
cleanup() {
  set +e
  serverlib_cleanup
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
serverlib_setup

# Prints the value of key $2 in the key=value line $1, or nothing.
field() {
  printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n 1
}

# Reads numbers, one per line; prints "median min max" (n/a when none).
stats() {
  sort -g | awk '{ v[NR] = $1 }
    END { if (NR == 0) { print "n/a n/a n/a"; exit }
          m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
          printf "%s %s %s\n", fmt(m), fmt(v[1]), fmt(v[NR]) }
    function fmt(x) { return x >= 1000 ? sprintf("%.0f", x) : sprintf("%.3g", x) }'
}

# Runs "$@" $reps times (under LD_PRELOAD=$lib when $preload is 1) and
# prints each run's output line (an empty line for a run that printed none).
runs() {
  i=0
  while [ $i -lt "$reps" ]; do
    if [ "$preload" = 1 ]; then
      out=$(LD_PRELOAD=$lib timeout 300 "$@" 2>/dev/null) || true
    else
      out=$(timeout 300 "$@" 2>/dev/null) || true
    fi
    printf '%s\n' "$out" | head -n 1
    i=$((i + 1))
  done
}

# Prints the stats of the value of key $1 in the lines of file $2.
key_stats() {
  while IFS= read -r line; do
    field "$line" "$1"
  done <"$2" | stats
}

# Runs "$@" as runs does and prints the stats of the value of key $key.
repeat() {
  runs "$@" >"$tmp/runs"
  key_stats "$key" "$tmp/runs"
}

# Prints a ratio a/b with two decimals, or n/a.
ratio() {
  awk -v a="$1" -v b="$2" 'BEGIN {
    if (a + 0 > 0 && b + 0 > 0) printf "%.2f\n", a / b; else print "n/a" }'
}

row() {
  printf '%-34s %-22s %-22s %-8s %s\n' "$1" "$2" "$3" "$4" "$5"
}

# "median (min-max)" from a stats line.
spread() {
  set -- $1
  echo "$1 ($2-$3)"
}

echo "gpatch benchmark ($mode), $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "machine: $(uname -sr), $(nproc) CPUs," \
     "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
echo "repeats: $reps (echo: $echo_reps); values are medians (min-max)"
echo

echo "1. Thread primitives (one core: both runs pinned to CPU 0)"
row "measure" "native" "gpatch" "ratio" "target (gpatch)"
for m in yield cond; do
  key=value preload=0
  nat=$(repeat $pin_server "$progs/bench_switch" $m $n_switch_native)
  preload=1
  gp=$(repeat $pin_server "$progs/bench_switch" $m $n_switch)
  target=$([ $m = yield ] && echo "<= 15 ns" || echo "<= 25 ns")
  row "$m ping-pong, ns per hand-off" "$(spread "$nat")" "$(spread "$gp")" \
      "$(ratio "${nat%% *}" "${gp%% *}")x" "$target"
done
key=value preload=0
nat=$(repeat $pin_server "$progs/bench_switch" spawn $n_spawn_native)
preload=1
gp=$(repeat $pin_server "$progs/bench_switch" spawn $n_spawn)
row "pthread_create+join, us" "$(spread "$nat")" "$(spread "$gp")" \
    "$(ratio "${nat%% *}" "${gp%% *}")x" "<= 0.2 us"
preload=0
nat=$(repeat $pin_server "$progs/bench_switch" mutex $n_mutex)
preload=1
gp=$(repeat $pin_server "$progs/bench_switch" mutex $n_mutex)
row "uncontended mutex lock+unlock, ns" "$(spread "$nat")" "$(spread "$gp")" \
    "$(ratio "${nat%% *}" "${gp%% *}")x" "no slower than native"
echo "(ratio: native / gpatch, above 1 means gpatch is faster)"
echo

echo "2. Blocked threads (64 KiB stacks asked; native: $idle_native" \
     "threads, gpatch: $idle)"
row "measure" "native" "gpatch" "" "target (gpatch)"
# Creation time and RSS come from the same runs.
for m in sleep cond; do
  preload=0
  runs "$progs/bench_idle" $m $idle_native >"$tmp/idle.native"
  preload=1
  runs "$progs/bench_idle" $m $idle >"$tmp/idle.gpatch"
  nc=$(key_stats create_ms "$tmp/idle.native")
  nr=$(key_stats rss_kb_per_thread "$tmp/idle.native")
  gc=$(key_stats create_ms "$tmp/idle.gpatch")
  gr=$(key_stats rss_kb_per_thread "$tmp/idle.gpatch")
  row "$m: create all, ms" "$(spread "$nc")" "$(spread "$gc")" "" "< 1000 ms"
  row "$m: RSS per blocked thread, KiB" "$(spread "$nr")" "$(spread "$gr")" \
      "" "<= 4.5 KiB"
done
gt=$(key_stats threads "$tmp/idle.gpatch")
echo "(gpatch ran $idle threads on ${gt%% *} OS thread(s); native RSS"
echo " excludes the kernel's per-thread memory)"
echo

# Runs one echo run: $1 label, $2 preload (lib or empty), then the server
# command; appends the client's line to $tmp/echo.$1. The servers of one
# comparison take turns, run by run, so that the machine's moods (a
# shared VM is noisy) fall on all of them alike.
echo_run() {
  label=$1 pre=$2
  shift 2
  if start_server "$pre" "$@"; then
    # shellcheck disable=SC2086 # pin_client is a command prefix.
    line=$(timeout 200 $pin_client "$client" -p "$port" -c "$conns" \
             -n "$rounds" -t 120 -P "$server_pid" 2>/dev/null) || true
    stop_server
    echo "$line" >>"$tmp/echo.$label"
  fi
}

# Prints "rps p99 served peak_threads peak_rss_kb", the medians of the runs
# of label $1.
echo_stats() {
  for k in rps p99_us served peak_threads peak_rss_kb; do
    sed -n "s/.* $k=\([-0-9.]*\).*/\1/p" "$tmp/echo.$1" 2>/dev/null |
      stats | cut -d' ' -f1
  done | tr '\n' ' '
  echo
}

echo "3. Echo, 64-byte ping-pong, $echo_requests requests per run" \
     "(servers on CPU 0)"
row "connections, server" "req/s" "p99 us" "served" \
    "OS threads, RSS/conn KiB"
for conns in $conns_list; do
  rounds=$((echo_requests / conns))
  rm -f "$tmp"/echo.*
  j=0
  while [ $j -lt "$echo_reps" ]; do
    echo_run uv "" "$build/bench/uv_echo"
    echo_run native "" "$progs/echo_server"
    echo_run gpatch "$lib" "$progs/echo_server"
    j=$((j + 1))
  done
  set -- $(echo_stats uv)
  uv_rps=$1 uv_p99=$2
  row "C=$conns libuv echo" "$1" "$2" "$3" "$4"
  set -- $(echo_stats native)
  nat_rps=$1
  row "C=$conns threads, native" "$1" "$2" "$3" "$4"
  set -- $(echo_stats gpatch)
  row "C=$conns threads, gpatch" "$1" "$2" "$3" \
      "$4, $(awk -v k="$5" -v c="$conns" 'BEGIN { printf "%.1f", k / c }')"
  echo "  gpatch/libuv req/s $(ratio "$1" "$uv_rps") (target >= 0.90)," \
       "p99 $(ratio "$2" "$uv_p99")x libuv's (target <= 1.2)," \
       "native/libuv $(ratio "$nat_rps" "$uv_rps")"
done
echo

if /usr/bin/python3 -c 'import gevent' 2>/dev/null; then
  echo "4. Python socketserver.ThreadingTCPServer echo (/usr/bin/python3)"
  row "connections, runtime" "req/s" "p99 us" "served" "OS threads"
  for conns in $conns_list; do
    [ "$conns" -ge 1000 ] || continue
    rounds=$((echo_requests / conns / 4))
    rm -f "$tmp"/echo.*
    j=0
    while [ $j -lt "$echo_reps" ]; do
      echo_run pygevent "" /usr/bin/python3 \
        "$(dirname "$0")/bench/py_echo.py" gevent
      echo_run pygpatch "$lib" /usr/bin/python3 \
        "$(dirname "$0")/bench/py_echo.py"
      j=$((j + 1))
    done
    set -- $(echo_stats pygevent)
    ge_rps=$1
    row "C=$conns gevent.monkey.patch_all" "$1" "$2" "$3" "$4"
    set -- $(echo_stats pygpatch)
    row "C=$conns gpatch" "$1" "$2" "$3" "$4"
    echo "  gpatch/gevent req/s $(ratio "$1" "$ge_rps") (target >= 1.5)"
  done
else
  echo "4. Python: skipped, python3-gevent is not installed" \
       "(apt-get install python3-gevent)."
fi
echo
echo "Go: not measured by this version of the benchmark."
