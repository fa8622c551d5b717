#!/bin/sh
# Builds the Debian package gpatch_<version>_<arch>.deb with Debian's own
# tools; `make deb` runs it.  Usage: build.sh DEBDIR VERSION
#
# `make deb` has already run `make install PREFIX=/usr
# LIBDIR=/usr/lib/<multiarch> DESTDIR=DEBDIR/src/debian/gpatch`, so
# DEBDIR/src looks like a source tree after debhelper's install step:
# this script copies control, changelog and copyright from scripts/debian
# into DEBDIR/src/debian, adds what Debian's policy wants in the package
# (compressed manual page and changelog, copyright, lintian overrides,
# the ldconfig trigger, md5sums, a stripped library), computes the
# dependencies with dpkg-shlibdeps, writes DEBIAN/control with
# dpkg-gencontrol and builds the .deb with dpkg-deb into DEBDIR.
#
# The version is the launcher's (the version= line of scripts/gpatch,
# passed as VERSION); the changelog's latest entry must name the same
# one, or the build stops and says so.
set -eu
out=$1 version=$2
here=$(cd "$(dirname "$0")" && pwd)
src=$out/src
root=$src/debian/gpatch

die() { printf 'make deb: %s\n' "$*" >&2; exit 1; }

for t in dpkg-deb dpkg-gencontrol dpkg-shlibdeps dpkg-architecture; do
  command -v "$t" >/dev/null 2>&1 || die "$t is missing (apt-get install" \
                                         "dpkg-dev, or make deps)"
done
logged=$(dpkg-parsechangelog -l "$here/changelog" -S Version)
[ "$logged" = "$version" ] || die "scripts/debian/changelog's latest" \
  "entry is $logged but scripts/gpatch says version=$version: add an entry" \
  "(dch -v $version) before building"
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
lib=$root/usr/lib/$multiarch/libgpatch.so
[ -f "$lib" ] || die "$lib is missing: run make deb, not this script"

# File dates inside the package: the changelog entry's (reproducible).
SOURCE_DATE_EPOCH=$(dpkg-parsechangelog -l "$here/changelog" -S Timestamp)
export SOURCE_DATE_EPOCH

for f in control changelog copyright; do
  install -m 644 "$here/$f" "$src/debian/$f"
done

# Policy 12.3, 12.5, 12.7: the changelog and the manual page compressed
# with gzip -9n, the copyright file as it is.  A native package (no
# Debian revision) names its changelog changelog.gz.
doc=$root/usr/share/doc/gpatch
install -d -m 755 "$doc" "$root/usr/share/lintian/overrides"
install -m 644 "$here/copyright" "$doc/copyright"
gzip -9nc "$here/changelog" > "$doc/changelog.gz"
gzip -9nf "$root/usr/share/man/man1/gpatch.1"
install -m 644 "$here/lintian-overrides" \
  "$root/usr/share/lintian/overrides/gpatch"

# Policy 10.1: shared objects are stripped as dh_strip strips them (the
# .symtab goes; .dynsym, which backtraces use, stays).
strip --remove-section=.comment --remove-section=.note --strip-unneeded \
  "$lib"
chmod 644 "$lib"

# The library is in a public directory, so ldconfig's cache is refreshed
# when it comes and goes (libc-bin's trigger, as dh_makeshlibs adds).
install -d -m 755 "$root/DEBIAN"
echo "activate-noawait ldconfig" > "$root/DEBIAN/triggers"
chmod 644 "$root/DEBIAN/triggers"

(
  cd "$src"
  rm -f debian/substvars debian/files
  dpkg-shlibdeps -Tdebian/substvars "debian/gpatch/usr/lib/$multiarch/libgpatch.so"
  dpkg-gencontrol -pgpatch -Pdebian/gpatch -Tdebian/substvars -fdebian/files
  cd debian/gpatch
  find . -type f ! -path './DEBIAN/*' -printf '%P\0' | LC_ALL=C sort -z |
    xargs -0 md5sum > DEBIAN/md5sums
  chmod 644 DEBIAN/md5sums
)
find "$root" -type d -exec chmod 755 {} +

deb=$out/gpatch_${version}_$arch.deb
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb.tmp" >/dev/null
mv "$deb.tmp" "$deb"
echo "$deb"
