#!/bin/sh
# fresh-check.sh - run the README's two commands on a pristine Debian 12, as
# root, so that a missing install step is caught before it lands.
#   fresh-check.sh [LOGDIR]
# Takes a private copy of the cached debootstrap --variant=minbase root
# (packaging/debian-root.sh), copies the working tree into it twice (the
# tracked and untracked, not ignored, files: no build directories), and runs
# as root inside the chroot, each in its own copy as from a fresh clone, the
# first two command lines of README.md's first code block: the demo command,
# then the test command. Prints each one's closing lines; the full output is
# in LOGDIR (default build-fresh/ under the top level). Exits non-zero if
# either command fails. Inside the chroot the package tests that need
# nested roots or nspawn skip with a printed reason (tests/package/).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
logdir=${1:-$top/build-fresh}
roots=$top/packaging/debian-root.sh

[ "$(id -u)" = 0 ] || { echo "fresh-check.sh: run me as root" >&2; exit 1; }

# The README's commands: the first two lines of its first ```sh block.
cmds=$(awk '/^```sh/ { on = 1; next } on && /^```/ { exit } on && NF { print; if (++n == 2) exit }' "$top/README.md")
demo_cmd=$(printf '%s\n' "$cmds" | sed -n 1p)
test_cmd=$(printf '%s\n' "$cmds" | sed -n 2p)
if [ -z "$demo_cmd" ] || [ -z "$test_cmd" ]; then
    echo "fresh-check.sh: no commands in README.md" >&2
    exit 1
fi

mkdir -p "$logdir"
root=$("$roots" unpack minbase chroot)
trap '"$roots" cleanup "$root"' EXIT
trap 'exit 130' INT TERM HUP
# Shared memory for the sanitizers and semaphores (the bind of /dev has no
# submounts; debian-root.sh made it a slave, so this tmpfs stays off the host's /dev/shm).
mount -t tmpfs -o mode=1777,size=512m tmpfs "$root/dev/shm"

# copy_tree DEST: the working tree without build products, as a clone has it.
# shellcheck disable=SC2016
copy_tree() {
    mkdir -p "$root$1"
    (cd "$top" && git ls-files -z --cached --others --exclude-standard |
        xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh |
        tar --null -T - -cf -) | tar -C "$root$1" -xf -
}

# The proxy settings, when set, for apt-get and the like in the chroot
# (values without blanks, as proxy URLs are).
proxy_env=
for v in http_proxy https_proxy no_proxy HTTP_PROXY HTTPS_PROXY NO_PROXY; do
    eval "val=\${$v:-}"
    # shellcheck disable=SC2154
    [ -n "$val" ] && proxy_env="$proxy_env $v=$val"
done

status=0
run() {   # run NAME DIR CMD: CMD as root in the chroot, in DIR
    echo "=== $1: $3"
    copy_tree "$2"
    start=$(date +%s)
    # In the background, so that a signal interrupts the wait at once; the
    # EXIT trap then stops whatever still runs in the root.
    # CI=1: an e2e test that cannot run must fail here, not skip (as in CI).
    # shellcheck disable=SC2086
    chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
        LANG=C.UTF-8 TERM=dumb FORCETLS_IN_CHROOT=1 CI=1 $proxy_env /bin/sh -c "cd '$2' && $3" \
        >"$logdir/$1.log" 2>&1 </dev/null &
    rc=0
    wait $! || rc=$?
    [ "$rc" = 0 ] || status=1
    tail -n "${FRESH_TAIL:-8}" "$logdir/$1.log"
    echo "=== $1: exit $rc after $(($(date +%s) - start)) s (log: $logdir/$1.log)"
}

run demo /src/demo "$demo_cmd"
run test /src/test "$test_cmd"
exit $status
