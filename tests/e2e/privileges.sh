#!/bin/sh
# privileges.sh - end-to-end checks of how the daemon sets itself up as
# root: a unix socket in a directory it creates (owned by root, group
# socket_group, 0750), with the configured mode and group so that a real
# Postfix (running as user postfix) can connect;
# the worker running as the configured user while the supervisor keeps the
# pidfile; reload as that user; a stale socket replaced; and an unusable
# user refused at startup but only warned about by -n. TAP output.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_prereqs
id nobody >/dev/null 2>&1 || skip_all "no user nobody"
e2e_init
make_pki
alloc_port SMTP_PORT

SOCK_DIR=$E2E_DIR/run
SOCK=$SOCK_DIR/forcetls.sock
PIDFILE=$E2E_DIR/pid/forcetls.pid
NOBODY_UID=$(id -u nobody)

# write_conf FILE USER: a configuration with a unix socket and one partner.
write_conf() {
    cat >"$1" <<EOF
socket = "unix:$SOCK";
socket_mode = "0660";
socket_group = "postfix";
user = "$2";
pidfile = "$PIDFILE";
inbound = (
  { name = "contoso"; sender_domains = [ "contoso.example" ]; }
);
EOF
    chmod 644 "$1"
}

# uid_of PID: the real uid of a process.
uid_of() { awk '/^Uid:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }

CONF=$E2E_DIR/forcetls.conf
write_conf "$CONF" nobody

# --- socket, mode, group, user ---------------------------------------------
start_unix_milter 5 "$CONF" "$SOCK" -d
ok "the unix socket exists in the directory the daemon created" test -S "$SOCK"
is "$(stat -c '%a %G' "$SOCK")" "660 postfix" "socket mode 0660, group postfix"
is "$(stat -c '%U %G %a' "$SOCK_DIR")" "root postfix 750" \
    "socket directory created root:postfix 0750 (root's, Postfix may traverse it)"
is "$(stat -c '%U %G %a' "$(dirname "$PIDFILE")")" "root root 755" \
    "pidfile directory created root:root 0755"
WORKER=$(milter_children | head -n 1)
is "$(uid_of "$WORKER")" "$NOBODY_UID" "the worker runs as user nobody"
is "$(uid_of "$MILTER_PID")" "0" "the supervisor stays root (it restarts the worker)"
is "$(tr -d '\n' <"$PIDFILE" 2>/dev/null)" "$MILTER_PID" "pidfile (directory created) holds the supervisor PID"

# Postfix, as user postfix, connects through the group permission.
PF_MILTERS=unix:$SOCK start_postfix
smtp plain --from alice@contoso.example --to bob@example.org
is "$(rcpt_code plain)" "550 5.7.1" "Postfix reaches the milter over the unix socket: plaintext partner mail refused"
wait_milter_log 'decision=reject .*reason=no_tls' >/dev/null
like "$(decision_for bob@example.org)" 'reason=no_tls' "decision line logged by the unprivileged worker"

# Reload as nobody: the file is readable by it.
kill -HUP "$MILTER_PID"
if wait_milter_log 'reload ok inbound=1 outbound=0'; then
    pass "SIGHUP reloads in the unprivileged worker"
else
    fail "SIGHUP reloads in the unprivileged worker" "$(tail -n 5 "$MILTER_LOG")"
fi

# A second daemon with the same pidfile refuses to start, before it touches
# the running one's socket or pidfile.
"$FORCETLS_MILTER" -f -c "$CONF" >>"$E2E_DIR/second.log" 2>&1
is "$?" "69" "a second daemon on the same pidfile exits with EX_UNAVAILABLE"
like "$(cat "$E2E_DIR/second.log")" "already running as PID $MILTER_PID" "... saying which PID runs"
is "$(tr -d '\n' <"$PIDFILE" 2>/dev/null)" "$MILTER_PID" "... and leaves the pidfile alone"
smtp again --from alice@contoso.example --to dave@example.org
is "$(rcpt_code again)" "550 5.7.1" "... and the running daemon's socket still serves"
stop_milter

# --- a stale socket is replaced ----------------------------------------------
rm -f "$SOCK"
perl -MIO::Socket::UNIX -e 'IO::Socket::UNIX->new(Type => SOCK_STREAM(),
    Local => $ARGV[0], Listen => 1) or die "$!\n"' "$SOCK"
ok "a stale socket is left behind" test -S "$SOCK"
: >"$MILTER_LOG"
start_unix_milter 5 "$CONF" "$SOCK" -d
smtp stale --from alice@contoso.example --to carol@example.org
is "$(rcpt_code stale)" "550 5.7.1" "the daemon replaced the stale socket and serves on it"
stop_milter

# --- an unusable user ----------------------------------------------------------
BAD=$E2E_DIR/bad-user.conf
write_conf "$BAD" forcetls-no-such-user
err=$("$FORCETLS_MILTER" -n -c "$BAD" 2>&1 >/dev/null)
rc=$?
is "$rc" "0" "-n: an unknown user is a warning, not an error"
like "$err" "^warning: $BAD:4: .*forcetls-no-such-user" "-n: the warning names FILE:LINE and the user"
: >"$MILTER_LOG"
"$FORCETLS_MILTER" -f -c "$BAD" >>"$MILTER_LOG" 2>&1 &
pid=$!
if wait_gone "$pid" 10; then
    wait "$pid"
    rc=$?
    is "$rc" "67" "startup with an unknown user exits with EX_NOUSER"
else
    kill -KILL "$pid"
    fail "startup with an unknown user exits with EX_NOUSER" "still running after 10 s"
fi
like "$(cat "$MILTER_LOG")" 'forcetls-no-such-user: no such user; refusing to run' \
    "the refusal is logged"
unlike "$(grep -E 'ERROR: (Address|Leak|Undefined)Sanitizer|runtime error' "$MILTER_LOG")" . \
    "no sanitizer report in the milter log"

done_testing
