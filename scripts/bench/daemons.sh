#!/bin/sh
# daemons.sh: the benchmark's daemons section. Each Debian daemon that
# works under the shim (tests/preload/test_daemons.c) is run natively and
# under gpatch, by turns, with the same settings and the same unpatched
# client in the same run: wrk for varnish and haproxy, sysbench for
# MariaDB. Prints the median rate, the p99 latency, the client's errors,
# the peak OS threads of the serving process (sampled during the load)
# and its peak RSS (VmHWM). Neither side is pinned: natively the daemons
# use both CPUs, and the client shares them.
#
# Usage: daemons.sh BUILD_DIR full|quick [DAEMONS]
# DAEMONS: a list of varnish, haproxy, mariadb (all by default).
# A daemon that is not installed gets a "skipped" line (make deps
# installs them).
set -u

build=${1:?usage: daemons.sh BUILD_DIR full|quick}
mode=${2:-full}
only=" ${3:-varnish haproxy mariadb} "
lib=$(cd "$build" && pwd)/libgpatch.so
src=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/gpatch-daemons.XXXXXX")
if [ "$mode" = quick ]; then reps=1 secs=3; else reps=3 secs=5; fi

server_pid="" origin_pid=""
# shellcheck disable=SC2317 # Invoked through the trap.
cleanup() {
  set +e
  for p in $server_pid $origin_pid; do
    kill -KILL "$p" 2>/dev/null
    wait "$p" 2>/dev/null
  done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Whether process $1 exists and is not a zombie.
alive() {
  st=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$1/status" \
         2>/dev/null) || return 1
  [ -n "$st" ] && [ "$st" != Z ]
}

# A TCP port no socket uses, from 12000-19999 (below the kernel's
# ephemeral ports, which the clients' connections take).
free_port() {
  n=0
  while :; do
    r=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
    p=$((12000 + ($$ * 13 + n * 977 + r) % 8000))
    ss -tan "sport = :$p" 2>/dev/null | tail -n +2 | grep -q . || break
    n=$((n + 1))
  done
  echo "$p"
}

# Waits up to $2 seconds until TCP port $1 listens.
wait_port() {
  i=0
  while [ $i -lt $(($2 * 10)) ]; do
    ss -ltn "sport = :$1" 2>/dev/null | tail -n +2 | grep -q . && return 0
    sleep 0.1
    i=$((i + 1))
  done
  return 1
}

# Stops process $1: SIGTERM, up to 10 s, then SIGKILL; reaps it.
stop() {
  [ -n "$1" ] || return 0
  kill -TERM "$1" 2>/dev/null
  i=0
  while alive "$1" && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
  kill -KILL "$1" 2>/dev/null
  wait "$1" 2>/dev/null
}

# Samples the thread count of process $1 every 0.1 s while it lives and
# writes the peak to file $2 each time it rises (kill it when done).
sampler() {
  peak=0
  while alive "$1"; do
    t=$(sed -n 's/^Threads:[[:space:]]*//p' "/proc/$1/status" 2>/dev/null)
    if [ -n "$t" ] && [ "$t" -gt "$peak" ]; then
      peak=$t
      echo "$peak" >"$2"
    fi
    sleep 0.1
  done
}

# Peak RSS of process $1 in MiB (VmHWM), or n/a.
hwm() {
  sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$1/status" \
    2>/dev/null | awk '{ printf "%.1f\n", $1 / 1024 } END { if (!NR) print "n/a" }'
}

# CPU time of process $1 so far (user and system, all its threads), in
# clock ticks.
ticks() {
  awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0
}

# Runs the client command "$@" against process $watch while sampling its
# threads; the client's output goes to $tmp/client, the line
# "threads rss_mib cpu_ticks" to stdout.
measure() {
  : >"$tmp/peak"
  sampler "$watch" "$tmp/peak" &
  spid=$!
  t0=$(ticks "$watch")
  timeout $((secs + 60)) "$@" >"$tmp/client" 2>&1
  t1=$(ticks "$watch")
  r=$(hwm "$watch")
  kill "$spid" 2>/dev/null
  wait "$spid" 2>/dev/null
  echo "$(cat "$tmp/peak" 2>/dev/null || echo n/a) $r $((t1 - t0))"
}

# "threads rss_mib cpu_us_per_op" from measure's line $1 and the count of
# operations $2.
per_op() {
  # shellcheck disable=SC2086 # three fields, split on purpose.
  set -- $1 "$2"
  hz=$(getconf CLK_TCK 2>/dev/null || echo 100)
  echo "$1 $2 $(awk -v t="$3" -v n="$4" -v hz="$hz" 'BEGIN {
    if (n + 0 > 0) printf "%.0f", t * 1e6 / hz / n; else printf "n/a" }')"
}

# Runs wrk for $secs seconds, 100 connections, at URL $1; prints
# "req/s p99_ms errors threads rss_mib cpu_us_per_request".
wrk_run() {
  tr=$(measure wrk -t 2 -c 100 -d "${secs}s" --latency "$1")
  rps=$(sed -n 's/^Requests\/sec:[[:space:]]*\([0-9.]*\).*/\1/p' \
          "$tmp/client")
  p99=$(awk '$1 == "99%" { v = $2; u = v; sub(/[0-9.]+/, "", u);
          sub(/[a-z]+$/, "", v); f = u == "us" ? 0.001 : u == "s" ? 1000 : 1;
          printf "%.2f\n", v * f }' "$tmp/client")
  err=$(awk '/Socket errors|Non-2xx/ { for (i = 1; i <= NF; i++)
          if ($i ~ /^[0-9]+,?$/) s += $i } END { print s + 0 }' "$tmp/client")
  n=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' "$tmp/client")
  echo "${rps:-n/a} ${p99:-n/a} $err $(per_op "$tr" "${n:-0}")"
}

# Median of the numbers on stdin (n/a when none).
median() {
  sort -g | awk '$1 ~ /^[0-9.]+$/ { v[++n] = $1 }
    END { if (!n) { print "n/a"; exit }
          m = (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
          print (m >= 100) ? sprintf("%.0f", m) : sprintf("%.3g", m) }'
}

# Prints the medians of the result lines of file $1 (one field each).
medians() {
  for k in 1 2 3 4 5 6; do cut -d' ' -f$k "$1" | median; done | tr '\n' ' '
}

row() {
  printf '%-30s %-8s %-8s %-7s %-8s %-9s %s\n' "$1" "$2" "$3" "$4" "$5" \
    "$6" "$7"
}

# Prints the two rows of label $1 from $tmp/$1.native and $tmp/$1.gpatch,
# and the ratio line.
report() {
  # shellcheck disable=SC2046 # six fields, split on purpose.
  set -- "$1" $(medians "$tmp/$1.native")
  row "$1, native" "$2" "$3" "$4" "$5" "$6" "$7"
  nat=$2 nat_cpu=$7
  # shellcheck disable=SC2046 # six fields, split on purpose.
  set -- "$1" $(medians "$tmp/$1.gpatch")
  row "$1, gpatch" "$2" "$3" "$4" "$5" "$6" "$7"
  echo "  gpatch/native: rate $(ratio "$2" "$nat"), CPU per op" \
       "$(ratio "$7" "$nat_cpu")"
}

# Prints a/b with two decimals, or n/a.
ratio() {
  awk -v a="$1" -v b="$2" 'BEGIN {
    if (a + 0 > 0 && b + 0 > 0) printf "%.2f\n", a / b; else print "n/a" }'
}

# Runs "$@" with LD_PRELOAD=$lib and the extra environment $extra_env
# when $1 is 1, natively otherwise, in the background as server_pid.
launch() {
  pre=$1
  shift
  if [ "$pre" = 1 ]; then
    # shellcheck disable=SC2086 # extra_env is a list of K=V words.
    (exec env LD_PRELOAD="$lib" $extra_env "$@") >"$tmp/server.log" 2>&1 &
  else
    (exec "$@") >"$tmp/server.log" 2>&1 &
  fi
  server_pid=$!
}

echo
echo "7. Daemons (Debian 12 packages, loopback, nothing pinned; $reps" \
     "run(s) of ${secs} s each way, by turns; medians)"
row "daemon, load" "rate/s" "p99 ms" "errors" "threads" "RSS MiB" \
  "CPU us/op"

# The origin server varnish fetches from, natively (only misses reach it).
mkdir -p "$tmp/www"
head -c 1024 /dev/urandom >"$tmp/www/small"
head -c 102400 /dev/urandom >"$tmp/www/blob"
origin=$(free_port)
(exec python3 "$src/tests/progs/http_serve.py" "$origin" "$tmp/www") \
  >"$tmp/origin.log" 2>&1 &
origin_pid=$!
wait_port "$origin" 20 ||
  echo "  (the origin server did not start: $(tail -n 1 "$tmp/origin.log"))"

# varnish 7.1, its default thread pools, -s malloc,64m; wrk on a 1 KiB
# and a 100 KiB object, both served from its cache. The cache process
# (the manager's child) is the one measured.
if [ "${only#* varnish }" = "$only" ]; then
  :
elif [ -x /usr/sbin/varnishd ] && command -v wrk >/dev/null 2>&1; then
  rm -f "$tmp"/varnish*
  extra_env=""
  j=0
  while [ $j -lt "$reps" ]; do
    for pre in 0 1; do
      port=$(free_port)
      rm -rf "$tmp/v"
      launch $pre /usr/sbin/varnishd -F -n "$tmp/v" -a "127.0.0.1:$port" \
        -b "127.0.0.1:$origin" -s malloc,64m
      if wait_port "$port" 60; then
        watch=$(tr -d ' \n' <"/proc/$server_pid/task/$server_pid/children")
        label=gpatch
        [ "$pre" = 1 ] || label=native
        curl -s -o /dev/null "http://127.0.0.1:$port/small"
        curl -s -o /dev/null "http://127.0.0.1:$port/blob"
        wrk_run "http://127.0.0.1:$port/small" >>"$tmp/varnish 1 KiB.$label"
        wrk_run "http://127.0.0.1:$port/blob" >>"$tmp/varnish 100 KiB.$label"
      fi
      stop "$server_pid"
      server_pid=""
    done
    j=$((j + 1))
  done
  report "varnish 1 KiB"
  report "varnish 100 KiB"
else
  echo "varnish: skipped, varnish or wrk is not installed."
fi

# haproxy 2.6, nbthread 4, a frontend that answers by itself; gpatch with
# GPATCH_TLS=private (haproxy keeps its per-thread state in __thread).
if [ "${only#* haproxy }" = "$only" ]; then
  :
elif [ -x /usr/sbin/haproxy ] && command -v wrk >/dev/null 2>&1; then
  rm -f "$tmp"/haproxy*
  extra_env=GPATCH_TLS=private
  j=0
  while [ $j -lt "$reps" ]; do
    for pre in 0 1; do
      port=$(free_port)
      printf '%s\n' "global" "  nbthread 4" "defaults" "  mode http" \
        "  timeout connect 5s" "  timeout client 30s" "  timeout server 30s" \
        "frontend static" "  bind 127.0.0.1:$port" \
        "  http-request return status 200 content-type text/plain string ok" \
        >"$tmp/haproxy.cfg"
      launch $pre /usr/sbin/haproxy -db -f "$tmp/haproxy.cfg"
      if wait_port "$port" 20; then
        watch=$server_pid
        label=gpatch
        [ "$pre" = 1 ] || label=native
        wrk_run "http://127.0.0.1:$port/" >>"$tmp/haproxy static.$label"
      fi
      stop "$server_pid"
      server_pid=""
    done
    j=$((j + 1))
  done
  report "haproxy static"
else
  echo "haproxy: skipped, haproxy or wrk is not installed."
fi

# MariaDB 10.11, one-thread-per-connection, its default AIO (io_uring: the
# completion thread's io_uring_enter is a system call no hook sees, and
# under gpatch it keeps an OS thread through the hand-off), an empty data
# directory with --skip-grant-tables; sysbench oltp_read_write, 2 tables of 10,000 rows,
# 64 clients (and 256 in full mode). Rate: transactions per second;
# errors: sysbench's ignored errors (deadlocks, retried).
if [ "${only#* mariadb }" = "$only" ]; then
  :
elif [ -x /usr/sbin/mariadbd ] && command -v sysbench >/dev/null 2>&1; then
  rm -f "$tmp"/mariadb*
  extra_env=GPATCH_TLS=private
  clients="64"
  [ "$mode" = quick ] || clients="64 256"
  j=0
  while [ $j -lt "$reps" ]; do
    for pre in 0 1; do
      port=$(free_port)
      rm -rf "$tmp/m"
      mkdir -p "$tmp/m/data"
      user=""
      [ "$(id -u)" = 0 ] && user=--user=root
      launch $pre /usr/sbin/mariadbd --no-defaults --datadir="$tmp/m/data" \
        --socket="$tmp/m/sock" --port="$port" --bind-address=127.0.0.1 \
        $user --skip-grant-tables --skip-log-bin \
        --thread-handling=one-thread-per-connection --max-connections=400 \
        --innodb-log-file-size=32M --innodb-buffer-pool-size=128M
      if wait_port "$port" 60; then
        watch=$server_pid
        label=gpatch
        [ "$pre" = 1 ] || label=native
        sb="sysbench --db-driver=mysql --mysql-host=127.0.0.1
            --mysql-port=$port --mysql-user=root --tables=2
            --table-size=10000"
        mariadb -uroot -h127.0.0.1 -P"$port" -e 'create database sbtest'
        # shellcheck disable=SC2086 # sb is a command line.
        timeout 120 $sb oltp_read_write prepare >/dev/null 2>&1
        for c in $clients; do
          # shellcheck disable=SC2086
          tr=$(measure $sb --threads="$c" --time="$secs" --percentile=99 \
                 oltp_read_write run)
          tps=$(sed -n 's/.*transactions:.*(\([0-9.]*\) per sec.*/\1/p' \
                  "$tmp/client")
          p99=$(awk '/99th percentile/ { print $3 }' "$tmp/client")
          err=$(sed -n 's/.*ignored errors:[[:space:]]*\([0-9]*\).*/\1/p' \
                  "$tmp/client")
          n=$(sed -n 's/.*transactions:[[:space:]]*\([0-9]*\).*/\1/p' \
                "$tmp/client")
          echo "${tps:-n/a} ${p99:-n/a} ${err:-n/a} $(per_op "$tr" "${n:-0}")" \
            >>"$tmp/mariadb C=$c tps.$label"
        done
      fi
      stop "$server_pid"
      server_pid=""
    done
    j=$((j + 1))
  done
  for c in $clients; do report "mariadb C=$c tps"; done
else
  echo "mariadb: skipped, mariadb-server or sysbench is not installed."
fi
echo "(threads: the serving process's peak count of OS threads, sampled" \
     "every 0.1 s (varnish: its cache process); RSS: its peak (VmHWM);"
echo " CPU us/op: its user and system time per request or transaction." \
     "On a shared machine"
echo " a process of one OS thread gets one share of the CPUs where the" \
     "native one gets"
echo " one per runnable thread: compare CPU us/op when the machine is busy)"
