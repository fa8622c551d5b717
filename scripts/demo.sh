#!/bin/sh
# The `make run` demo: the same blocking thread-per-connection echo server is
# loaded by the same client twice, once natively and once with libgpatch.so
# preloaded, and the two runs are compared in one table.
#
# Usage: demo.sh BUILD_DIR
# Environment: DEMO_CONNS (default 2000), DEMO_ROUNDS (default 20).
# Exit status 0 only when both runs served every connection without errors
# and the gpatch run never had more than one OS thread.
set -eu

build=${1:?usage: demo.sh BUILD_DIR}
conns=${DEMO_CONNS:-2000}
rounds=${DEMO_ROUNDS:-20}
size=64
client_timeout=60

server=$build/progs/echo_server
client=$build/progs/echo_client
if [ ! -f "$build/libgpatch.so" ]; then
  echo "gpatch demo: $build/libgpatch.so does not exist yet; build it first" \
       "(make all)."
  exit 1
fi
lib=$(cd "$build" && pwd)/libgpatch.so
for p in "$server" "$client"; do
  if [ ! -x "$p" ]; then
    echo "gpatch demo: $p is missing; build it first (make all)."
    exit 1
  fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gpatch-demo.XXXXXX")
notes=""
# shellcheck source=scripts/serverlib.sh
. "$(dirname "$0")/serverlib.sh"

# Runs at every exit: kills a server left running, puts the sysctls back
# and removes the scratch directory.
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

# Runs the workload against one server; $1 names the run (native or
# gpatch), $2 is the LD_PRELOAD value. Sets ${1}_line to the client's
# key=value line (empty when the run could not happen).
run_one() {
  line=""
  echo "running the $1 server ..."
  if start_server "$2" "$server"; then
    # shellcheck disable=SC2034 # Read through the eval below.
    line=$(timeout $((client_timeout + 30)) "$client" -p "$port" \
             -c "$conns" -n "$rounds" -s "$size" -t "$client_timeout" \
             -P "$server_pid" 2>"$tmp/client.err") || true
    stop_server
    if [ "$server_killed" = yes ]; then
      notes="${notes}note: the $1 server did not exit within 3 s of SIGTERM;"
      notes="$notes it was killed.
"
    fi
    if [ -s "$tmp/client.err" ]; then
      notes="${notes}client errors in the $1 run (first lines):
$(head -n 5 "$tmp/client.err")
"
    fi
  else
    notes="${notes}the $1 server never answered on port $port; its stderr:
$(head -n 5 "$tmp/server.err")
"
  fi
  eval "${1}_line=\$line"
}

# Prints the value of key $2 in the key=value line $1, or n/a.
field() {
  v=$(printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p")
  echo "${v:-n/a}"
}

# Prints a KiB count $1 as MiB with one decimal, or n/a.
mib() {
  case $1 in
    ''|n/a|-*) echo n/a ;;
    *) awk -v k="$1" 'BEGIN { printf "%.1f\n", k / 1024 }' ;;
  esac
}

run_one native ""
run_one gpatch "$lib"

row() {
  printf '%-21s%-11s%s\n' "$1" "$2" "$3"
}

echo
printf '%s' "$notes"
echo "gpatch demo: thread-per-connection echo server, $conns connections" \
     "x $rounds round trips of $size bytes"
row "" native gpatch
row "connections served" "$(field "$native_line" served)" \
    "$(field "$gpatch_line" served)"
row "errors" "$(field "$native_line" errors)" "$(field "$gpatch_line" errors)"
row "requests/s" "$(field "$native_line" rps)" "$(field "$gpatch_line" rps)"
row "p50 latency (us)" "$(field "$native_line" p50_us)" \
    "$(field "$gpatch_line" p50_us)"
row "p99 latency (us)" "$(field "$native_line" p99_us)" \
    "$(field "$gpatch_line" p99_us)"
row "peak OS threads" "$(field "$native_line" peak_threads)" \
    "$(field "$gpatch_line" peak_threads)"
row "peak RSS (MiB)" "$(mib "$(field "$native_line" peak_rss_kb)")" \
    "$(mib "$(field "$gpatch_line" peak_rss_kb)")"
echo

status=0
n_served=$(field "$native_line" served)
n_errors=$(field "$native_line" errors)
g_served=$(field "$gpatch_line" served)
g_errors=$(field "$gpatch_line" errors)
g_threads=$(field "$gpatch_line" peak_threads)
if [ -z "$native_line" ]; then
  echo "The native run did not happen: the server never answered."
  status=1
elif [ "$n_served" != "$conns" ] || [ "$n_errors" != 0 ]; then
  echo "The native run itself failed: $n_served of $conns connections" \
       "served, $n_errors errors."
  status=1
fi
if [ -z "$gpatch_line" ]; then
  echo "The gpatch run did not happen: the preloaded server never answered."
  status=1
elif [ "$g_served" != "$conns" ] || [ "$g_errors" != 0 ]; then
  echo "gpatch failed: it served $g_served of $conns connections with" \
       "$g_errors errors."
  status=1
elif [ "$g_threads" != 1 ]; then
  echo "gpatch served all $conns connections, but the server peaked at" \
       "$g_threads OS threads instead of 1."
  status=1
else
  echo "gpatch served all $conns connections on 1 OS thread."
fi
exit $status
