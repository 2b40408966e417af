#!/bin/sh
# build-deb.sh - build the Debian package forcetls_VERSION_ARCH.deb from this
# tree: copies the tree (without build directories and git data) into a
# temporary directory, adds packaging/debian as debian/ there, runs
# "dpkg-buildpackage -us -uc -b" and lintian, and puts the .deb and
# lintian-output.txt into OUTDIR (default: build-deb/ under the top level).
# The top level keeps its layout (no debian/ appears there). The last line
# printed is the path of the .deb.
#
# Usage: packaging/build-deb.sh [OUTDIR]
set -eu

TOP=$(cd "$(dirname "$0")/.." && pwd)
OUTDIR=${1:-$TOP/build-deb}
mkdir -p "$OUTDIR"
OUTDIR=$(cd "$OUTDIR" && pwd)

WORK=$(mktemp -d "${TMPDIR:-/tmp}/forcetls-deb.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
trap 'exit 1' INT TERM

VERSION=$(sed -n 's/^AC_INIT(\[forcetls\], \[\([^]]*\)\].*/\1/p' "$TOP/configure.ac")
[ -n "$VERSION" ] || { echo "build-deb: no version in configure.ac" >&2; exit 1; }
SRC=$WORK/forcetls-$VERSION
mkdir "$SRC"

# The sources as git knows them when this is a git checkout (committed or
# not, never build products; files deleted but not yet committed are left
# out), else everything but the usual build output.
if git -C "$TOP" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    (cd "$TOP" && git ls-files --cached --others --exclude-standard) |
        while IFS= read -r f; do
            if [ -e "$TOP/$f" ]; then printf '%s\n' "$f"; fi
        done |
        tar -C "$TOP" -cf - -T - | tar -C "$SRC" -xf -
else
    (cd "$TOP" && find . \( -name .git -o -name autom4te.cache \
            -o \( -path './build-*' ! -path './build-aux' ! -path './build-aux/*' \) \) -prune \
            -o ! -type d -print) |
        tar -C "$TOP" -cf - -T - | tar -C "$SRC" -xf -
fi
rm -rf "$SRC/debian"
cp -R "$TOP/packaging/debian" "$SRC/debian"

CHANGELOG_VERSION=$(dpkg-parsechangelog -l "$SRC/debian/changelog" -S Version)
if [ "$CHANGELOG_VERSION" != "$VERSION" ]; then
    echo "build-deb: debian/changelog says $CHANGELOG_VERSION, configure.ac $VERSION" >&2
    exit 1
fi

(cd "$SRC" && dpkg-buildpackage -us -uc -b) >"$OUTDIR/build.log" 2>&1 || {
    tail -n 40 "$OUTDIR/build.log" >&2
    echo "build-deb: dpkg-buildpackage failed (whole log: $OUTDIR/build.log)" >&2
    exit 1
}

ARCH=$(dpkg-architecture -qDEB_HOST_ARCH)
DEB=forcetls_${VERSION}_${ARCH}.deb
cp "$WORK/$DEB" "$OUTDIR/$DEB"
if command -v lintian >/dev/null 2>&1; then
    # Exit 1: tags at the fail-on level (deb-build.sh reads them); 2 and
    # more: lintian itself failed (a clean package may print nothing).
    lint_rc=0
    lintian --display-info --pedantic "$WORK"/forcetls_*.changes \
        >"$OUTDIR/lintian-output.txt" 2>&1 || lint_rc=$?
    echo "$lint_rc" >"$OUTDIR/lintian-status"
    cat "$OUTDIR/lintian-output.txt"
    if [ "$lint_rc" -ge 2 ]; then
        echo "build-deb.sh: lintian failed (exit $lint_rc)" >&2
        exit 1
    fi
else
    echo "lintian not installed" >"$OUTDIR/lintian-output.txt"
fi
echo "$OUTDIR/$DEB"
