# Section 1b of the benchmark, hand-offs through fds: sourced by
# scripts/bench.sh, whose helpers (once, key_stats, prow, spread, xratio)
# and settings (mode, reps, progs, tmp, pin_server) it uses.
#
# tests/progs/bench_pipe: two threads bounce one byte N round trips over
# two pipes or over a socketpair, or a count of 1 over two eventfds (the
# self-pipe and worker-pipe wake-ups of threaded daemons), natively and
# under gpatch, pinned to the server's CPU as section 1 is; the two take
# turns, run by run. Values are ns per round trip (two hand-offs).

if [ "$mode" = quick ]; then
  n_pipe_native=10000 n_pipe=20000
else
  n_pipe_native=50000 n_pipe=100000
fi

# One row: $1 the measure, $2 bench_pipe's mode.
# shellcheck disable=SC2086 # pin_server is a command prefix.
pipe_row() {
  : >"$tmp/pipe.nat"; : >"$tmp/pipe.gp"
  i=0
  while [ $i -lt "$reps" ]; do
    once 0 $pin_server "$progs/bench_pipe" "$2" $n_pipe_native \
      >>"$tmp/pipe.nat"
    once 1 $pin_server "$progs/bench_pipe" "$2" $n_pipe >>"$tmp/pipe.gp"
    i=$((i + 1))
  done
  nat=$(key_stats value "$tmp/pipe.nat")
  gp=$(key_stats value "$tmp/pipe.gp")
  prow "$1" "$(spread "$nat")" "$(spread "$gp")" "" \
       "$(xratio "$nat" "$gp")" "" ">= 3x native"
}

echo "1b. Hand-offs through fds: two threads bounce one byte N times" \
     "(eventfd: a count of 1), on CPU 0"
prow "measure" "native" "gpatch" "" "nat/gp" "" "target (gpatch)"
pipe_row "pipe ping-pong, ns per round trip" pipe
pipe_row "socketpair, ns per round trip" socketpair
pipe_row "eventfd, ns per round trip" eventfd
echo "(a round trip is two hand-offs; nat/gp above 1 means gpatch is" \
     "faster)"
echo
