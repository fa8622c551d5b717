#!/bin/sh
# Compare the dynamic symbols libgpatch.so defines with shim/exports.map.
# Usage: check-exports.sh LIB MAP
set -eu
lib=$1 map=$2
want=$(sed -n 's/^[[:space:]]*\([A-Za-z_][A-Za-z0-9_]*\);.*/\1/p' "$map" \
       | grep -v '^local$' | sort -u)
have=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TWiV]$/ {sub(/@.*/, "", $3); print $3}' \
       | sort -u)
extra=$(printf '%s\n' "$have" | grep -vxF "$want" || true)
missing=$(printf '%s\n' "$want" | grep -vxF "$have" || true)
if [ -n "$extra" ] || [ -n "$missing" ]; then
  [ -n "$extra" ] && echo "gpatch: exported but not in $map: $extra" >&2
  [ -n "$missing" ] && echo "gpatch: in $map but not exported: $missing" >&2
  exit 1
fi
if ! sh "$(dirname "$0")/gen-exports.sh" | cmp -s - "$map"; then
  echo "gpatch: $map is not what scripts/gen-exports.sh makes of shim/*/*.c;" \
       "run: sh scripts/gen-exports.sh > $map" >&2
  exit 1
fi
echo "exports: $(printf '%s\n' "$have" | wc -l) symbols, all listed in $map"
