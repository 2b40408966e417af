#!/bin/sh
# run.sh - the package tests, as root, with the network (not part of make
# check): build the .deb and lint it (deb-build.sh), install it into a
# pristine Debian 12 chroot (deb-chroot.sh), drive its unit under systemd in
# nspawn (deb-nspawn.sh), and the RPM (rpm.sh, when present).
#   run.sh [OUTDIR]
# Each script's TAP goes through automake's tap-driver into OUTDIR/NAME.log
# and OUTDIR/NAME.trs (default build-pkgtests/ under the top level), which
# tests/summary.sh --trs counts; the .deb and lintian-output.txt go there too.
# Each script gets 20 minutes (timeout -k 30 1200: a hung one fails, the
# others still run). Prints each script's results and time; exits non-zero
# if any failed.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$top/build-pkgtests}
mkdir -p "$out"
out=$(cd "$out" && pwd)
export FORCETLS_PKG_OUT="$out"
rm -f "$out"/*.trs "$out"/*.log
status=0
all=$(date +%s)
# The cached roots first (rpm.sh uses the minbase tar too); not inside
# fresh-check.sh's chroot, where the tests that need them skip.
if [ "$(id -u)" = 0 ] && [ "${FORCETLS_IN_CHROOT:-0}" != 1 ]; then
    "$top/packaging/debian-root.sh" ensure minbase systemd || echo "=== the cached roots could not be made"
fi
for t in deb-build deb-chroot deb-nspawn rpm; do
    script=$top/tests/package/$t.sh
    # --- the RPM: packaging/rpm (engineer p3) provides tests/package/rpm.sh,
    # a TAP script like the others (rpmbuild -bb from make dist, rpmlint).
    [ "$t" = rpm ] && [ ! -f "$script" ] && { echo "=== $t: tests/package/rpm.sh not present yet"; continue; }
    start=$(date +%s)
    if ! sh "$top/build-aux/tap-driver.sh" --test-name "$t" --log-file "$out/$t.log" \
        --trs-file "$out/$t.trs" --color-tests no --enable-hard-errors yes \
        --expect-failure no -- timeout -k 30 1200 bash "$script" >"$out/$t.out" 2>&1; then
        status=1
    fi
    grep -Eq '^:global-test-result: (PASS|SKIP)' "$out/$t.trs" 2>/dev/null || status=1
    echo "=== $t: $(($(date +%s) - start)) s"
    # The results, and the diagnostics of a script that did not pass (its
    # log may be inside a throw-away root, as under fresh-check.sh).
    cat "$out/$t.out"
    if ! grep -Eq '^:global-test-result: (PASS|SKIP)' "$out/$t.trs" 2>/dev/null; then
        grep '^#' "$out/$t.log" | tail -n 40
    fi
done
echo "=== package tests: $(($(date +%s) - all)) s"
exit $status
