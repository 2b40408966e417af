#!/bin/bash
# deb-nspawn.sh - the .deb under real systemd, as root: boots a private copy
# of the cached Debian 12 root with systemd (packaging/debian-root.sh) in
# systemd-nspawn (host network: its Postfix listens on a free loopback
# port), installs the .deb (postinst starts it), then Postfix (the dpkg
# trigger gives the socket group postfix and restarts the daemon), adds
# README.Debian's main.cf line and drives the real unit with nsenter:
# systemctl start, a partner's
# plaintext mail refused and its certificate mail accepted, systemctl reload
# after a connector edit (the new policy holds), systemctl reload with a
# broken file (fails; the old policy holds), the worker killed with the
# broken file on disk (a new worker serves the policy in force; no system
# call refused by the sandbox), dpkg -i again (restarted, edited conffile
# kept), systemd-analyze security on the live unit (<= 2.0). Skips with the reason only where nspawn cannot boot.
# Needs the network.
set -u
. "$(dirname "$0")/../e2e/lib.sh"
. "$(dirname "$0")/lib.sh"

if in_chroot; then
    pkg_skip_all "inside a chroot (packaging/fresh-check.sh): systemd-nspawn needs a root of its own and runs on the host"
fi
pkg_init systemd-nspawn nsenter swaks openssl debootstrap
find_deb
make_pki
alloc_port SMTP_PORT
new_root systemd nspawn
NSPAWN_PID=
BOX_PID=

# box_ok: $BOX_PID is still our container's init, not a reused PID:
# nspawn (our child, unreaped) is alive, BOX_PID's parent is nspawn, its
# command is systemd and its PID namespace is not ours.
box_ok() {
    local ppid
    [ -n "$NSPAWN_PID" ] && [ -n "$BOX_PID" ] || return 1
    kill -0 "$NSPAWN_PID" 2>/dev/null || return 1
    ppid=$(awk '$1 == "PPid:" { print $2 }' "/proc/$BOX_PID/status" 2>/dev/null)
    [ "$ppid" = "$NSPAWN_PID" ] || return 1
    [ "$(cat "/proc/$BOX_PID/comm" 2>/dev/null)" = systemd ] || return 1
    local ns
    ns=$(readlink "/proc/$BOX_PID/ns/pid" 2>/dev/null) || return 1
    [ -n "$ns" ] && [ "$ns" != "$(readlink /proc/self/ns/pid)" ]
}

# in_box CMD...: run CMD as root inside the booted container (fails, running
# nothing, when box_ok does).
in_box() {
    box_ok || { echo "in_box: PID '$BOX_PID' is not the container's systemd (any more)" >&2; return 1; }
    local -a px
    mapfile -t px < <(pkg_proxy_env)
    nsenter -t "$BOX_PID" -a /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
        HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "${px[@]}" "$@"
}

# Power the container off; kill it by PID (its init, then nspawn) after 30 s.
# shellcheck disable=SC2317  # (called by lib.sh's EXIT trap)
pkg_before_cleanup() {
    local i
    [ -n "$NSPAWN_PID" ] || return 0
    if box_ok; then
        timeout 10 nsenter -t "$BOX_PID" -a systemctl poweroff >/dev/null 2>&1
    fi
    for ((i = 0; i < 30; i++)); do
        pid_alive "$NSPAWN_PID" || break
        sleep 1
    done
    if pid_alive "$NSPAWN_PID"; then
        echo "# the container did not power off in 30 s: killing PIDs $BOX_PID $NSPAWN_PID"
        box_ok && kill -KILL "$BOX_PID" 2>/dev/null
        sleep 1
        kill -KILL "$NSPAWN_PID" 2>/dev/null
    fi
    wait "$NSPAWN_PID" 2>/dev/null
    NSPAWN_PID=
    return 0
}

# --- boot --------------------------------------------------------------------
# Nothing the packages install may start before we configure it (Postfix
# would take port 25 of the shared loopback), but for forcetls-milter (a
# unix socket only), which postinst starts and its trigger restarts
# (invoke-rc.d asks with the script's name, deb-systemd-invoke with the unit's).
# shellcheck disable=SC2016
printf '#!/bin/sh\ncase "$1" in forcetls-milter | forcetls-milter.service) exit 0 ;; esac\nexit 101\n' \
    >"$PKG_ROOT/usr/sbin/policy-rc.d"
chmod 755 "$PKG_ROOT/usr/sbin/policy-rc.d"
systemd-nspawn -q --register=no --keep-unit --boot -D "$PKG_ROOT" \
    </dev/null >"$E2E_DIR/nspawn.log" 2>&1 &
NSPAWN_PID=$!
for ((i = 0; i < 100; i++)); do
    BOX_PID=$(cat /proc/"$NSPAWN_PID"/task/*/children 2>/dev/null | awk '{ print $1 }')
    [ -n "$BOX_PID" ] && [ "$(cat "/proc/$BOX_PID/comm" 2>/dev/null)" = systemd ] && break
    BOX_PID=
    pid_alive "$NSPAWN_PID" || break
    sleep 0.1
done
# systemctl answers once systemd has made its private socket; then --wait
# waits for the boot to finish.
# One deadline for the whole wait (180 s); each call gets what remains.
state=
boot_deadline=$((SECONDS + 180))
for ((i = 0; i < 180 && SECONDS < boot_deadline; i++)); do
    box_ok || break
    left=$((boot_deadline - SECONDS))
    ((left > 0)) || break   # (timeout 0 would mean no limit)
    state=$(timeout "$left" nsenter -t "$BOX_PID" -a systemctl is-system-running --wait 2>&1)
    case "$state" in running | degraded) break ;; esac
    sleep 1
done
case "$state" in
running | degraded) ;;
*)
    diag "$(tail -n 20 "$E2E_DIR/nspawn.log")"
    pkg_skip_all "systemd-nspawn cannot boot a Debian 12 root here (system state '$state')"
    ;;
esac
plan 21
diag "container: nspawn PID $NSPAWN_PID, its systemd PID $BOX_PID, state $state"

# --- install and start ----------------------------------------------------------
mkdir -p "$PKG_ROOT/srv/forcetls"
cp "$DEB" "$PKG_ROOT/srv/forcetls/"
main_pid() { in_box systemctl show -p MainPID --value forcetls-milter; }
# forcetls first: postinst starts it (no Postfix yet: group forcetls).
if apt_install in_box "$E2E_DIR/apt.log" "/srv/forcetls/$(basename "$DEB")"; then
    pass "apt-get install ./$(basename "$DEB") under systemd"
else
    fail "apt-get install ./$(basename "$DEB") under systemd" "$(tail -n 20 "$E2E_DIR/apt.log")"
    bail_out "the package does not install"
fi
for ((i = 0; i < 50; i++)); do
    in_box test -S /var/spool/postfix/forcetls/forcetls.sock && break
    sleep 0.2
done
pid_first=$(main_pid)
if in_box systemctl is-active -q forcetls-milter && [ "${pid_first:-0}" != 0 ] &&
    [ "$(in_box stat -c %G /var/spool/postfix/forcetls/forcetls.sock 2>&1)" = forcetls ]; then
    pass "postinst started forcetls-milter (MainPID $pid_first), its socket group forcetls (no Postfix yet)"
else
    fail "postinst started forcetls-milter, its socket group forcetls" "MainPID '$pid_first'" \
        "$(in_box systemctl status --no-pager forcetls-milter 2>&1 | tail -n 15)"
fi
# Postfix after it: the dpkg trigger must give the directory group postfix
# and restart the daemon, so that its new socket has group postfix too.
preseed_postfix in_box
if apt_install in_box "$E2E_DIR/apt-postfix.log" postfix; then
    pass "apt-get install postfix after forcetls under systemd"
else
    fail "apt-get install postfix after forcetls under systemd" "$(tail -n 20 "$E2E_DIR/apt-postfix.log")"
    bail_out "Postfix does not install"
fi
for ((i = 0; i < 50; i++)); do
    [ "$(in_box stat -c %G /var/spool/postfix/forcetls/forcetls.sock 2>/dev/null)" = postfix ] && break
    sleep 0.2
done
got="$(in_box stat -c '%U:%G %a' /var/spool/postfix/forcetls 2>&1) socket group $(in_box stat -c %G /var/spool/postfix/forcetls/forcetls.sock 2>&1)"
is "$got" "forcetls:postfix 2750 socket group postfix" \
    "the trigger: socket directory forcetls:postfix 2750, the socket's group postfix"
pid_trig=$(main_pid)
if in_box systemctl is-active -q forcetls-milter && [ "${pid_trig:-0}" != 0 ] && [ "$pid_trig" != "$pid_first" ]; then
    pass "the trigger restarted forcetls-milter (MainPID $pid_first -> $pid_trig)"
else
    fail "the trigger restarted forcetls-milter" "MainPID $pid_first -> $pid_trig" "$(grep -i forcetls "$E2E_DIR/apt-postfix.log" | tail -n 10)"
fi
rm -f "$PKG_ROOT/usr/sbin/policy-rc.d"
line=$(readme_milter_line)
[ -n "$line" ] || diag "README.Debian has no smtpd_milters line"
postfix_in_root in_box || bail_out "configuring the container's Postfix failed"
[ -n "$line" ] && in_box postconf -e "$line"
if in_box systemctl start forcetls-milter >"$E2E_DIR/start.log" 2>&1 &&
    in_box systemctl is-active -q forcetls-milter; then
    pass "systemctl start forcetls-milter: active"
else
    fail "systemctl start forcetls-milter: active" "$(cat "$E2E_DIR/start.log")" \
        "$(in_box journalctl -u forcetls-milter --no-pager -n 20 2>&1)"
fi
if in_box systemctl restart postfix >"$E2E_DIR/postfix.log" 2>&1 && wait_port "$SMTP_PORT" 20; then
    pass "the container's Postfix listens on 127.0.0.1:$SMTP_PORT with $line"
else
    fail "the container's Postfix listens on 127.0.0.1:$SMTP_PORT" "$(cat "$E2E_DIR/postfix.log")" \
        "$(tail -n 20 "$PKG_ROOT/var/log/postfix.log" 2>/dev/null)"
fi

mail plain alice@contoso.example
expect_rcpt plain "550 5.7.1" "partner's plaintext mail refused"
# shellcheck disable=SC2046
mail cert alice@contoso.example -tls $(ccert partner)
expect_rcpt cert "250 2.1.5" "partner's certificate mail accepted"

# expect_refused NAME DESC: plaintext mail from the new partner gets 550
# 5.7.1, retried for up to 5 s (a reload or restart completes after
# systemctl or kill returns).
expect_refused() {
    local i
    for ((i = 0; i < 20; i++)); do
        mail "$1" newpartner@fabrikam-in.example
        [ "$(rcpt_code "$1")" = "550 5.7.1" ] && break
        sleep 0.25
    done
    expect_rcpt "$1" "550 5.7.1" "$2"
}

# --- reload ----------------------------------------------------------------------
conf=$PKG_ROOT/etc/forcetls/forcetls.conf
mail before newpartner@fabrikam-in.example
expect_rcpt before "250 2.1.5" "fabrikam-in.example (no connector yet): plaintext accepted"
sed -i 's/sender_domains = \[ "contoso.example"/sender_domains = [ "fabrikam-in.example", "contoso.example"/' "$conf"
grep -q '"fabrikam-in.example"' "$conf" || diag "the connector edit did not apply"
ok "systemctl reload after a connector edit" in_box systemctl reload forcetls-milter
expect_refused after "the new policy holds: fabrikam-in.example plaintext refused"
cp "$conf" "$E2E_DIR/good.conf"
echo 'inbound = ( { this is not a configuration' >>"$conf"
if in_box systemctl reload forcetls-milter >"$E2E_DIR/reload-bad.log" 2>&1; then
    fail "systemctl reload with a broken file fails"
else
    pass "systemctl reload with a broken file fails"
fi
sleep 1
mail after2 newpartner@fabrikam-in.example
if in_box systemctl is-active -q forcetls-milter && [ "$(rcpt_code after2)" = "550 5.7.1" ]; then
    pass "the old policy holds: still active, fabrikam-in.example still refused"
else
    fail "the old policy holds" "$(in_box systemctl status --no-pager forcetls-milter 2>&1 | tail -n 15)" \
        "RCPT: $(rcpt_code after2)"
fi
# shellcheck disable=SC2046
mail cert2 alice@contoso.example -tls $(ccert partner)
expect_rcpt cert2 "250 2.1.5" "and the partner's certificate mail is still accepted"

# --- a worker killed under the sandbox -------------------------------------------------
# The file on disk is still broken: the new worker must serve the policy in
# force (the supervisor's validated copy), and nothing may die of a system
# call the unit's filter forbids.
box_worker() {
    # shellcheck disable=SC2016
    in_box sh -c 'cat /proc/$(cat /run/forcetls/forcetls.pid)/task/*/children' 2>/dev/null |
        awk '{ print $1 }' | head -n 1
}
old_worker=$(box_worker)
[ -n "$old_worker" ] && in_box sh -c "kill -KILL $old_worker"   # minbase has no /bin/kill
new_worker=
for ((i = 0; i < 50; i++)); do
    new_worker=$(box_worker)
    [ -n "$new_worker" ] && [ "$new_worker" != "$old_worker" ] &&
        in_box test -S /var/spool/postfix/forcetls/forcetls.sock && break
    new_worker=
    sleep 0.2
done
if [ -n "$old_worker" ] && [ -n "$new_worker" ]; then
    pass "kill -9 of the worker ($old_worker): the supervisor starts a new one ($new_worker)"
else
    fail "kill -9 of the worker ($old_worker): the supervisor starts a new one" \
        "$(in_box journalctl -u forcetls-milter --no-pager -n 15 2>&1)"
fi
expect_refused after3 "... which serves the policy in force, not the broken file: fabrikam-in.example refused"
journal=$(in_box journalctl -u forcetls-milter --no-pager 2>&1)
unlike "$journal" "status=31|SIGSYS|code=dumped" "... and the journal shows no system call refused by the sandbox"

# --- reinstall (the upgrade path of postinst and debhelper) --------------------------
cp "$E2E_DIR/good.conf" "$conf"
pid_before=$(main_pid)
if in_box dpkg -i --force-confold "/srv/forcetls/$(basename "$DEB")" >"$E2E_DIR/reinstall.log" 2>&1 &&
    in_box systemctl is-active -q forcetls-milter && [ "$(main_pid)" != "$pid_before" ]; then
    pass "dpkg -i of the package again: postinst succeeds, the daemon is restarted and active"
else
    fail "dpkg -i of the package again" "$(tail -n 15 "$E2E_DIR/reinstall.log")" \
        "MainPID $pid_before -> $(main_pid)"
fi
expect_refused after4 "... with the administrator's edited conffile: fabrikam-in.example refused"

# --- the live unit's score ----------------------------------------------------------
out=$(in_box systemd-analyze security --no-pager forcetls-milter 2>&1)
score=$(sed -n 's/.*Overall exposure level for forcetls-milter.service: \([0-9.]*\).*/\1/p' <<<"$out")
if [ -n "$score" ] && awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }'; then
    pass "systemd-analyze security forcetls-milter (live): $score <= 2.0"
else
    fail "systemd-analyze security forcetls-milter (live): <= 2.0" "score '$score'" "$(tail -n 5 <<<"$out")"
fi
done_testing
