#!/bin/sh
# Install the Debian packages named as arguments when any is missing.
# Runs apt-get as root; a non-root user is told what to install instead.
set -eu
missing=""
for p in "$@"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' \
    || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "gpatch: missing Debian packages:$missing" >&2
  echo "gpatch: run as root: apt-get install$missing" >&2
  exit 1
fi
echo "gpatch: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null 2>&1 || true   # an offline mirror may still serve
apt-get install -y -qq $missing >/dev/null
