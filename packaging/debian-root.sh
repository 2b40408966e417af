#!/bin/sh
# debian-root.sh - cached pristine Debian 12 roots for the package tests, and
# private throw-away copies of them prepared for chroot, as root.
#   debian-root.sh ensure [minbase|systemd]...
#       make or refresh /var/cache/forcetls-test/bookworm-VARIANT.tar
#       (debootstrap --variant=minbase bookworm from deb.debian.org; systemd
#       adds --include=systemd,systemd-sysv,dbus). A tar is rebuilt when its
#       marker (VARIANT.tar.stamp: creation date) is missing, older than 7
#       days, or the tar does not list usr/bin/apt-get. Concurrent runs
#       serialise on a flock; the new tar replaces the old one by rename, so
#       a reader never sees half a file. Default: both variants.
#   debian-root.sh unpack VARIANT [chroot|nspawn]
#       ensure VARIANT, untar a private copy into a new directory under
#       $FORCETLS_ROOTS (default /var/cache/forcetls-test/private) and print
#       its path. "chroot" (the default) also bind-mounts the copy onto
#       itself (so that "/" is a mount point there), mounts /proc, binds /dev (not
#       its submounts: no /dev/pts), copies resolv.conf and installs a
#       policy-rc.d that lets no package start a service; "nspawn" only
#       copies resolv.conf (systemd-nspawn makes its own mounts).
#   debian-root.sh cleanup DIR
#       kill the processes whose root is DIR (by PID: the copy is private),
#       unmount everything below DIR, then rm -rf DIR; refuses a DIR that is
#       not a direct child of $FORCETLS_ROOTS or that still has mounts.
set -eu

cache=/var/cache/forcetls-test
roots=${FORCETLS_ROOTS:-$cache/private}
mirror=http://deb.debian.org/debian
max_age_days=7

die() { echo "debian-root.sh: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run me as root"

# tar_ok VARIANT: the cached tar exists, is younger than max_age_days and intact.
tar_ok() {
    tar=$cache/bookworm-$1.tar
    [ -f "$tar" ] && [ -f "$tar.stamp" ] || return 1
    made=$(sed -n 's/^epoch=//p' "$tar.stamp")
    case "$made" in '' | *[!0-9]*) return 1 ;; esac
    [ $(($(date +%s) - made)) -lt $((max_age_days * 86400)) ] || return 1
    # The whole listing must read (a truncated tar fails), with apt-get in it.
    list=$(tar -tf "$tar" 2>/dev/null) || return 1
    printf '%s\n' "$list" | grep -qx './usr/bin/apt-get' || return 1
    if [ "$1" = systemd ]; then
        printf '%s\n' "$list" | grep -qx './usr/lib/systemd/systemd' || return 1
    fi
}

# build VARIANT: debootstrap into a temporary directory, tar it, rename into place.
build() {
    case "$1" in
    minbase) include="" ;;
    systemd) include="--include=systemd,systemd-sysv,dbus" ;;
    *) die "unknown variant '$1' (minbase or systemd)" ;;
    esac
    tar=$cache/bookworm-$1.tar
    tmp=$(mktemp -d "$cache/build-$1.XXXXXX")
    trap 'build_failed $?' EXIT
    echo "debian-root.sh: debootstrap bookworm ($1) into $tmp" >&2
    # shellcheck disable=SC2086
    if ! debootstrap --variant=minbase $include bookworm "$tmp/root" "$mirror" \
        >"$tmp/debootstrap.log" 2>&1; then
        tail -20 "$tmp/debootstrap.log" >&2
        # debootstrap may leave /proc or /sys mounted after a failure.
        findmnt -rno TARGET | grep "^$tmp/" | sort -r | while read -r m; do umount -l "$m"; done
        rm -rf --one-file-system "$tmp"
        die "debootstrap ($1) failed"
    fi
    rm -rf "$tmp/root/var/cache/apt/archives/"*.deb "$tmp/root/var/lib/apt/lists/"*_Packages
    tar -C "$tmp/root" --numeric-owner -cf "$tmp/root.tar" .
    printf 'created=%s\nepoch=%s\nvariant=%s\nmirror=%s\n' \
        "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(date +%s)" "$1" "$mirror" >"$tar.stamp.new"
    mv -f "$tmp/root.tar" "$tar"
    mv -f "$tar.stamp.new" "$tar.stamp"
    rm -rf --one-file-system "$tmp"
    trap - EXIT
}

# ensure VARIANT...: under the lock, rebuild every variant that is not ok.
ensure() {
    mkdir -p "$cache"
    exec 9>"$cache/.lock"
    flock -w 900 9 || die "timed out waiting for $cache/.lock"
    for v in "$@"; do
        case "$v" in minbase | systemd) ;; *) die "unknown variant '$v'" ;; esac
        tar_ok "$v" || build "$v"
    done
    exec 9>&-
}

# check_dir DIR: DIR is a direct child of $roots (no .., no symlink tricks).
check_dir() {
    case "$1" in
    "$roots"/*/* | *..* | "$roots"/) return 1 ;;
    "$roots"/?*) ;;
    *) return 1 ;;
    esac
    [ -d "$1" ] && [ ! -L "$1" ]
}

# mounts_below DIR: the mount points at or below DIR, deepest first.
mounts_below() {
    findmnt -rno TARGET | while read -r m; do
        case "$m" in "$1" | "$1"/*) echo "$m" ;; esac
    done | sort -ru
}

# EXIT trap of unpack and build: on failure, remove what they made.
unpack_failed() {
    [ "$1" = 0 ] || cleanup "$dir" || true
    exit "$1"
}
build_failed() {
    if [ "$1" != 0 ]; then
        # Still under the lock (ensure holds it while build runs).
        findmnt -rno TARGET | grep "^$tmp/" | sort -ru | while read -r m; do umount -l "$m"; done
        rm -rf --one-file-system "$tmp"
    fi
    exit "$1"
}

unpack() {
    variant=$1 mode=${2:-chroot}
    ensure "$variant"
    mkdir -p "$roots"
    dir=$(mktemp -d "$roots/$variant.XXXXXX")
    # A failure from here on (set -e) removes the half-made copy.
    trap 'unpack_failed $?' EXIT
    chmod 755 "$dir"
    tar -C "$dir" --numeric-owner -xf "$cache/bookworm-$variant.tar"
    cp /etc/resolv.conf "$dir/etc/resolv.conf" 2>/dev/null ||
        { rm -f "$dir/etc/resolv.conf"; cp /etc/resolv.conf "$dir/etc/resolv.conf"; }
    if [ "$mode" = chroot ]; then
        # The root a mount point of its own: "unshare --mount" in the chroot
        # (the Sendmail tests) makes "/" private, which needs a mount at "/".
        # On a systemd host "/" and "/dev" are shared: the binds would join
        # the host's peer groups (every later mount would appear twice, and
        # a mount under the copy's /dev would appear on the host's /dev).
        # So the root is made private, and its /dev a slave of the host's
        # (host mounts reach it; none of its own goes back), each before
        # anything is mounted below it.
        mount --bind "$dir" "$dir"
        mount --make-rprivate "$dir"
        mount -t proc proc "$dir/proc"
        mount --bind /dev "$dir/dev"
        mount --make-rslave "$dir/dev"
        printf '#!/bin/sh\nexit 101\n' >"$dir/usr/sbin/policy-rc.d"
        chmod 755 "$dir/usr/sbin/policy-rc.d"
    fi
    trap - EXIT
    echo "$dir"
}

cleanup() {
    dir=${1%/}
    check_dir "$dir" || die "refusing to remove '$1': not a private root under $roots"
    # Processes still running inside the private root (a daemon a test
    # started there): theirs is no one else's root.
    for sig in TERM TERM TERM KILL; do
        pids=""
        for p in /proc/[0-9]*; do
            r=$(readlink "$p/root" 2>/dev/null) || continue
            case "$r" in "$dir" | "$dir"/*) pids="$pids ${p#/proc/}" ;; esac
        done
        [ -n "$pids" ] || break
        # shellcheck disable=SC2086
        kill -s "$sig" $pids 2>/dev/null || true
        sleep 1
    done
    # Deepest first; a mount point seen twice (stacked mounts) is unmounted
    # as long as it is one, and a failure is reported, not fatal here: the
    # check below refuses to remove a root that is still mounted (exit 1).
    pass=0
    while [ -n "$(mounts_below "$dir")" ] && [ $pass -lt 3 ]; do
        pass=$((pass + 1))
        for m in $(mounts_below "$dir"); do
            n=0
            while mountpoint -q "$m" && [ $n -lt 5 ]; do
                n=$((n + 1))
                umount "$m" 2>/dev/null || umount -l "$m" ||
                    echo "debian-root.sh: cannot unmount $m" >&2
            done
        done
    done
    [ -z "$(mounts_below "$dir")" ] ||
        die "refusing to remove '$dir': still mounted: $(mounts_below "$dir" | tr '\n' ' ')"
    rm -rf --one-file-system "$dir"
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
ensure) [ $# -gt 0 ] || set -- minbase systemd; ensure "$@" ;;
unpack) [ $# -ge 1 ] || die "usage: unpack VARIANT [chroot|nspawn]"; unpack "$@" ;;
cleanup) [ $# -eq 1 ] || die "usage: cleanup DIR"; cleanup "$1" ;;
*)
    echo "usage: debian-root.sh ensure [minbase|systemd]... | unpack VARIANT [chroot|nspawn] | cleanup DIR" >&2
    exit 2
    ;;
esac
