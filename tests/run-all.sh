#!/bin/sh
# run-all.sh - build forcetls and run the whole test suite, as CI does:
#   1. gcc, -Werror: unit tests and end-to-end tests against real MTAs
#   2. AddressSanitizer + UndefinedBehaviorSanitizer: the same suite
#   3. clang, -Werror: the build must be warning-free there too
#   4. make distcheck: the tarball builds and passes make check
# Prints one closing line "N passed, M failed" (test cases of 1 and 2, and
# one result each for 3 and 4). Set FORCETLS_QUICK=1 to run only step 1.
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

autoreconf -fi >/dev/null 2>&1 || { echo "autoreconf failed"; echo "0 passed, 1 failed"; exit 1; }
step "gcc -Werror: make check" build_and_check "$top/build-gcc" --enable-werror \
    --enable-test-hooks
if [ "${FORCETLS_QUICK:-0}" != 1 ]; then
    step "asan+ubsan: make check" build_and_check "$top/build-asan" \
        --enable-werror --enable-sanitizers=address,undefined --enable-test-hooks
    step "clang -Werror: build" sh -c "rm -rf '$top/build-clang' && mkdir -p '$top/build-clang' && cd '$top/build-clang' && '$top/configure' -q CC=clang --enable-werror && make -s -j$jobs && make -s -j$jobs check TESTS="
    step "make distcheck" sh -c "cd '$top/build-gcc' && make -s distcheck >'$results/distcheck.log' 2>&1 || { tail -40 '$results/distcheck.log'; exit 1; }"
fi
sh "$top/tests/summary.sh" --final "$results"
