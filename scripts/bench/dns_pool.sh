#!/bin/sh
# The DNS pool's size against a slow name server: N threads resolve N
# different names at once (tests/progs/dns_slow, in private namespaces
# with its own name server, which answers each after DELAY_MS), natively
# and under gpatch with each GPATCH_DNS_THREADS in SIZES. Prints a
# markdown table: the time for the whole burst, the most OS threads seen,
# the peak resident set and address space. README.md's DNS section holds
# the result that chose the default.
#
# Usage: dns_pool.sh BUILD_DIR [N [DELAY_MS [SIZES]]]
# Needs root or user namespaces (dns_slow prints skip=1 otherwise).
set -eu

build=${1:?usage: dns_pool.sh BUILD_DIR [N [DELAY_MS [SIZES]]]}
n=${2:-100}
delay=${3:-200}
sizes=${4:-4 8 10 16 32 64}
lib=$(cd "$build" && pwd)/libgpatch.so
prog=$build/progs/dns_slow

# Prints the value of key $1 in the output $2.
kv() { printf '%s\n' "$2" | sed -n "s/^$1=//p"; }

# Prints one table row named $1 for the output $2.
row() {
  [ "$(kv burst_ok "$2")" = 1 ] || {
    echo "dns_pool: $1: not every look-up was answered: $2" >&2; exit 1; }
  printf '| %s | %s | %s | %s | %s |\n' "$1" "$(kv burst_ms "$2")" \
    "$(kv peak_threads "$2")" "$(kv hwm_kb "$2")" "$(kv vm_peak_kb "$2")"
}

out=$("$prog" "$delay" burst "$n")
case $out in skip=1*) echo "dns_pool: $out" >&2; exit 77 ;; esac
echo "$n look-ups at once, name server delay $delay ms"
echo
echo '| pool | burst ms | peak OS threads | peak RSS KB | peak VM KB |'
echo '|---|---|---|---|---|'
row native "$out"
for s in $sizes; do
  row "$s" "$(GPATCH_DNS_THREADS=$s LD_PRELOAD=$lib "$prog" "$delay" \
              burst "$n")"
done
