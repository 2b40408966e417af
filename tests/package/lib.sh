# shellcheck shell=bash
# lib.sh - shared helpers for the package tests (bash), sourced after
# tests/e2e/lib.sh (TAP, ports, the test PKI, swaks transcripts).
#
# Provides: the .deb under test, private copies of the cached Debian 12 roots
# (packaging/debian-root.sh) removed by the EXIT trap, a Postfix inside such
# a root on a free loopback port with the test PKI, and readers of the
# installed unit. Must not: touch the host's Postfix or /etc, leave mounts or
# processes behind, or stop processes by name (a root is private, so what
# runs inside it is ours; packaging/debian-root.sh cleanup stops it by PID).

pkg_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PKG_TOP=$(cd "$pkg_here/../.." && pwd)
PKG_ROOTS_SH=$PKG_TOP/packaging/debian-root.sh
# Where the .deb and logs go: tests/package/run.sh sets it.
PKG_OUT=${FORCETLS_PKG_OUT:-$PKG_TOP/build-pkgtests}
PKG_ROOT=
SMTP_PORT=

# True when we run inside a chroot: packaging/fresh-check.sh sets
# FORCETLS_IN_CHROOT=1; else no mount point is "/" in /proc/self/mountinfo
# (a plain chroot; debian-root.sh's copies bind the root onto itself, so
# this fallback does not see them: hence the variable).
in_chroot() {
    [ "${FORCETLS_IN_CHROOT:-0}" = 1 ] && return 0
    [ -r /proc/self/mountinfo ] && ! awk '$5 == "/" { found = 1 } END { exit !found }' /proc/self/mountinfo
}

# pkg_skip_all REASON: skip the whole script, also under CI (a chroot or a
# host where nspawn cannot boot is no missing install step).
pkg_skip_all() {
    echo "1..0 # SKIP $*"
    exit 0
}

# pkg_init TOOL...: root, the tools, $E2E_DIR and the cleanup trap.
pkg_init() {
    [ "$(id -u)" -eq 0 ] || skip_all "needs root (chroot, mounts)"
    local t
    for t in "$@"; do
        command -v "$t" >/dev/null 2>&1 || skip_all "$t is not installed (packaging/install-deps.sh --test)"
    done
    e2e_init
    trap pkg_cleanup EXIT
    mkdir -p "$PKG_OUT"
}

# EXIT trap: the private root (processes, mounts, files), then lib.sh's cleanup.
pkg_cleanup() {
    local rc=$?
    [ "$(type -t pkg_before_cleanup)" = function ] && pkg_before_cleanup
    if [ -n "$PKG_ROOT" ]; then
        if [ "${KEEP:-0}" = 1 ]; then
            echo "# KEEP=1: kept $PKG_ROOT (remove with $PKG_ROOTS_SH cleanup $PKG_ROOT)"
        else
            if ! "$PKG_ROOTS_SH" cleanup "$PKG_ROOT"; then
                echo "not ok - cleanup of $PKG_ROOT (mounts or files left behind)"
                [ "$rc" = 0 ] && rc=1
            fi
        fi
    fi
    (exit "$rc")
    e2e_cleanup
}

# find_deb: set $DEB to the newest forcetls_*.deb in $PKG_OUT, building it
# with packaging/build-deb.sh when there is none.
find_deb() {
    # shellcheck disable=SC2012
    DEB=$(ls -t "$PKG_OUT"/forcetls_*.deb 2>/dev/null | head -n 1)
    if [ -z "$DEB" ]; then
        "$PKG_TOP/packaging/build-deb.sh" "$PKG_OUT" >"$E2E_DIR/build-deb.log" 2>&1 ||
            { diag "$(tail -n 30 "$E2E_DIR/build-deb.log")"; bail_out "packaging/build-deb.sh failed"; }
        DEB=$(tail -n 1 "$E2E_DIR/build-deb.log")
    fi
    [ -f "$DEB" ] || bail_out "no .deb (looked in $PKG_OUT)"
}

# new_root VARIANT MODE: a private copy of the cached root in $PKG_ROOT.
new_root() {
    PKG_ROOT=$(FORCETLS_ROOTS=${FORCETLS_ROOTS:-/var/cache/forcetls-test/private} \
        "$PKG_ROOTS_SH" unpack "$1" "$2" 2>"$E2E_DIR/root.log") ||
        { diag "$(tail -n 20 "$E2E_DIR/root.log")"; bail_out "packaging/debian-root.sh unpack $1 failed"; }
}

# pkg_proxy_env: the proxy variables that are set, as NAME=VALUE words
# (for env -i, so that apt-get in a root reaches the network as we do).
pkg_proxy_env() {
    local v
    for v in http_proxy https_proxy no_proxy HTTP_PROXY HTTPS_PROXY NO_PROXY; do
        [ -n "${!v:-}" ] && printf '%s=%s\n' "$v" "${!v}"
    done
    return 0
}

# in_root CMD...: run CMD as root inside $PKG_ROOT (chroot).
in_root() {
    local -a px
    mapfile -t px < <(pkg_proxy_env)
    chroot "$PKG_ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
        LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "${px[@]}" "$@"
}

# preseed_postfix RUN: answer Postfix's debconf questions ("Local only",
# mail name mx.example.org) with RUN (in_root or in_box).
preseed_postfix() {
    printf '%s\n' \
        "postfix postfix/main_mailer_type select Local only" \
        "postfix postfix/mailname string mx.example.org" |
        "$1" debconf-set-selections
}

# apt_install RUN LOG ARGS...: apt-get update and install ARGS with RUN.
apt_install() {
    local run=$1 log=$2
    shift 2
    "$run" sh -c 'apt-get update -qq && apt-get install -y -q --no-install-recommends "$@"' \
        sh "$@" >"$log" 2>&1
}

# postfix_in_root RUN: configure the root's Postfix (its stock chrooted
# smtpd) on 127.0.0.1:$SMTP_PORT with the test PKI in /etc/postfix/pki,
# relaying from loopback to discard:, logging to /var/log/postfix.log.
postfix_in_root() {
    local run=$1
    mkdir -p "$PKG_ROOT/etc/postfix/pki"
    cp "$PKI/server.crt" "$PKI/server.key" "$PKI/trusted-cas.pem" "$PKG_ROOT/etc/postfix/pki/"
    chmod 600 "$PKG_ROOT/etc/postfix/pki/server.key"
    "$run" postconf -e \
        "myhostname = mx.example.org" "mydestination =" "relay_domains =" \
        "inet_interfaces = 127.0.0.1" "inet_protocols = ipv4" \
        "mynetworks = 127.0.0.0/8" "smtpd_relay_restrictions = permit_mynetworks, reject" \
        "default_transport = discard" "relay_transport = discard" \
        "local_transport = discard" "alias_maps =" "local_recipient_maps =" \
        "smtp_dns_support_level = disabled" "smtpd_peername_lookup = no" \
        "maillog_file = /var/log/postfix.log" \
        "smtpd_tls_security_level = may" "smtpd_tls_cert_file = /etc/postfix/pki/server.crt" \
        "smtpd_tls_key_file = /etc/postfix/pki/server.key" \
        "smtpd_tls_CAfile = /etc/postfix/pki/trusted-cas.pem" "smtpd_tls_ask_ccert = yes" \
        "smtpd_tls_received_header = yes" "milter_default_action = tempfail" || return 1
    # The stock "smtp inet" line (chroot y), moved to our loopback port.
    sed -i "s/^smtp \( *inet \)/127.0.0.1:$SMTP_PORT\1/" "$PKG_ROOT/etc/postfix/master.cf"
    grep -q "^127.0.0.1:$SMTP_PORT .*smtpd" "$PKG_ROOT/etc/postfix/master.cf"
}

# readme_milter_line: the main.cf line of the installed README.Debian (the
# first line that sets smtpd_milters, leading blanks removed).
readme_milter_line() {
    local f=$PKG_ROOT/usr/share/doc/forcetls/README.Debian
    [ -f "$f" ] || f=$f.gz
    zcat -f "$f" 2>/dev/null | sed -n 's/^[[:space:]]*\(smtpd_milters[[:space:]]*=.*[^[:space:]]\)[[:space:]]*$/\1/p' | head -n 1
}

# unit_key KEY: the values of KEY= in the installed unit, one per line.
unit_key() {
    sed -n "s/^$1=//p" "$PKG_ROOT/lib/systemd/system/forcetls-milter.service"
}

# mail NAME SENDER [swaks options]: a message from SENDER to
# bob@example.org through the root's Postfix; transcript NAME.
mail() {
    local name=$1 from=$2
    shift 2
    smtp "$name" --from "$from" --to bob@example.org "$@"
}

# expect_rcpt NAME CODE DESC: the first RCPT reply of NAME is CODE.
expect_rcpt() {
    local got
    got=$(rcpt_code "$1")
    if [ "$got" = "$2" ]; then
        pass "$3"
    else
        fail "$3" "got '$got', want '$2'" "$(tail -n 15 "$E2E_DIR/smtp/$1.out")" \
            "$(tail -n 10 "$PKG_ROOT/var/log/postfix.log" 2>/dev/null)"
    fi
}
