#!/bin/sh
# Run every test binary; report each one's result and fail if any failed.
# Usage: run-tests.sh BUILD_DIR BIN...
set -u
build=$1; shift
export GPATCH_TEST_BUILD="$(cd "$build" && pwd)"
# The stack tests expect SIGSEGV from a guard page: let it through ASan.
export ASAN_OPTIONS="${ASAN_OPTIONS:-handle_segv=0}"
failed=""
for t in "$@"; do
  echo "== $t"
  # Criterion forks one process per test; each test bounds its own children.
  timeout 600 "$t" --jobs 2 || failed="$failed $t"
done
if [ -n "$failed" ]; then
  echo "FAILED:$failed"
  exit 1
fi
echo "all test binaries passed"
