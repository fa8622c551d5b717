#!/bin/sh
# The benchmark: every figure of the performance issue, for gpatch and its
# baselines, measured side by side in one run on this machine. Prints the
# medians of several repeats with their spread (min-max) and the ratios.
# The baselines: native threads, a libuv echo server, and where they are
# installed Go (scripts/bench/go_*.go, built by make bench into
# BUILD_DIR/bench, run with GOMAXPROCS=1) and gevent.
#
# Usage: bench.sh BUILD_DIR full|quick
# Only ratios measured in the same run mean anything on a shared machine.
set -eu

build=${1:?usage: bench.sh BUILD_DIR full|quick}
mode=${2:-full}
lib=$(cd "$build" && pwd)/libgpatch.so
progs=$build/progs
client=$progs/echo_client
gobin=$build/bench
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

# Go runs its goroutines on one P, as gpatch runs its threads on one OS
# thread; no other program here reads the variable.
export GOMAXPROCS=1
go_skip=""
if ! command -v go >/dev/null 2>&1; then
  go_skip="golang-go is not installed (apt-get install golang-go)"
elif ! [ -x "$gobin/go_switch" ] || ! [ -x "$gobin/go_idle" ] ||
     ! [ -x "$gobin/go_echo" ]; then
  go_skip="the Go programs are not built (make bench builds them)"
fi
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

# Runs "$@" once (preloaded when $1 is 1) and prints its output line (an
# empty line when it printed none).
once() {
  if [ "$1" = 1 ]; then
    shift
    out=$(LD_PRELOAD=$lib timeout 300 "$@" 2>/dev/null) || true
  else
    shift
    out=$(timeout 300 "$@" 2>/dev/null) || true
  fi
  printf '%s\n' "$out" | head -n 1
}

# Runs "$@" $reps times (under LD_PRELOAD=$lib when $preload is 1) and
# prints each run's output line.
runs() {
  i=0
  while [ $i -lt "$reps" ]; do
    once "$preload" "$@"
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

# "2.50x", the ratio of the medians of stats lines $1 and $2, or n/a.
xratio() {
  r=$(ratio "${1%% *}" "${2%% *}")
  [ "$r" = n/a ] && echo "$r" || echo "${r}x"
}

row() {
  printf '%-34s %-22s %-22s %-8s %s\n' "$1" "$2" "$3" "$4" "$5"
}

# A row of sections 1 and 2: measure, native, gpatch, Go, the two ratios,
# target.
prow() {
  printf '%-34s %-19s %-19s %-19s %-7s %-7s %s\n' "$1" "$2" "$3" "$4" "$5" \
    "$6" "$7"
}

# "median (min-max)" from a stats line; "-" stays "-".
spread() {
  [ "$1" = - ] && { echo -; return; }
  set -- $1
  echo "$1 ($2-$3)"
}

echo "gpatch benchmark ($mode), $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "machine: $(uname -sr), $(nproc) CPUs," \
     "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
echo "repeats: $reps (echo: $echo_reps); values are medians (min-max)"
if [ -z "$go_skip" ]; then
  echo "Go: $(go version | cut -d' ' -f3), GOMAXPROCS=1"
else
  echo "Go: skipped, $go_skip."
fi
echo

# One row of section 1, bench_switch mode $3 natively ($4 times), under
# gpatch and as go_switch ($5 times): $1 the measure, $2 gpatch's target;
# a sixth argument goes to bench_switch after the count (spawn_stack's
# stack size), and then Go, which has no stack size to set, is left out.
# The three take turns run by run, so a slow moment of the machine falls
# on all of them.
primitive() {
  : >"$tmp/nat"; : >"$tmp/gp"; : >"$tmp/go"
  i=0
  while [ $i -lt "$reps" ]; do
    once 0 $pin_server "$progs/bench_switch" "$3" "$4" ${6:-} >>"$tmp/nat"
    once 1 $pin_server "$progs/bench_switch" "$3" "$5" ${6:-} >>"$tmp/gp"
    [ -z "$go_skip" ] && [ -z "${6:-}" ] &&
      once 0 $pin_server "$gobin/go_switch" "$3" "$5" >>"$tmp/go"
    i=$((i + 1))
  done
  nat=$(key_stats value "$tmp/nat")
  gp=$(key_stats value "$tmp/gp")
  gov=-
  [ -z "$go_skip" ] && [ -z "${6:-}" ] && gov=$(key_stats value "$tmp/go")
  prow "$1" "$(spread "$nat")" "$(spread "$gp")" "$(spread "$gov")" \
       "$(xratio "$nat" "$gp")" "$(xratio "$gov" "$gp")" "$2"
}

echo "1. Thread primitives (one core: all runs pinned to CPU 0; Go:" \
     "goroutines)"
prow "measure" "native" "gpatch" "Go" "nat/gp" "Go/gp" "target (gpatch)"
primitive "yield ping-pong, ns per hand-off" "<= 15 ns" yield \
  $n_switch_native $n_switch
primitive "cond ping-pong, ns per hand-off" "<= 25 ns" cond \
  $n_switch_native $n_switch
primitive "pthread_create+join, us" "<= 0.2 us" spawn $n_spawn_native $n_spawn
primitive "  the same, stack 64 KiB set, us" "<= 0.2 us" spawn_stack \
  $n_spawn_native $n_spawn 65536
primitive "  the same, stack 1 MiB set, us" "<= 0.2 us" spawn_stack \
  $n_spawn_native $n_spawn 1048576
primitive "uncontended mutex lock+unlock, ns" "no slower than native" mutex \
  $n_mutex $n_mutex
primitive "  the same before any thread, ns" "(not a target)" mutex_main \
  $n_mutex $n_mutex
echo "(ratios: native / gpatch and Go / gpatch, above 1 means gpatch is" \
     "faster; Go"
echo " yields with runtime.Gosched, waits on a sync.Cond, joins with a" \
     "sync.WaitGroup)"
echo
. "$(dirname "$0")/bench/pipe.sh"
. "$(dirname "$0")/bench/tls.sh"

echo "2. Blocked threads (64 KiB stacks asked; native: $idle_native" \
     "threads, gpatch: $idle; Go: $idle goroutines)"
prow "measure" "native" "gpatch" "Go" "" "Go/gp" "target (gpatch)"
# Creation time and RSS come from the same runs.
for m in sleep cond; do
  preload=0
  runs "$progs/bench_idle" $m $idle_native >"$tmp/idle.native"
  goc=- gor=-
  if [ -z "$go_skip" ]; then
    runs "$gobin/go_idle" $m $idle >"$tmp/idle.go"
    goc=$(key_stats create_ms "$tmp/idle.go")
    gor=$(key_stats rss_kb_per_thread "$tmp/idle.go")
  fi
  preload=1
  runs "$progs/bench_idle" $m $idle >"$tmp/idle.gpatch"
  nc=$(key_stats create_ms "$tmp/idle.native")
  nr=$(key_stats rss_kb_per_thread "$tmp/idle.native")
  gc=$(key_stats create_ms "$tmp/idle.gpatch")
  gr=$(key_stats rss_kb_per_thread "$tmp/idle.gpatch")
  prow "$m: create all, ms" "$(spread "$nc")" "$(spread "$gc")" \
       "$(spread "$goc")" "" "$(xratio "$goc" "$gc")" "< 1000 ms"
  prow "$m: RSS per blocked thread, KiB" "$(spread "$nr")" "$(spread "$gr")" \
       "$(spread "$gor")" "" "$(xratio "$gor" "$gr")" "<= 4.5 KiB"
done
gt=$(key_stats threads "$tmp/idle.gpatch")
printf '(gpatch ran %s threads on %s OS thread(s)' "$idle" "${gt%% *}"
if [ -z "$go_skip" ]; then
  got=$(key_stats threads "$tmp/idle.go")
  printf ', Go %s goroutines on %s' "$idle" "${got%% *}"
fi
echo ";"
echo " native RSS excludes the kernel's per-thread memory; Go/gp above 1" \
     "means gpatch is faster or smaller)"
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

# "OS threads, RSS per connection in KiB" from peak_threads $1,
# peak_rss_kb $2 and the connection count $conns.
threads_rss() {
  echo "$1, $(awk -v k="$2" -v c="$conns" 'BEGIN { printf "%.1f", k / c }')"
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
    echo_run gpshared "$lib" env GPATCH_TLS=shared "$progs/echo_server"
    [ -n "$go_skip" ] || echo_run go "" "$gobin/go_echo"
    j=$((j + 1))
  done
  set -- $(echo_stats uv)
  uv_rps=$1 uv_p99=$2
  row "C=$conns libuv echo" "$1" "$2" "$3" "$4"
  set -- $(echo_stats native)
  nat_rps=$1
  row "C=$conns threads, native" "$1" "$2" "$3" "$4"
  set -- $(echo_stats gpatch)
  gp_rps=$1 gp_p99=$2
  row "C=$conns threads, gpatch" "$1" "$2" "$3" "$(threads_rss "$4" "$5")"
  set -- $(echo_stats gpshared)
  sh_rps=$1 sh_p99=$2
  row "C=$conns threads, gpatch TLS shared" "$1" "$2" "$3" \
      "$(threads_rss "$4" "$5")"
  if [ -z "$go_skip" ]; then
    set -- $(echo_stats go)
    go_rps=$1 go_p99=$2
    row "C=$conns goroutines, Go" "$1" "$2" "$3" "$(threads_rss "$4" "$5")"
  fi
  echo "  gpatch/libuv req/s $(ratio "$gp_rps" "$uv_rps") (target >= 0.90)," \
       "p99 $(ratio "$gp_p99" "$uv_p99")x libuv's (target <= 1.2)," \
       "native/libuv $(ratio "$nat_rps" "$uv_rps")"
  echo "  gpatch (default, private TLS)/gpatch with GPATCH_TLS=shared req/s" \
       "$(ratio "$gp_rps" "$sh_rps"), p99 $(ratio "$gp_p99" "$sh_p99")x;" \
       "TLS shared/libuv req/s $(ratio "$sh_rps" "$uv_rps")"
  if [ -z "$go_skip" ]; then
    echo "  gpatch/Go req/s $(ratio "$gp_rps" "$go_rps")," \
         "p99 $(ratio "$gp_p99" "$go_p99")x Go's," \
         "Go/libuv req/s $(ratio "$go_rps" "$uv_rps")"
  fi
done
sh "$(dirname "$0")/bench/conn.sh" "$build" "$mode" || true
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

# Section 5: the time slice. slice_busy runs an event loop whose
# epoll_wait always has an event, $slice_ms ms long: "quiet" beside one
# thread parked for the whole run (the loop's own speed: what the check
# and the hub's round trip each slice cost), else beside four threads
# that sleep, read a pipe, resolve a name and poll with a timeout (how
# late the latest of them ran). Native, gpatch with the default slice and
# with GPATCH_SLICE=off take turns, run by run.
if [ "$mode" = quick ]; then slice_ms=500; else slice_ms=1000; fi
# shellcheck disable=SC2086 # $3 is an optional word, pin_server a prefix.
slice_row() {
  : >"$tmp/sl.nat"; : >"$tmp/sl.on"; : >"$tmp/sl.off"
  i=0
  while [ $i -lt "$reps" ]; do
    once 0 $pin_server "$progs/slice_busy" epoll $slice_ms $3 >>"$tmp/sl.nat"
    once 1 $pin_server "$progs/slice_busy" epoll $slice_ms $3 >>"$tmp/sl.on"
    once 1 env GPATCH_SLICE=off $pin_server "$progs/slice_busy" epoll \
      $slice_ms $3 >>"$tmp/sl.off"
    i=$((i + 1))
  done
  on=$(key_stats "$2" "$tmp/sl.on")
  off=$(key_stats "$2" "$tmp/sl.off")
  prow "$1" "$(spread "$(key_stats "$2" "$tmp/sl.nat")")" \
       "$(spread "$on")" "$(spread "$off")" "$(xratio "$on" "$off")" "" \
       "$4"
}
echo "5. Time slice: an epoll loop always ready, ${slice_ms} ms (on CPU 0)"
prow "measure" "native" "gpatch 5 ms" "gpatch off" "5ms/off" "" \
     "target (gpatch 5 ms)"
slice_row "loop calls/s, 1 thread parked" calls_per_s quiet \
  "5ms/off >= 0.95"
slice_row "  4 threads waiting: latest, ms" worst_ms "" "< 50 ms"
slice_row "  the loop's calls/s beside them" calls_per_s "" "(not a target)"
echo "(off: the loop keeps the OS thread; the waiting threads run only" \
     "after it)"

echo
sh "$(dirname "$0")/bench/handoff.sh" "$build" "$mode" || true
echo
sh "$(dirname "$0")/bench/daemons.sh" "$build" "$mode" || true
