#!/bin/sh
# Differential fuzzing (issue 17, item 3): runs tests/progs/fuzz_interp for
# a range of seeds natively and under LD_PRELOAD=libgpatch.so, and compares
# the two transcripts, which must not depend on scheduling.
#
#   scripts/fuzz.sh [-b BUILD] [-j JOBS] [-t SECONDS] [-n] FIRST COUNT
#
# -b  build directory holding progs/fuzz_interp and libgpatch.so (build)
# -j  seeds run at once (2)
# -t  deadline of each run, seconds (30); a run past it is a mismatch
# -n  compare two native runs instead (checks that the interpreter's
#     transcripts really are scheduling independent)
# A run that does not exit 0 counts as a mismatch.  On a mismatch it
# prints the seed, how to replay it and the diff; the transcripts are kept
# in $FUZZ_KEEP (default: build/fuzz-fail).  Exit status 1 when any seed
# mismatched.  The preloaded run has FUZZ_TRACE=1: its stderr (kept as
# preload.err) shows every line as it was made, so the last lines of each
# group show where a run that hung stopped.  GPATCH_* and FUZZ_* variables
# of the caller's environment reach the runs (GPATCH_TLS=private,
# FUZZ_SIGNALS=0).
set -u

one() { # one SEED: runs both sides, prints nothing when they agree
  seed=$1
  dir=$(mktemp -d "${TMPDIR:-/tmp}/gpfuzz.XXXXXX") || exit 2
  prog=$BUILD/progs/fuzz_interp
  env -u LD_PRELOAD timeout -s KILL "$TMO" "$prog" "$seed" \
    > "$dir/native" 2> "$dir/native.err"
  echo "exit=$?" >> "$dir/native"
  if [ "$NATIVE2" = 1 ]; then
    env -u LD_PRELOAD timeout -s KILL "$TMO" "$prog" "$seed" \
      > "$dir/preload" 2> "$dir/preload.err"
  else
    FUZZ_TRACE=1 LD_PRELOAD="$BUILD/libgpatch.so" timeout -s KILL "$TMO" "$prog" "$seed" \
      > "$dir/preload" 2> "$dir/preload.err"
  fi
  echo "exit=$?" >> "$dir/preload"
  # Both must finish (a hang or a crash on both sides is no agreement).
  if cmp -s "$dir/native" "$dir/preload" &&
     [ "$(tail -1 "$dir/native")" = exit=0 ]; then
    rm -rf "$dir"
    echo "ok $seed"
    return 0
  fi
  mkdir -p "$KEEP/$seed"
  mv "$dir"/* "$KEEP/$seed/"
  rmdir "$dir"
  {
    echo "MISMATCH seed=$seed (replay: $prog $seed; LD_PRELOAD=$BUILD/libgpatch.so $prog $seed; kept in $KEEP/$seed)"
    diff -u "$KEEP/$seed/native" "$KEEP/$seed/preload" | head -40
    grep -v '^g[0-9]*\.[0-9]* ' "$KEEP/$seed/preload.err" | tail -5
  } | sed 's/^/  /; 1s/^  //'
  return 1
}

if [ "${1:-}" = --one ]; then
  one "$2"
  exit $?
fi

BUILD=build JOBS=2 TMO=30 NATIVE2=0
while getopts b:j:t:n o; do
  case $o in
  b) BUILD=$OPTARG ;;
  j) JOBS=$OPTARG ;;
  t) TMO=$OPTARG ;;
  n) NATIVE2=1 ;;
  *) echo "usage: $0 [-b BUILD] [-j JOBS] [-t SECONDS] [-n] FIRST COUNT" >&2
     exit 2 ;;
  esac
done
shift $((OPTIND - 1))
if [ $# -ne 2 ]; then
  echo "usage: $0 [-b BUILD] [-j JOBS] [-t SECONDS] [-n] FIRST COUNT" >&2
  exit 2
fi
first=$1 count=$2
BUILD=$(cd "$BUILD" && pwd) || exit 2
KEEP=${FUZZ_KEEP:-$BUILD/fuzz-fail}
export BUILD TMO NATIVE2 KEEP
for f in "$BUILD/progs/fuzz_interp" "$BUILD/libgpatch.so"; do
  [ -e "$f" ] || { echo "fuzz.sh: $f missing (make first)" >&2; exit 2; }
done
log=$(mktemp "${TMPDIR:-/tmp}/gpfuzz-log.XXXXXX") || exit 2
seq "$first" $((first + count - 1)) |
  xargs -P "$JOBS" -n 1 sh "$0" --one > "$log"
ok=$(grep -c '^ok ' "$log")
bad=$(grep -c '^MISMATCH' "$log")
grep -v '^ok ' "$log"
rm -f "$log"
echo "fuzz: seeds $first..$((first + count - 1)): $ok agreed, $bad mismatched$([ "$NATIVE2" = 1 ] && echo ' (native against native)')"
[ "$bad" -eq 0 ]
