#!/bin/bash
# deb-build.sh - build the .deb with packaging/build-deb.sh into the package
# tests' output directory ($FORCETLS_PKG_OUT; deb-chroot.sh and
# deb-nspawn.sh install it) and check its lintian output has no errors.
set -u
. "$(dirname "$0")/../e2e/lib.sh"
. "$(dirname "$0")/lib.sh"

for t in dpkg-buildpackage dh lintian fakeroot; do
    command -v "$t" >/dev/null 2>&1 || skip_all "$t is not installed (packaging/install-deps.sh --test)"
done
E2E_DIR=$(mktemp -d "${TMPDIR:-/tmp}/forcetls-pkg-build.XXXXXX") || bail_out "mktemp failed"
trap 'rm -rf "$E2E_DIR"' EXIT
plan 3
mkdir -p "$PKG_OUT"
rm -f "$PKG_OUT"/forcetls_*.deb "$PKG_OUT/lintian-output.txt" "$PKG_OUT/lintian-status"
start=$(date +%s)
if "$PKG_TOP/packaging/build-deb.sh" "$PKG_OUT" >"$E2E_DIR/build.log" 2>&1; then
    pass "packaging/build-deb.sh ($(($(date +%s) - start)) s)"
else
    fail "packaging/build-deb.sh" "$(tail -n 30 "$E2E_DIR/build.log")"
fi
deb=$(tail -n 1 "$E2E_DIR/build.log")
like "$deb" "^$PKG_OUT/forcetls_[^_/]+_[a-z0-9]+\.deb$" "its last line is the .deb's path: $deb"
lint=$PKG_OUT/lintian-output.txt
lint_rc=$(cat "$PKG_OUT/lintian-status" 2>/dev/null)
# lintian ran (exit 0 or 1) and reported no error.
if [ -f "$lint" ] && { [ "$lint_rc" = 0 ] || [ "$lint_rc" = 1 ]; } && ! grep -q '^E: ' "$lint"; then
    pass "lintian: no errors ($(grep -c '^W: ' "$lint") warnings)"
    diag "$(cat "$lint")"
else
    fail "lintian: no errors" "lintian exit '$lint_rc'" "$(cat "$lint" 2>&1)"
fi
done_testing
