#!/bin/sh
# The soak runs (`make soak`): real servers under the shim for minutes on
# loopback, each under steady load with its data checked, and one table of
# what they did and whether their memory and descriptors stayed flat.
#
# Usage: soak.sh BUILD_DIR [redis] [memcached] [echo]   (default: all three)
# Environment:
#   SOAK_SECONDS  length of each soak (default 600)
#   SOAK_WARMUP   load before the start sample (default SOAK_SECONDS/10,
#                 at least 3, at most 30)
#   SOAK_CONNS    connections of redis-benchmark and of the memcached
#                 client (default 1000)
#   SOAK_HOLD     echo connections held open (default 5000)
#   SOAK_CHURN    echo connections opened and closed per second (default 200)
#   SOAK_PRELOAD  1 (default): under the shim; 0: natively, as a reference
#   SOAK_PORT     first port to try (default: chosen from the pid)
#
# For each server:
#   1. start it (preloaded) on 127.0.0.1, wait until it listens;
#   2. warm-up: the load for SOAK_WARMUP seconds, then wait until every
#      connection is closed; sample RSS and open fds (the "start" sample:
#      stacks, caches and the loop's own fds exist by then);
#   3. the load for SOAK_SECONDS, sampling the OS threads every second;
#   4. wait until every connection is closed; sample RSS and fds ("end");
#   5. SIGTERM; it must exit with status 0 within 20 s.
# The loads, all of whose data is checked:
#   redis      redis-benchmark -c SOAK_CONNS (SET GET INCR LPUSH RPUSH LPOP
#              RPOP SADD HSET SPOP ZADD ZPOPMIN MSET over 10,000 random
#              keys), rounds of -n 10000 until the time is up; beside it
#              soak_client -m redis -c 50 (its keys written, read back and
#              compared, every key read back at the end)
#   memcached  soak_client -m memcache -c SOAK_CONNS (delete, get, set,
#              append on 8 keys per connection, every reply compared, every
#              key read back at the end); memcached -t 4 -c 4096
#   echo       tests/progs/echo_server; soak_client -m echo holds SOAK_HOLD
#              connections (a checked round trip each second on each) and
#              opens, checks and closes SOAK_CHURN more a second; the server's
#              own count of connections served must equal what the client
#              opened
# A run passes when errors=0, fds_end <= fds_start (exactly flat), rss_end
# <= rss_start * 1.10 + 4 MiB, and (preloaded) peak_threads=1.  redis's
# count leaves out jemalloc's background thread (jemalloc starts it through
# a pthread_create it finds with dlsym, out of the shim's reach: README).
# Prints one table, and one line per run for programs:
#   soak server=NAME preload=0|1 seconds=N requests=N errors=N
#        rss_start_kb=N rss_end_kb=N fds_start=N fds_end=N peak_threads=N
#        pass=0|1
# Exit status 0 when every run passed.
set -u

build=${1:?usage: soak.sh BUILD_DIR [redis] [memcached] [echo]}
shift
servers=${*:-redis memcached echo}
seconds=${SOAK_SECONDS:-600}
warmup=${SOAK_WARMUP:-$((seconds / 10))}
[ "$warmup" -lt 3 ] && warmup=3
[ "$warmup" -gt 30 ] && warmup=30
conns=${SOAK_CONNS:-1000}
hold=${SOAK_HOLD:-5000}
churn=${SOAK_CHURN:-200}
preload_on=${SOAK_PRELOAD:-1}
client=$build/progs/soak_client
lib=$(cd "$build" && pwd)/libgpatch.so
preload=""
[ "$preload_on" = 1 ] && preload=$lib

for f in "$client" "$build/progs/echo_server"; do
  [ -x "$f" ] || { echo "soak: $f is missing (make all)"; exit 1; }
done
if [ "$preload_on" = 1 ] && [ ! -f "$lib" ]; then
  echo "soak: $lib is missing (make all)"
  exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gpatch-soak.XXXXXX")
server_pid=""
sampler_pid=""
old_somaxconn=""
old_backlog=""

# shellcheck disable=SC2317 # Invoked through the trap.
cleanup() {
  set +e
  [ -n "$sampler_pid" ] && kill "$sampler_pid" 2>/dev/null
  if [ -n "$server_pid" ]; then
    kill -KILL "$server_pid" 2>/dev/null
    wait "$server_pid" 2>/dev/null
  fi
  [ -n "$old_somaxconn" ] &&
    (echo "$old_somaxconn" > /proc/sys/net/core/somaxconn) 2>/dev/null
  [ -n "$old_backlog" ] &&
    (echo "$old_backlog" > /proc/sys/net/core/netdev_max_backlog) 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Raises /proc/sys/$1 to at least $2 and prints the old value, or prints
# nothing when it was large enough or cannot be written.
raise_sysctl() {
  old=$(cat "/proc/sys/$1" 2>/dev/null) || return 0
  [ "$old" -lt "$2" ] 2>/dev/null || return 0
  (echo "$2" > "/proc/sys/$1") 2>/dev/null && echo "$old"
}
if [ "$(id -u)" = 0 ]; then
  old_somaxconn=$(raise_sysctl net/core/somaxconn 8192)
  old_backlog=$(raise_sysctl net/core/netdev_max_backlog 16384)
fi
# shellcheck disable=SC3045 # dash, bash and busybox have ulimit -H -n.
ulimit -n "$(ulimit -H -n)" 2>/dev/null || true
# The echo client and server each hold SOAK_HOLD sockets and more.
nofile=$(ulimit -n)
if [ "$nofile" != unlimited ] && [ $((hold + conns + 500)) -gt "$nofile" ]
then
  hold=$((nofile - conns - 500))
  [ "$hold" -lt 100 ] && hold=100
  echo "soak: the fd limit is $nofile: holding $hold echo connections" >&2
fi

now() { date +%s; }

# The hex form of a port in /proc/net/tcp.
hexport() { printf '%04X' "$1"; }

# Counts the TCP sockets of local port $1 (127.0.0.1 or any) in the states
# $2 (a regular expression of two-digit hex states).
tcp_count() {
  cat /proc/net/tcp /proc/net/tcp6 2>/dev/null |
    awk -v p=":$(hexport "$1")" -v s="^($2)\$" \
      'substr($2, length($2) - 4) == p && $4 ~ s { n++ } END { print n + 0 }'
}

alive() {
  st=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$1/status" \
         2>/dev/null) || return 1
  [ -n "$st" ] && [ "$st" != Z ]
}

# Waits up to 20 s until port $1 listens. Fails early when the server dies.
wait_listen() {
  i=0
  while [ $i -lt 200 ]; do
    [ "$(tcp_count "$1" 0A)" -gt 0 ] && return 0
    alive "$server_pid" || return 1
    sleep 0.1
    i=$((i + 1))
  done
  return 1
}

# Waits up to 30 s until the server has closed every connection of port $1
# (none ESTABLISHED, CLOSE_WAIT or SYN_RECV), then 1 s more.
wait_drained() {
  i=0
  while [ $i -lt 300 ] && [ "$(tcp_count "$1" '01|03|08')" -gt 0 ]; do
    sleep 0.1
    i=$((i + 1))
  done
  sleep 1
}

rss_kb() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$1/status"; }
fds_of() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }

# OS threads of $1, jemalloc's background threads and the hand-off's
# monitor (asleep while nothing is stuck) left out.
threads_of() {
  cat /proc/"$1"/task/*/comm 2>/dev/null | grep -vc '^jemalloc_bg_thd\|^gpatch-handoff$'
}

# Samples the thread count of $1 every second into $tmp/threads until
# killed.
sampler() {
  while alive "$1"; do
    threads_of "$1" >> "$tmp/threads"
    sleep 1
  done
}

# A free port: SOAK_PORT, or one chosen from the pid, not in use.
pick_port() {
  tries=0
  while [ $tries -lt 50 ]; do
    p=$(( ${SOAK_PORT:-$((20000 + ($$ * 7) % 10000))} + tries * 13 ))
    tries=$((tries + 1))
    [ "$(tcp_count "$p" '0A|01|06|08')" -eq 0 ] && { echo "$p"; return; }
  done
  echo 0
}

# Starts server $1 on port $2 in the background (preloaded when asked).
start() {
  case $1 in
    redis) set -- redis-server --port "$2" --bind 127.0.0.1 --save '' \
             --appendonly no --tcp-backlog 4096 --maxclients 4096 ;;
    memcached)
      user=""
      [ "$(id -u)" = 0 ] && user="-u root"
      # shellcheck disable=SC2086 # user is one option or none.
      set -- memcached -p "$2" -l 127.0.0.1 -U 0 -t 4 -c 4096 -b 4096 $user ;;
    echo) set -- "$build/progs/echo_server" "$2" ;;
  esac
  if [ -n "$preload" ]; then
    LD_PRELOAD=$preload "$@" > "$tmp/server.out" 2> "$tmp/server.err" &
  else
    "$@" > "$tmp/server.out" 2> "$tmp/server.err" &
  fi
  server_pid=$!
}

# Runs redis-benchmark rounds against port $1 until $2 seconds have passed;
# adds the requests of the tests it finished to $tmp/bench.req and its error
# lines to $tmp/bench.err.
bench_rounds() {
  end=$(( $(now) + $2 ))
  while [ "$(now)" -lt "$end" ]; do
    left=$(( end - $(now) ))
    timeout -s TERM "$left" stdbuf -oL redis-benchmark -p "$1" -c "$conns" -n 10000 \
      -r 10000 --csv \
      -t set,get,incr,lpush,rpush,lpop,rpop,sadd,hset,spop,zadd,zpopmin,mset \
      > "$tmp/bench.out" 2> "$tmp/bench.stderr"
    rc=$?
    rows=$(grep -c '^"[A-Z]' "$tmp/bench.out")
    echo $((rows * 10000)) >> "$tmp/bench.req"
    grep -i 'error' "$tmp/bench.stderr" >> "$tmp/bench.err"
    if [ $rc -ne 0 ] && [ $rc -ne 124 ]; then
      echo "redis-benchmark exited with status $rc" >> "$tmp/bench.err"
    fi
  done
}

# Drives server $1 on port $2 for $3 seconds (the same keys each time).
# Appends "requests errors opened" to $tmp/load.
load() {
  : > "$tmp/bench.req"
  : > "$tmp/bench.err"
  limit=$(( $3 + 120 ))
  case $1 in
    redis)
      timeout "$limit" "$client" -m redis -p "$2" -c 50 -d "$3" -k soak \
        > "$tmp/client.out" 2> "$tmp/client.err" &
      cpid=$!
      bench_rounds "$2" "$3"
      wait $cpid
      crc=$? ;;
    memcached)
      timeout "$limit" "$client" -m memcache -p "$2" -c "$conns" \
        -d "$3" -k soak \
        > "$tmp/client.out" 2> "$tmp/client.err"
      crc=$? ;;
    echo)
      timeout "$limit" "$client" -m echo -p "$2" -c "$hold" -r "$churn" \
        -d "$3" > "$tmp/client.out" 2> "$tmp/client.err"
      crc=$? ;;
  esac
  line=$(cat "$tmp/client.out")
  req=$(printf '%s\n' "$line" | tr ' ' '\n' | sed -n 's/^requests=//p')
  err=$(printf '%s\n' "$line" | tr ' ' '\n' | sed -n 's/^errors=//p')
  opened=$(printf '%s\n' "$line" | tr ' ' '\n' | sed -n 's/^opened=//p')
  [ -n "$req" ] || req=0
  [ -n "$opened" ] || opened=0
  if [ -z "$err" ] || [ $crc -ne 0 ] && [ "${err:-0}" = 0 ]; then
    err=1 # The client died or was killed before it reported.
  fi
  breq=$(awk '{ s += $1 } END { print s + 0 }' "$tmp/bench.req")
  berr=$(wc -l < "$tmp/bench.err")
  echo "$((req + breq)) $((err + berr)) $opened" >> "$tmp/load"
  { head -n 5 "$tmp/client.err"; head -n 5 "$tmp/bench.err"; } \
    >> "$tmp/notes.$1"
}

# Keeps the connections the warm-up opened, for the echo check.
warm_hook() {
  read -r _ _ o < "$tmp/load"
  echo "$o" > "$tmp/opened.warm"
}

# One soak of server $1. Prints its key=value line into $tmp/result.$1.
soak_one() {
  name=$1
  : > "$tmp/load"
  : > "$tmp/threads"
  : > "$tmp/notes.$name"
  port=$(pick_port)
  start "$name" "$port"
  if ! wait_listen "$port"; then
    echo "the $name server never listened on $port: $(head -c 300 \
      "$tmp/server.err")" >> "$tmp/notes.$name"
    echo "soak server=$name preload=$preload_on seconds=$seconds" \
         "requests=0 errors=1 pass=0" > "$tmp/result.$name"
    kill -KILL "$server_pid" 2>/dev/null
    wait "$server_pid" 2>/dev/null
    server_pid=""
    return
  fi
  spid=$server_pid
  load "$name" "$port" "$warmup"
  wait_drained "$port"
  rss0=$(rss_kb "$spid")
  fds0=$(fds_of "$spid")
  warm_hook
  : > "$tmp/load" # The warm-up's counts are not the soak's.
  sampler "$spid" &
  sampler_pid=$!
  load "$name" "$port" "$seconds"
  wait_drained "$port"
  rss1=$(rss_kb "$spid")
  fds1=$(fds_of "$spid")
  kill "$sampler_pid" 2>/dev/null
  wait "$sampler_pid" 2>/dev/null
  sampler_pid=""
  threads_of "$spid" >> "$tmp/threads"
  peak=$(sort -n "$tmp/threads" | tail -n 1)
  kill -TERM "$spid" 2>/dev/null
  i=0
  while alive "$spid" && [ $i -lt 200 ]; do
    sleep 0.1
    i=$((i + 1))
  done
  stop_err=0
  if alive "$spid"; then
    kill -KILL "$spid" 2>/dev/null
    echo "the $name server did not exit within 20 s of SIGTERM" \
      >> "$tmp/notes.$name"
    stop_err=1
  fi
  wait "$spid"
  st=$?
  server_pid=""
  if [ $st -ne 0 ] && [ $stop_err = 0 ]; then
    echo "the $name server exited with status $st after SIGTERM" \
      >> "$tmp/notes.$name"
    stop_err=1
  fi
  read -r req err opened < "$tmp/load"
  err=$((err + stop_err))
  if [ "$name" = echo ]; then
    # Everything the client opened in the warm-up and the soak, the server
    # must have served.
    served=$(sed -n 's/.*served=\([0-9]*\).*/\1/p' "$tmp/server.out")
    wopened=$(cat "$tmp/opened.warm")
    if [ "${served:-x}" != $((wopened + opened)) ]; then
      echo "echo_server served ${served:-?} connections; the client opened" \
        "$((wopened + opened))" >> "$tmp/notes.$name"
      err=$((err + 1))
    fi
  fi
  pass=1
  [ "$err" -eq 0 ] || pass=0
  [ -n "$fds0" ] && [ -n "$fds1" ] && [ "$fds1" -le "$fds0" ] || pass=0
  [ -n "$rss0" ] && [ -n "$rss1" ] &&
    [ "$rss1" -le $(( rss0 * 110 / 100 + 4096 )) ] || pass=0
  [ "$preload_on" = 1 ] && [ "${peak:-0}" != 1 ] && pass=0
  echo "soak server=$name preload=$preload_on seconds=$seconds" \
       "requests=$req errors=$err rss_start_kb=$rss0 rss_end_kb=$rss1" \
       "fds_start=$fds0 fds_end=$fds1 peak_threads=$peak pass=$pass" \
       > "$tmp/result.$name"
}

status=0
for s in $servers; do
  case $s in
    redis) command -v redis-server >/dev/null &&
             command -v redis-benchmark >/dev/null || {
             echo "soak: redis-server or redis-benchmark is missing" \
                  "(make deps)"; status=1; continue; } ;;
    memcached) command -v memcached >/dev/null || {
             echo "soak: memcached is missing (make deps)"; status=1
             continue; } ;;
    echo) ;;
    *) echo "soak: unknown server $s (redis, memcached, echo)"; exit 2 ;;
  esac
  echo "soak: $s for ${warmup} s of warm-up and ${seconds} s ..." >&2
  soak_one "$s"
done

echo
echo "gpatch soak: $([ "$preload_on" = 1 ] && echo "under the shim" ||
  echo natively), ${seconds} s per server after ${warmup} s of warm-up"
printf '%-10s %11s %7s %15s %11s %8s %5s\n' server requests errors \
  "RSS MiB start/end" "fds st/end" threads pass
for s in $servers; do
  [ -f "$tmp/result.$s" ] || continue
  line=$(cat "$tmp/result.$s")
  v() { printf '%s\n' "$line" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
  mib() { [ -n "$1" ] && awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
  printf '%-10s %11s %7s %15s %11s %8s %5s\n' "$s" "$(v requests)" \
    "$(v errors)" "$(mib "$(v rss_start_kb)")/$(mib "$(v rss_end_kb)")" \
    "$(v fds_start)/$(v fds_end)" "$(v peak_threads)" \
    "$([ "$(v pass)" = 1 ] && echo yes || echo NO)"
  [ "$(v pass)" = 1 ] || status=1
done
echo "flat: fds_end <= fds_start; rss_end <= rss_start * 1.10 + 4 MiB;" \
     "errors 0; peak threads 1 under the shim (redis: jemalloc's thread" \
     "left out)"
for s in $servers; do
  [ -f "$tmp/result.$s" ] && cat "$tmp/result.$s"
  if [ -s "$tmp/notes.$s" ]; then
    echo "notes for $s:"
    sed 's/^/  /' "$tmp/notes.$s"
  fi
done
exit $status
