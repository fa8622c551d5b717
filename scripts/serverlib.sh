# serverlib.sh: starting and stopping a test server, sourced by demo.sh and
# bench.sh (POSIX sh). The caller sets: tmp (a scratch directory), client
# (the echo_client program). It may set server_prefix (e.g. "taskset -c 0").
# It must call serverlib_cleanup from its EXIT trap.

server_pid=""
server_prefix=${server_prefix:-}
old_somaxconn=""
old_backlog=""

# Whether process $1 exists and is not a zombie waiting to be reaped.
alive() {
  st=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$1/status" \
         2>/dev/null) || return 1
  [ -n "$st" ] && [ "$st" != Z ]
}

# Stops the current server: SIGTERM, up to 3 s of grace, then SIGKILL. Sets
# server_killed to yes when SIGKILL was needed, and reaps the process.
stop_server() {
  server_killed=no
  [ -n "$server_pid" ] || return 0
  kill -TERM "$server_pid" 2>/dev/null || true
  i=0
  while alive "$server_pid" && [ $i -lt 30 ]; do
    sleep 0.1
    i=$((i + 1))
  done
  if alive "$server_pid"; then
    kill -KILL "$server_pid" 2>/dev/null || true
    server_killed=yes
  fi
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
}

# Raises /proc/sys/$1 to at least $2 and prints the old value, or prints
# nothing when it was already large enough or cannot be written.
raise_sysctl() {
  old=$(cat "/proc/sys/$1" 2>/dev/null) || return 0
  [ "$old" -lt "$2" ] 2>/dev/null || return 0
  if (echo "$2" > "/proc/sys/$1") 2>/dev/null; then
    echo "$old"
  fi
}

# Loopback drops SYNs when a thousand connects arrive at once and these are
# small: raise them for the run when we may (restored by serverlib_cleanup),
# and the fd limit to its hard limit.
serverlib_setup() {
  if [ "$(id -u)" = 0 ]; then
    old_somaxconn=$(raise_sysctl net/core/somaxconn 8192)
    old_backlog=$(raise_sysctl net/core/netdev_max_backlog 16384)
  fi
  # shellcheck disable=SC3045 # dash, bash and busybox have ulimit -H -n.
  ulimit -n "$(ulimit -H -n)" 2>/dev/null || true
}

# Kills a server left running and puts the sysctls back.
serverlib_cleanup() {
  if [ -n "$server_pid" ]; then
    kill -KILL "$server_pid" 2>/dev/null
    wait "$server_pid" 2>/dev/null
  fi
  if [ -n "$old_somaxconn" ]; then
    (echo "$old_somaxconn" > /proc/sys/net/core/somaxconn) 2>/dev/null
  fi
  if [ -n "$old_backlog" ]; then
    (echo "$old_backlog" > /proc/sys/net/core/netdev_max_backlog) 2>/dev/null
  fi
}

# Whether something already listens on TCP port $1 (false when ss is absent;
# the server then fails to bind and another port is tried).
port_busy() {
  command -v ss >/dev/null 2>&1 || return 1
  ss -ltn "sport = :$1" 2>/dev/null | tail -n +2 | grep -q .
}

# Waits up to about 5 s until the server answers one round trip. Fails
# early when the server process exits.
wait_ready() {
  i=0
  while [ $i -lt 10 ]; do
    alive "$server_pid" || return 1
    if timeout 5 "$client" -p "$port" -c 1 -n 1 -t 1 >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.2
    i=$((i + 1))
  done
  return 1
}

# Starts "$2 [$3...] PORT", with LD_PRELOAD=$1 when $1 is not empty, on a
# free port in 20000-29999, and waits until it answers. Sets server_pid and
# port. Returns 1 when it never answered.
start_server() {
  preload=$1
  shift
  tries=0
  while [ $tries -lt 8 ]; do
    port=$((20000 + ($$ * 7 + tries * 1237 + ${#preload} * 101) % 10000))
    tries=$((tries + 1))
    port_busy "$port" && continue
    # shellcheck disable=SC2086 # server_prefix is a command prefix.
    if [ -n "$preload" ]; then
      LD_PRELOAD=$preload $server_prefix "$@" "$port" \
        >"$tmp/server.out" 2>"$tmp/server.err" &
    else
      $server_prefix "$@" "$port" >"$tmp/server.out" 2>"$tmp/server.err" &
    fi
    server_pid=$!
    wait_ready && return 0
    stop_server
    # Only a port clash is worth another try.
    grep -qi 'bind\|listen\|in use' "$tmp/server.err" || return 1
  done
  return 1
}
