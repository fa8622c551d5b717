#!/bin/sh
# Checks the layer rule the include paths cannot enforce alone (see the
# Makefile): base includes nothing of runtime/ or shim/, runtime/ nothing of
# shim/, and shim/ reaches the runtime only through rt.h (and base's
# headers). Prints each offending line; exits 1 when there is one.
cd "$(dirname "$0")/.." || exit 2
bad=0
# Quoted includes of a file: the header names only, without a directory.
incs() { sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$1"; }
base_h=$(cd runtime/base && ls *.h)
rt_h=$(cd runtime && ls *.h)
for f in runtime/base/*.[ch]; do
  for i in $(incs "$f"); do
    case " $(echo $base_h) " in *" $i "*) ;; *)
      echo "check-layers: $f includes \"$i\": base includes only base headers"
      bad=1 ;;
    esac
  done
done
for f in runtime/*.[ch]; do
  for i in $(incs "$f"); do
    case " $(echo $base_h $rt_h) " in *" $i "*) ;; *)
      echo "check-layers: $f includes \"$i\": runtime/ never includes a shim header"
      bad=1 ;;
    esac
  done
done
for f in shim/*/*.[ch]; do
  for i in $(incs "$f"); do
    case "$i" in
    */*) [ -f "shim/$i" ] && case "$i" in ../*) ;; *) continue ;; esac ;;
    rt.h) continue ;;
    *) case " $(echo $base_h) " in *" $i "*) continue ;; esac ;;
    esac
    echo "check-layers: $f includes \"$i\": shim/ sees base, runtime/rt.h and shim/<folder>/ headers"
    bad=1
  done
done
exit $bad
