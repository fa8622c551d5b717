#!/bin/sh
# conn.sh: system calls per accepted connection, for the echo servers of
# the benchmark (scripts/bench.sh runs it in its echo section).
#
# Each server is started and, once it answers, strace attaches to it
# (-c -f: counts per system call, every thread, the ones it starts
# included); $n connections then each make one 64-byte round trip and
# close; when the server has closed them all (its fd count is back where
# it was) strace detaches. The count over that window divided by $n is
# the cost of one connection over its whole life: accept, thread or
# coroutine, reads, write, close, and the loop's share of epoll_wait.
# Counts do not depend on the machine's load, so one run of each server
# is enough. Prints rows in bench.sh's layout and, per server, the calls
# that make up the figure.
#
# Usage: conn.sh BUILD_DIR full|quick
set -eu

build=${1:?usage: conn.sh BUILD_DIR full|quick}
mode=${2:-full}
lib=$(cd "$build" && pwd)/libgpatch.so
client=$build/progs/echo_client
tmp=$(mktemp -d "${TMPDIR:-/tmp}/gpatch-conn.XXXXXX")
if [ "$mode" = quick ]; then n=500; else n=2000; fi

# shellcheck source=scripts/serverlib.sh
. "$(dirname "$0")/../serverlib.sh"
strace_pid=""
# shellcheck disable=SC2317 # Invoked through the trap.
cleanup() {
  set +e
  [ -z "$strace_pid" ] || kill -KILL "$strace_pid" 2>/dev/null
  serverlib_cleanup
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
serverlib_setup

row() {
  printf '%-34s %-22s %-22s %-8s %s\n' "$1" "$2" "$3" "$4" "$5"
}

if ! command -v strace >/dev/null 2>&1; then
  row "system calls per connection" "skipped: strace is not installed" \
      "" "" ""
  exit 0
fi

# The number of fds process $1 has open.
fds() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }

# Counts the system calls of server "$2..." (preloaded with $1 when not
# empty) over $n connections; writes strace's table to $tmp/count and
# prints the calls per connection (n/a when a step failed).
count() {
  pre=$1
  shift
  start_server "$pre" "$@" || { echo n/a; return; }
  base=$(fds "$server_pid")
  strace -c -f -qq -o "$tmp/count" -p "$server_pid" 2>"$tmp/strace.err" &
  strace_pid=$!
  i=0 # strace stops each thread as it attaches: then the count starts
  while [ "$(grep -c '^TracerPid:[[:space:]]*[1-9]' \
              "/proc/$server_pid/status" 2>/dev/null)" != 1 ] &&
        [ $i -lt 50 ]; do
    sleep 0.1
    i=$((i + 1))
  done
  sleep 0.2
  ok=yes
  timeout 120 "$client" -p "$port" -c "$n" -n 1 -t 100 >/dev/null 2>&1 ||
    ok=no
  i=0
  while [ "$(fds "$server_pid")" -gt "$base" ] && [ $i -lt 100 ]; do
    sleep 0.1
    i=$((i + 1))
  done
  sleep 0.2
  kill -INT "$strace_pid" 2>/dev/null || true
  wait "$strace_pid" 2>/dev/null || true
  strace_pid=""
  stop_server
  total=$(awk '$NF == "total" { print $4 }' "$tmp/count" 2>/dev/null)
  if [ "$ok" = no ] || [ -z "$total" ]; then
    echo n/a
    return
  fi
  awk -v t="$total" -v n="$n" 'BEGIN { printf "%.1f\n", t / n }'
}

# The six commonest calls of the last count, per connection.
calls() {
  awk -v n="$n" '$NF != "total" && $4 ~ /^[0-9]+$/ {
      print $4, $NF }' "$tmp/count" | sort -rn | head -n 6 |
    awk -v n="$n" '{ printf "%s%s %.2f", (NR > 1 ? ", " : ""), $2, $1 / n }
                   END { print "" }'
}

uv=$(count "" "$build/bench/uv_echo")
uv_calls=$(calls)
nat=$(count "" "$build/progs/echo_server")
nat_calls=$(calls)
gp=$(count "$lib" "$build/progs/echo_server")
gp_calls=$(calls)
row "system calls per connection" "libuv echo" "threads, native" \
    "" "threads, gpatch"
row "  ($n, one round trip each)" "$uv" "$nat" "" "$gp"
echo "  libuv:  $uv_calls"
echo "  native: $nat_calls"
echo "  gpatch: $gp_calls"
