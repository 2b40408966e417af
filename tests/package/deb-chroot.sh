#!/bin/bash
# deb-chroot.sh - the .deb on a pristine Debian 12 (a private copy of the
# cached debootstrap --variant=minbase root), by chroot, as root:
# apt-get install ./forcetls_*.deb, then postfix (the package's trigger gives
# the socket directory group postfix); the user, the files, the
# conffile; the installed unit checked by systemd-analyze (verify, offline
# security); the daemon started as the unit starts it (RuntimeDirectory,
# ExecStartPre, ExecStart, as its User) and the stock chrooted Postfix
# pointed at it by the one main.cf line of README.Debian: a partner's
# plaintext mail refused, its certificate mail accepted; remove keeps the
# configuration, purge removes the user's files. Needs the network.
set -u
. "$(dirname "$0")/../e2e/lib.sh"
. "$(dirname "$0")/lib.sh"

if in_chroot; then
    pkg_skip_all "inside a chroot (packaging/fresh-check.sh): the package tests need a root of their own and run on the host"
fi
pkg_init chroot swaks openssl systemd-analyze debootstrap
plan 28
find_deb
diag "deb: $DEB"
make_pki
alloc_port SMTP_PORT
new_root minbase chroot

# --- install ---------------------------------------------------------------
# forcetls first, Postfix after it: the package's dpkg trigger on
# /usr/sbin/postfix must give the socket directory group postfix, so that
# the one main.cf line is all the administrator adds.
cp "$DEB" "$PKG_ROOT/tmp/"
if apt_install in_root "$E2E_DIR/apt.log" "/tmp/$(basename "$DEB")"; then
    pass "apt-get install ./$(basename "$DEB") on a pristine Debian 12"
else
    fail "apt-get install ./$(basename "$DEB") on a pristine Debian 12" "$(tail -n 20 "$E2E_DIR/apt.log")"
    bail_out "the package does not install"
fi
is "$(in_root stat -c '%U:%G %a' /var/spool/postfix/forcetls 2>&1)" \
    "forcetls:forcetls 2750" "without Postfix: socket directory forcetls:forcetls 2750"
preseed_postfix in_root
if apt_install in_root "$E2E_DIR/apt-postfix.log" postfix; then
    pass "apt-get install postfix after forcetls"
else
    fail "apt-get install postfix after forcetls" "$(tail -n 20 "$E2E_DIR/apt-postfix.log")"
    bail_out "Postfix does not install"
fi
is "$(in_root stat -c '%U:%G %a' /var/spool/postfix/forcetls 2>&1)" \
    "forcetls:postfix 2750" "Postfix installed after forcetls: the trigger made the socket directory forcetls:postfix 2750"

pw=$(in_root getent passwd forcetls)
IFS=: read -r _ _ fuid fgid _ fhome fshell <<<"$pw"
if [ -n "$pw" ] && [ "$fuid" -lt 1000 ] && in_root getent group forcetls >/dev/null &&
    case "$fshell" in */nologin | */false) true ;; *) false ;; esac; then
    pass "system user and group forcetls (uid $fuid, home $fhome, shell $fshell)"
else
    fail "system user and group forcetls" "passwd: '$pw'"
fi

for f in /usr/sbin/forcetls-milter /etc/forcetls/forcetls.conf \
    /lib/systemd/system/forcetls-milter.service /usr/libexec/forcetls/forcetls-socketdir \
    /usr/share/man/man8/forcetls-milter.8.gz /usr/share/man/man5/forcetls.conf.5.gz; do
    ok "installed: $f" test -f "$PKG_ROOT$f"
done
if grep -q 'forcetls[^-]' "$PKG_TOP/Makefile.am" && grep -Eq '^bin_PROGRAMS.*forcetls([^-]|$)' "$PKG_TOP/Makefile.am"; then
    ok "installed: /usr/bin/forcetls" test -f "$PKG_ROOT/usr/bin/forcetls"
    ok "installed: /usr/share/man/man1/forcetls.1.gz" test -f "$PKG_ROOT/usr/share/man/man1/forcetls.1.gz"
    # The tool reads the conffile by default, as an unprivileged user too
    # (it is 0644), and its last line is a decision line.
    explain_out=$(in_root setpriv --reuid=nobody --regid=nogroup --clear-groups \
        forcetls explain rcpt=postmaster@example.org 2>&1)
    like "$(tail -n 1 <<<"$explain_out")" '^s=explain decision=accept ' \
        "forcetls explain as nobody judges by /etc/forcetls/forcetls.conf"
else
    skip "installed: /usr/bin/forcetls" "the tree builds no /usr/bin/forcetls yet"
    skip "installed: /usr/share/man/man1/forcetls.1.gz" "the tree builds no /usr/bin/forcetls yet"
    skip "forcetls explain as nobody judges by /etc/forcetls/forcetls.conf" "the tree builds no /usr/bin/forcetls yet"
fi
# shellcheck disable=SC2016
like "$(in_root dpkg-query -W -f '${Conffiles}' forcetls)" '^ */etc/forcetls/forcetls.conf ' \
    "/etc/forcetls/forcetls.conf is a conffile"

# --- the unit, offline ------------------------------------------------------
unit=/lib/systemd/system/forcetls-milter.service
# verify needs systemd's own units in the root (minbase has none); the man
# pages' presence is checked above (--man=no: the root has no man-db).
apt_install in_root "$E2E_DIR/apt-systemd.log" systemd || diag "$(tail -n 5 "$E2E_DIR/apt-systemd.log")"
if out=$(systemd-analyze verify --man=no --root="$PKG_ROOT" "$unit" 2>&1) && [ -z "$out" ]; then
    pass "systemd-analyze verify --man=no: no complaint"
else
    fail "systemd-analyze verify: no complaint" "$out"
fi
if out=$(systemd-analyze security --offline=yes --root="$PKG_ROOT" --threshold=20 "$unit" 2>&1); then
    pass "systemd-analyze security --offline=yes --threshold=20: $(grep -o 'Overall exposure.*' <<<"$out")"
else
    fail "systemd-analyze security --offline=yes --threshold=20" "$(grep -E "Overall|[Ee]rror|[Ff]ailed" <<<"$out")"
fi

# --- the daemon, started as the unit starts it ----------------------------
# exec_line LINE: run one Exec*= line as systemd would here: "+" as root,
# otherwise as the unit's User and Group (with the unit's UMask).
user=$(unit_key User)
group=$(unit_key Group)
umask_=$(unit_key UMask)
# shellcheck disable=SC2016
exec_line() {
    local line=$1 spec
    line=${line#-}
    if [ "${line#+}" != "$line" ]; then
        # shellcheck disable=SC2086
        in_root ${line#+}
    else
        spec="$(in_root id -u "$user"):$(in_root getent group "$group" | cut -d: -f3)"
        # shellcheck disable=SC2086
        chroot --userspec="$spec" --groups="${spec#*:}" "$PKG_ROOT" /usr/bin/env -i \
            PATH=/usr/sbin:/usr/bin:/sbin:/bin /bin/sh -c 'umask "$0"; exec "$@"' \
            "${umask_:-0022}" $line
    fi
}
pkg_before_cleanup() {   # stop the daemon (by its pidfile's PID) and Postfix
    local pid
    pid=$(cat "$PKG_ROOT/run/forcetls/forcetls.pid" 2>/dev/null)
    # Only a process whose root is our private root is ours (a stale pidfile's
    # PID may be anyone's by now).
    if [ -n "$pid" ] && [ -n "$PKG_ROOT" ] && [ "$(readlink "/proc/$pid/root" 2>/dev/null)" = "$PKG_ROOT" ]; then
        kill -TERM "$pid" 2>/dev/null && wait_gone "$pid" 10
    fi
    [ -n "$PKG_ROOT" ] && [ -x "$PKG_ROOT/usr/sbin/postfix" ] && in_root postfix stop >/dev/null 2>&1
    return 0
}
rdir=$(unit_key RuntimeDirectory)
in_root install -d -o "$user" -g "$group" -m "$(unit_key RuntimeDirectoryMode | grep . || echo 0755)" "/run/$rdir"
started=1
while read -r l; do
    [ -n "$l" ] || continue
    exec_line "$l" >>"$E2E_DIR/start.log" 2>&1 || { started=0; break; }
done <<<"$(unit_key ExecStartPre)"
pre=$(unit_key ExecStartPre)
if [ "$started" = 1 ] && grep -Eq '^[-]?\+[^ ]*/forcetls-socketdir( |$)' <<<"$pre" &&
    grep -Eq '^-?/[^ ]*/forcetls-milter .*-n -c ' <<<"$pre"; then
    pass "ExecStartPre lines succeed (+.../forcetls-socketdir and forcetls-milter -n -c)"
else
    fail "ExecStartPre lines succeed, among them +.../forcetls-socketdir and forcetls-milter -n -c" \
        "ExecStartPre: $pre" "$(cat "$E2E_DIR/start.log")"
fi
exec_line "$(unit_key ExecStart)" >>"$E2E_DIR/start.log" 2>&1 || started=0
pidfile=$(unit_key PIDFile)
for _ in $(seq 50); do [ -s "$PKG_ROOT$pidfile" ] && break; sleep 0.1; done
mpid=$(cat "$PKG_ROOT$pidfile" 2>/dev/null)
if [ "$started" = 1 ] && [ -n "$mpid" ] && pid_alive "$mpid" &&
    [ "$(stat -c %u "/proc/$mpid")" = "$fuid" ]; then
    pass "ExecStart as $user: running, PID $mpid from $pidfile, uid $fuid"
else
    fail "ExecStart as $user: running" "$(cat "$E2E_DIR/start.log")"
fi
sockdir=/var/spool/postfix/forcetls
sock=$sockdir/forcetls.sock
for _ in $(seq 50); do [ -S "$PKG_ROOT$sock" ] && break; sleep 0.1; done
pfgid=$(in_root getent group postfix | cut -d: -f3)
is "$(stat -c '%u:%g %a' "$PKG_ROOT$sockdir" 2>&1 | sed "s/^$fuid:$pfgid /forcetls:postfix /")" "forcetls:postfix 2750" \
    "socket directory $sockdir is forcetls:postfix 2750"
ok "the daemon listens on $sock" test -S "$PKG_ROOT$sock"

# --- Postfix with the documented line ---------------------------------------
line=$(readme_milter_line)
like "$line" '^smtpd_milters' "README.Debian documents the main.cf line: $line"
postfix_in_root in_root || bail_out "configuring the root's Postfix failed"
[ -n "$line" ] && in_root postconf -e "$line"
if in_root postfix start >"$E2E_DIR/postfix.log" 2>&1 && wait_port "$SMTP_PORT" 15; then
    pass "the root's Postfix (chrooted smtpd) listens on 127.0.0.1:$SMTP_PORT"
else
    fail "the root's Postfix listens on 127.0.0.1:$SMTP_PORT" "$(cat "$E2E_DIR/postfix.log")" \
        "$(tail -n 20 "$PKG_ROOT/var/log/postfix.log" 2>/dev/null)"
fi
mail plain alice@contoso.example
expect_rcpt plain "550 5.7.1" "partner's plaintext mail refused"
# shellcheck disable=SC2046
mail cert alice@contoso.example -tls $(ccert partner)
expect_rcpt cert "250 2.1.5" "partner's mail over TLS with its certificate accepted"
like "$(data_reply cert)" '^250 .*queued as' "and queued"

# --- remove, purge ------------------------------------------------------------
pkg_before_cleanup
rm -rf "${PKG_ROOT:?}/run/$rdir"   # systemd removes the RuntimeDirectory at stop
if in_root apt-get remove -y -q forcetls >"$E2E_DIR/remove.log" 2>&1 &&
    [ -f "$PKG_ROOT/etc/forcetls/forcetls.conf" ] && [ ! -e "$PKG_ROOT/usr/sbin/forcetls-milter" ]; then
    pass "apt-get remove: program gone, /etc/forcetls/forcetls.conf kept"
else
    fail "apt-get remove: program gone, /etc/forcetls/forcetls.conf kept" "$(tail -n 10 "$E2E_DIR/remove.log")"
fi
if in_root apt-get purge -y -q forcetls >"$E2E_DIR/purge.log" 2>&1; then
    # An empty uid or gid, or a find that fails, must not read as "nothing left".
    frc=1
    if [ -n "${fuid:-}" ] && [ -n "${fgid:-}" ]; then
        frc=0
        find "$PKG_ROOT" -xdev \( -uid "$fuid" -o -gid "$fgid" -o -path "$PKG_ROOT/etc/forcetls" \
            -o -path "$PKG_ROOT$sockdir" \) -print >"$E2E_DIR/left.txt" 2>"$E2E_DIR/find.err" || frc=$?
    fi
    if [ "$frc" = 0 ] && [ ! -s "$E2E_DIR/left.txt" ]; then
        pass "apt-get purge: /etc/forcetls, $sockdir and the user's files gone"
    else
        fail "apt-get purge: /etc/forcetls, $sockdir and the user's files gone" \
            "uid '${fuid:-}' gid '${fgid:-}', find exit $frc" "$(head -n 5 "$E2E_DIR/left.txt" "$E2E_DIR/find.err" 2>&1)"
    fi
else
    fail "apt-get purge" "$(tail -n 10 "$E2E_DIR/purge.log")"
fi
done_testing
