# Section 1c of the benchmark, the two TLS modes side by side: sourced by
# scripts/bench.sh, whose helpers (once, key_stats, stats, prow, spread,
# xratio) and settings (mode, reps, progs, tmp, pin_server, idle,
# idle_native) it uses.
#
# The rows of issue 12, each natively, under GPATCH_TLS=shared and under
# GPATCH_TLS=private, taking turns run by run:
# - tests/progs/bench_switch yield, cond and spawn, pinned to the server's
#   CPU as section 1 is. A private-mode switch costs a system call where
#   the CPU has no FSGSBASE (arch_prctl, microseconds on a VM), a shared
#   one nanoseconds: each mode's count is calibrated by a short first run
#   to last about half a second (between 10,000 and section 1's count).
# - tests/progs/bench_idle cond: RSS per blocked thread, $idle threads
#   ($idle_native natively).
# - tests/progs/tls_churn: short threads 100 at a time (malloc/free, a C++
#   thread_local object, a key destructor, strerror's buffer), one run
#   each: how much RSS and malloc's bytes in use grew from the 10,000th
#   thread to the last (a million under gpatch in full mode, 200,000 in
#   quick; 20,000 natively, where a thread costs over 200 us here), and
#   us per thread.

# shellcheck disable=SC2154 # mode and the rest: set by scripts/bench.sh
if [ "$mode" = quick ]; then
  churn_n=200000
else
  churn_n=1000000
fi
churn_native=20000

# The GPATCH_TLS value of column $1 (native has none).
tls_env() {
  case $1 in
  shared) echo GPATCH_TLS=shared ;;
  private) echo GPATCH_TLS=private ;;
  esac
}

# Runs prog "$@" once in column $1 (native, shared, private) and prints
# its output line.
# shellcheck disable=SC2086 # pin_server is a command prefix.
tls_once() {
  col=$1
  shift
  if [ "$col" = native ]; then
    once 0 $pin_server "$@"
  else
    once 1 env "$(tls_env "$col")" $pin_server "$@"
  fi
}

# A count for bench_switch mode $2 in column $1 that runs about half a
# second (unit $3 per operation: ns or us), between 10,000 and $4.
tls_count() {
  v=$(tls_once "$1" "$progs/bench_switch" "$2" 10000 | tr ' ' '\n' |
        sed -n 's/^value=//p')
  awk -v v="$v" -v u="$3" -v max="$4" 'BEGIN {
    per = (u == "us") ? v * 1000 : v
    n = (per > 0) ? int(0.5e9 / per) : max
    if (n < 10000) n = 10000
    if (n > max) n = max
    print n }'
}

# One bench_switch row: $1 the measure, $2 the target, $3 the mode, $4 its
# unit, $5 the largest count (section 1's).
tls_switch_row() {
  nn=$(tls_count native "$3" "$4" "$5")
  ns=$(tls_count shared "$3" "$4" "$5")
  np=$(tls_count private "$3" "$4" "$5")
  : >"$tmp/tls.native"; : >"$tmp/tls.shared"; : >"$tmp/tls.private"
  i=0
  while [ $i -lt "$reps" ]; do
    tls_once native "$progs/bench_switch" "$3" "$nn" >>"$tmp/tls.native"
    tls_once shared "$progs/bench_switch" "$3" "$ns" >>"$tmp/tls.shared"
    tls_once private "$progs/bench_switch" "$3" "$np" >>"$tmp/tls.private"
    i=$((i + 1))
  done
  sn=$(key_stats value "$tmp/tls.native")
  ss=$(key_stats value "$tmp/tls.shared")
  sp=$(key_stats value "$tmp/tls.private")
  prow "$1" "$(spread "$sn")" "$(spread "$ss")" "$(spread "$sp")" \
       "$(xratio "$sp" "$ss")" "" "$2"
}

# The RSS row: bench_idle cond, $idle threads ($idle_native natively).
tls_idle_row() {
  : >"$tmp/tls.native"; : >"$tmp/tls.shared"; : >"$tmp/tls.private"
  i=0
  while [ $i -lt "$reps" ]; do
    once 0 "$progs/bench_idle" cond "$idle_native" >>"$tmp/tls.native"
    once 1 env GPATCH_TLS=shared "$progs/bench_idle" cond "$idle" \
      >>"$tmp/tls.shared"
    once 1 env GPATCH_TLS=private "$progs/bench_idle" cond "$idle" \
      >>"$tmp/tls.private"
    i=$((i + 1))
  done
  sn=$(key_stats rss_kb_per_thread "$tmp/tls.native")
  ss=$(key_stats rss_kb_per_thread "$tmp/tls.shared")
  sp=$(key_stats rss_kb_per_thread "$tmp/tls.private")
  prow "RSS per blocked thread, KiB" "$(spread "$sn")" \
       "$(spread "$ss")" "$(spread "$sp")" "$(xratio "$sp" "$ss")" "" \
       "<= 8.5 KiB"
}

# Runs tls_churn $2 in column $1 (one run, up to 10 minutes) and prints
# "growth_kb heap_growth_kb us_per_thread", or "- - -" when it failed.
tls_churn_run() {
  if [ "$1" = native ]; then
    out=$(timeout 600 "$progs/tls_churn" "$2" 100 10000 2>/dev/null) ||
      out=""
  else
    out=$(env LD_PRELOAD="$lib" "$(tls_env "$1")" \
          timeout 600 "$progs/tls_churn" "$2" 100 10000 2>/dev/null) ||
      out=""
  fi
  printf '%s\n' "$out" | awk -F= -v n="$2" '
    { v[$1] = $2 }
    END {
      if (v["created"] != n) { print "- - -"; exit }
      printf "%s %.0f %.1f\n", v["growth_kb"],
             (v["heap_end_b"] - v["heap_mark_b"]) / 1024,
             v["secs"] * 1e6 / n }'
}

echo "1c. Thread-local storage: GPATCH_TLS=shared and GPATCH_TLS=private" \
     "(switch rows on CPU 0)"
prow "measure" "native" "gpatch shared" "gpatch private" "prv/shr" "" \
     "target (private)"
tls_switch_row "yield ping-pong, ns per hand-off" "<= 15 ns" yield ns \
  "$n_switch"
tls_switch_row "cond ping-pong, ns per hand-off" "<= 25 ns" cond ns \
  "$n_switch"
tls_switch_row "pthread_create+join, us" "<= 0.4 us" spawn us "$n_spawn"
tls_idle_row
# The churn's three columns, one run each.
# shellcheck disable=SC2046 # three words
set -- $(tls_churn_run native $churn_native)
cn_rss=$1 cn_heap=$2 cn_us=$3
# shellcheck disable=SC2046 # three words
set -- $(tls_churn_run shared $churn_n)
cs_rss=$1 cs_heap=$2 cs_us=$3
# shellcheck disable=SC2046 # three words
set -- $(tls_churn_run private $churn_n)
cp_rss=$1 cp_heap=$2 cp_us=$3
prow "short threads, 100 at a time, us" "$cn_us" "$cs_us" "$cp_us" \
     "$(xratio "$cp_us" "$cs_us")" "" "(not a target)"
prow "  RSS growth 10k -> last, KiB" "$cn_rss" "$cs_rss" "$cp_rss" "" "" \
     "flat (< 1 MiB)"
prow "  malloc'd growth 10k -> last, KiB" "$cn_heap" "$cs_heap" "$cp_heap" \
     "" "" "flat (< 64 KiB)"
echo "(counts: switch rows calibrated to ~0.5 s a run; blocked threads:" \
     "native $idle_native, gpatch $idle; short threads: native" \
     "$churn_native, gpatch $churn_n, one run each; prv/shr: what private" \
     "costs as a multiple of shared)"
echo
