#!/bin/sh
# run-all.sh - build forcetls and run the whole test suite, as CI does:
#   1. gcc, -Werror: unit tests and end-to-end tests against real MTAs
#   2. AddressSanitizer + UndefinedBehaviorSanitizer: the same suite
#   3. ThreadSanitizer: the unit tests and the inbound end-to-end tests
#      (inbound.sh, foundation.sh) in a --enable-sanitizers=thread build; a
#      TSan report fails the step (tests/tsan.supp suppresses only
#      libmilter's own shutdown race)
#   4. clang, -Werror: the build must be warning-free there too
#   5. make distcheck: the tarball builds and passes make check
#   6. the package tests (tests/package/run.sh; root and the network): the
#      .deb built and linted, installed into a pristine Debian 12 chroot and
#      driven under systemd in nspawn, and the RPM (tests/package/rpm.sh)
# Prints one closing line "N passed, M failed" (test cases of 1, 2, 3 and 6,
# and one result each for 4, 5 and 6). Set FORCETLS_QUICK=1 to run only step 1.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
jobs=$(nproc 2>/dev/null || echo 2)
results="$top/build-results"
rm -rf "$results"
mkdir -p "$results"

step() {   # step NAME CMD...: run CMD, record one result for NAME
    name=$1; shift
    echo "=== $name"
    if "$@"; then echo "PASS $name" >>"$results/steps"; else echo "FAIL $name" >>"$results/steps"; fi
}

build_and_check() {   # build_and_check DIR CONFIGURE-ARGS...
    dir=$1; shift
    rm -rf "$dir" && mkdir -p "$dir" && cd "$dir" &&
        "$top/configure" -q "$@" && make -s -j"$jobs" &&
        make -j"$jobs" check; rc=$?
    cd "$top" || exit 1
    sh "$top/tests/summary.sh" --trs "$dir" >>"$results/cases"
    return $rc
}

# tsan_check DIR: the ThreadSanitizer build and its tests (make check-tsan).
# halt_on_error stops a process at its first report and exitcode makes it
# fail: a unit test fails, and a worker that dies so leaves the report in
# the milter log, which the end-to-end tests grep for "ThreadSanitizer".
tsan_check() {
    dir=$1
    rm -rf "$dir" && mkdir -p "$dir" && cd "$dir" &&
        "$top/configure" -q --enable-werror --enable-sanitizers=thread && make -s -j"$jobs" &&
        TSAN_OPTIONS="halt_on_error=1 exitcode=66 suppressions=$top/tests/tsan.supp" \
        make -j"$jobs" check-tsan; rc=$?
    cd "$top" || exit 1
    sh "$top/tests/summary.sh" --trs "$dir" >>"$results/cases"
    return $rc
}

# package_tests DIR: tests/package/run.sh into DIR, its test cases counted.
package_tests() {
    sh "$top/tests/package/run.sh" "$1"; rc=$?
    sh "$top/tests/summary.sh" --trs "$1" >>"$results/cases"
    return $rc
}

autoreconf -fi >/dev/null 2>&1 || { echo "autoreconf failed"; echo "0 passed, 1 failed"; exit 1; }
step "gcc -Werror: make check" build_and_check "$top/build-gcc" --enable-werror \
    --enable-test-hooks
if [ "${FORCETLS_QUICK:-0}" != 1 ]; then
    step "asan+ubsan: make check" build_and_check "$top/build-asan" \
        --enable-werror --enable-sanitizers=address,undefined --enable-test-hooks
    step "tsan: unit and inbound tests" tsan_check "$top/build-tsan"
    step "clang -Werror: build" sh -c "rm -rf '$top/build-clang' && mkdir -p '$top/build-clang' && cd '$top/build-clang' && '$top/configure' -q CC=clang --enable-werror && make -s -j$jobs && make -s -j$jobs check TESTS="
    step "make distcheck" sh -c "cd '$top/build-gcc' && make -s distcheck >'$results/distcheck.log' 2>&1 || { tail -40 '$results/distcheck.log'; exit 1; }"
    # The RPM runs in this step too: tests/package/run.sh calls
    # tests/package/rpm.sh (packaging/rpm) when it exists.
    step "package tests" package_tests "$top/build-pkgtests"
fi
sh "$top/tests/summary.sh" --final "$results"
