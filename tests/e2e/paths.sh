#!/bin/sh
# paths.sh - end-to-end checks that root never follows a path an
# unprivileged user controls (issue 8, items 4 and 5): a pidfile that is a
# symbolic link or a hard link to a victim file, a pidfile, socket or
# policy_socket directory owned by nobody or writable by others, and a
# socket path that is a symbolic link are refused at start with a message
# that says what to fix (exit 78, EX_CONFIG), leaving the victim alone;
# missing directories are created root-owned with exact modes; the worker,
# running as nobody and killed again and again, owns nothing root writes
# in; -n warns about an unsafe directory; -p obeys the rules of socket in
# the file; a configuration file in a directory owned by nobody or writable
# by others is refused at start, and at a reload (the configuration in
# force stays), and -n warns about it. TAP output.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_prereqs
id nobody >/dev/null 2>&1 || skip_all "no user nobody"
id daemon >/dev/null 2>&1 || skip_all "no user daemon"
command -v runuser >/dev/null 2>&1 || skip_all "runuser is not installed"
e2e_init
alloc_port MILTER_PORT

NOBODY_UID=$(id -u nobody)
NOBODY_NAME=$(id -nu "$NOBODY_UID")
VICTIM=$E2E_DIR/victim
printf 'precious\n' >"$VICTIM"
chmod 644 "$VICTIM"

# write_conf FILE SOCKET PIDFILE [EXTRA]: a configuration with one partner.
write_conf() {
    cat >"$1" <<EOF
socket = "$2";
socket_mode = "0660";
socket_group = "postfix";
user = "nobody";
pidfile = "$3";
${4:-}
inbound = (
  { name = "contoso"; sender_domains = [ "contoso.example" ]; }
);
EOF
    chmod 644 "$1"
}

# refused NAME CONF [options]: run the daemon in the foreground until it
# exits (bounded); RC is its status, OUT its output.
refused() {
    local name=$1 conf=$2 pid
    shift 2
    OUT_FILE=$E2E_DIR/$name.out
    "$FORCETLS_MILTER" -f -c "$conf" "$@" >"$OUT_FILE" 2>&1 &
    pid=$!
    if wait_gone "$pid" 20; then
        wait "$pid"
        RC=$?
    else
        kill -KILL "$pid" 2>/dev/null
        local c
        for c in $(child_pids "$pid"); do kill -KILL "$c" 2>/dev/null; done
        wait "$pid" 2>/dev/null
        RC=timeout
    fi
    OUT=$(cat "$OUT_FILE")
}

# as_nobody CMD...: run CMD as user nobody.
as_nobody() { runuser -u nobody -- "$@" 2>/dev/null; }

CONF=$E2E_DIR/forcetls.conf
INET="inet:$MILTER_PORT@127.0.0.1"

# --- the pidfile is a symbolic link or a hard link to a victim -----------------
mkdir -m 755 "$E2E_DIR/p1"
ln -s "$VICTIM" "$E2E_DIR/p1/forcetls.pid"
write_conf "$CONF" "$INET" "$E2E_DIR/p1/forcetls.pid"
refused symlink "$CONF"
is "$RC" "78" "a pidfile that is a symbolic link: refused with EX_CONFIG"
like "$OUT" "pidfile $E2E_DIR/p1/forcetls.pid is a symbolic link, which is not followed: remove it" \
    "... with a message that says what to fix"
is "$(cat "$VICTIM")" "precious" "... and the victim file is unchanged"
ok "... and nothing listens" bash -c "! (exec 3<>/dev/tcp/127.0.0.1/$MILTER_PORT) 2>/dev/null"

mkdir -m 755 "$E2E_DIR/p2"
ln "$VICTIM" "$E2E_DIR/p2/forcetls.pid"
write_conf "$CONF" "$INET" "$E2E_DIR/p2/forcetls.pid"
refused hardlink "$CONF"
is "$RC" "78" "a pidfile that is a hard link to another file: refused"
like "$OUT" "has 2 hard links" "... saying so"
is "$(cat "$VICTIM")" "precious" "... and the victim file is unchanged"

# --- unsafe directories ----------------------------------------------------------
mkdir -m 755 "$E2E_DIR/p3"
chown nobody "$E2E_DIR/p3"
write_conf "$CONF" "$INET" "$E2E_DIR/p3/forcetls.pid"
refused piddir "$CONF"
is "$RC" "78" "a pidfile directory owned by nobody: refused with EX_CONFIG"
like "$OUT" "pidfile directory $E2E_DIR/p3 is owned by uid $NOBODY_UID \\($NOBODY_NAME\\): make it owned by root and not writable by others \\(chown root $E2E_DIR/p3; chmod 755 $E2E_DIR/p3\\)" \
    "... with the message that says what to fix"
is "$(ls -A "$E2E_DIR/p3")" "" "... and nothing was written into it"

mkdir -m 755 "$E2E_DIR/p4"
chmod 777 "$E2E_DIR/p4"
write_conf "$CONF" "$INET" "$E2E_DIR/p4/forcetls.pid"
refused piddir-w "$CONF"
is "$RC" "78" "a pidfile directory writable by others: refused"
like "$OUT" "pidfile directory $E2E_DIR/p4 is writable by others \\(mode 0777\\).*chmod 755" \
    "... saying so"

mkdir -m 755 "$E2E_DIR/p5" "$E2E_DIR/s5"
chown nobody "$E2E_DIR/s5"
write_conf "$CONF" "unix:$E2E_DIR/s5/forcetls.sock" "$E2E_DIR/p5/forcetls.pid"
refused sockdir "$CONF"
is "$RC" "78" "a socket directory owned by nobody: refused with EX_CONFIG"
like "$OUT" "socket directory $E2E_DIR/s5 is owned by uid $NOBODY_UID \\($NOBODY_NAME\\): make it owned by root" \
    "... with the message that says what to fix"
is "$(ls -A "$E2E_DIR/s5")" "" "... and no socket was created in it"

# One level further up is as bad: nobody could rename the directory away.
mkdir -p "$E2E_DIR/up/s6"
chown nobody "$E2E_DIR/up"
write_conf "$CONF" "unix:$E2E_DIR/up/s6/forcetls.sock" "$E2E_DIR/p5/forcetls.pid"
refused sockdir-up "$CONF"
is "$RC" "78" "a socket directory below one owned by nobody: refused"
like "$OUT" "socket directory $E2E_DIR/up/s6: $E2E_DIR/up is owned by uid $NOBODY_UID" \
    "... naming the directory to fix"

mkdir -m 755 "$E2E_DIR/ps7"
chown nobody "$E2E_DIR/ps7"
write_conf "$CONF" "$INET" "$E2E_DIR/p5/forcetls.pid" \
    "policy_socket = \"unix:$E2E_DIR/ps7/policy.sock\";"
refused policydir "$CONF"
is "$RC" "78" "a policy_socket directory owned by nobody: refused"
like "$OUT" "policy_socket directory $E2E_DIR/ps7 is owned by uid $NOBODY_UID" "... saying so"

# A socket path that is a symbolic link: never removed nor followed.
mkdir -m 755 "$E2E_DIR/s8"
ln -s "$VICTIM" "$E2E_DIR/s8/forcetls.sock"
write_conf "$CONF" "unix:$E2E_DIR/s8/forcetls.sock" "$E2E_DIR/p5/forcetls.pid"
refused socklink "$CONF"
ok "a socket path that is a symbolic link: refused" test "$RC" != 0 -a "$RC" != timeout
like "$OUT" "socket $E2E_DIR/s8/forcetls.sock exists and is not a socket \\(a symbolic link, not followed\\)" \
    "... saying so"
ok "... the link is left in place" test -L "$E2E_DIR/s8/forcetls.sock"
is "$(stat -c '%a %U %G' "$VICTIM"):$(cat "$VICTIM")" "644 root root:precious" \
    "... and the victim keeps its mode, group and content"

# -n reports an unsafe directory as a warning and exits 0 (directories of
# user daemon, not of the configured user nobody).
mkdir -m 755 "$E2E_DIR/s9" "$E2E_DIR/p9"
chown daemon "$E2E_DIR/s9" "$E2E_DIR/p9"
DAEMON_UID=$(id -u daemon)
write_conf "$CONF" "unix:$E2E_DIR/s9/forcetls.sock" "$E2E_DIR/p9/forcetls.pid"
err=$("$FORCETLS_MILTER" -n -c "$CONF" 2>&1 >/dev/null)
is "$?" "0" "-n: unsafe directories are warnings, not errors"
like "$err" "warning: $CONF:1: socket directory $E2E_DIR/s9 is owned by uid $DAEMON_UID \\(daemon\\): make it owned by root" \
    "-n: the socket directory warning names FILE:LINE and says what to fix"
like "$err" "warning: $CONF:5: pidfile directory $E2E_DIR/p9 is owned by uid $DAEMON_UID" \
    "-n: the pidfile directory warning names FILE:LINE"

# The package's layout: directories of the configured user (user = "nobody"
# here) in a directory root trusts. -n as root notes it and must not advise
# handing them to root, which would stop a daemon that runs as that user.
mkdir -m 750 "$E2E_DIR/own-s" "$E2E_DIR/own-p"
chown nobody "$E2E_DIR/own-s" "$E2E_DIR/own-p"
as_nobody sh -c "echo 1 >'$E2E_DIR/own-p/forcetls.pid'"
write_conf "$CONF" "unix:$E2E_DIR/own-s/forcetls.sock" "$E2E_DIR/own-p/forcetls.pid"
err=$("$FORCETLS_MILTER" -n -c "$CONF" 2>&1 >/dev/null)
is "$?" "0" "-n: the configured user's own directories: exit 0"
like "$err" "warning: $CONF:1: socket directory $E2E_DIR/own-s is owned by user nobody, the configured user: right when the daemon is started as nobody" \
    "-n: ... a note that the configured user's socket directory is right for a daemon started as that user"
like "$err" "pidfile directory $E2E_DIR/own-p is owned by user nobody, the configured user" \
    "-n: ... the same for the pidfile directory"
unlike "$err" "chown root|remove it" "-n: ... and no advice to give them to root or remove the pidfile"

# --- missing directories are created root-owned ---------------------------------
RUN=$E2E_DIR/run
SOCK=$RUN/forcetls.sock
PIDDIR=$E2E_DIR/pid
PIDFILE=$PIDDIR/forcetls.pid
POLDIR=$E2E_DIR/policy
write_conf "$CONF" "unix:$SOCK" "$PIDFILE" "policy_socket = \"unix:$POLDIR/policy.sock\";"
start_unix_milter 10 "$CONF" "$SOCK"
is "$(stat -c '%U %G %a' "$RUN")" "root postfix 750" "socket directory created root:postfix 0750"
is "$(stat -c '%U %G %a' "$SOCK")" "root postfix 660" "socket root:postfix 0660"
is "$(stat -c '%U %G %a' "$POLDIR")" "root postfix 750" "policy_socket directory created root:postfix 0750"
is "$(stat -c '%U %G %a' "$POLDIR/policy.sock")" "root postfix 660" "policy socket root:postfix 0660"
is "$(stat -c '%U %G %a' "$PIDDIR")" "root root 755" "pidfile directory created root:root 0755"
is "$(stat -c '%U %a' "$PIDFILE")" "root 644" "pidfile root 0644"
ok "user postfix can reach the socket" runuser -u postfix -- test -r "$SOCK" -a -w "$SOCK"

# --- the worker, as nobody, owns nothing root writes in ---------------------------
# nobody_owns: what nobody owns or may write below the daemon's directories.
nobody_owns() {
    find "$RUN" "$PIDDIR" "$POLDIR" \( -user nobody -o -perm -o+w \) -print 2>/dev/null
    local d
    for d in "$RUN" "$PIDDIR" "$POLDIR"; do
        as_nobody ln -s "$VICTIM" "$d/planted" && echo "nobody planted $d/planted"
    done
}
is "$(nobody_owns)" "" "nobody owns nothing and can plant nothing where root writes"
kills=3
for ((k = 1; k <= kills; k++)); do
    old=$(milter_children | head -n 1)
    [ -n "$old" ] || { fail "kill $k: a worker runs"; break; }
    is "$(awk '/^Uid:/ { print $2 }' "/proc/$old/status")" "$NOBODY_UID" "kill $k: the worker runs as nobody"
    kill -KILL "$old"
    new=
    for ((i = 0; i < 400; i++)); do
        new=$(milter_children | head -n 1)
        [ -n "$new" ] && [ "$new" != "$old" ] && grep -c 'serving on' "$MILTER_LOG" | grep -qx "$((k + 1))" && break
        new=
        sleep 0.05
    done
    ok "kill $k: a new worker serves" test -n "$new"
    is "$(nobody_owns)" "" "kill $k: nobody still owns nothing root writes in"
done
is "$(tr -d '\n' <"$PIDFILE")" "$MILTER_PID" "the pidfile still names the supervisor"
stop_milter

# Without socket_group the created socket directory is root:root 0755.
RUN2=$E2E_DIR/run2
cat >"$CONF" <<EOF
socket = "unix:$RUN2/forcetls.sock";
user = "nobody";
inbound = ( { name = "contoso"; sender_domains = [ "contoso.example" ]; } );
EOF
: >"$MILTER_LOG"
start_unix_milter 10 "$CONF" "$RUN2/forcetls.sock"
is "$(stat -c '%U %G %a' "$RUN2")" "root root 755" "socket directory without socket_group: root:root 0755"
stop_milter

# --- -p obeys the rules of socket ------------------------------------------------
write_conf "$CONF" "$INET" "$E2E_DIR/p5/forcetls.pid"
refused p-all "$CONF" -p "inet:$MILTER_PORT"
is "$RC" "64" "-p inet:PORT (all interfaces) is refused with EX_USAGE"
like "$OUT" "-p \"inet:$MILTER_PORT\": write the address to listen on" "... with the file's message"
refused p-rel "$CONF" -p "local:relative.sock"
is "$RC" "64" "-p local:relative is refused"
: >"$MILTER_LOG"
start_milter "$CONF"
ok "-p inet:PORT@127.0.0.1 serves" port_open "$MILTER_PORT"
stop_milter
LSOCK=$E2E_DIR/local/forcetls.sock
: >"$MILTER_LOG"
"$FORCETLS_MILTER" -f -c "$CONF" -p "local:$LSOCK" >>"$MILTER_LOG" 2>&1 &
MILTER_PID=$!
for ((i = 0; i < 200; i++)); do [ -S "$LSOCK" ] && break; sleep 0.05; done
ok "-p local:/PATH serves on the unix socket" test -S "$LSOCK"
is "$(stat -c '%U %G %a' "$E2E_DIR/local")" "root postfix 750" "... in a directory created like the file's socket"
wait_milter_log 'serving on' >/dev/null
like "$(grep 'serving on' "$MILTER_LOG")" "serving on unix:$LSOCK" "... normalised to unix: like the file"
stop_milter

# --- the configuration file: root reads only what only root can change ----------
mkdir -m 755 "$E2E_DIR/c1"
chown nobody "$E2E_DIR/c1"
write_conf "$E2E_DIR/c1/forcetls.conf" "$INET" "$E2E_DIR/p5/forcetls.pid"
refused confdir "$E2E_DIR/c1/forcetls.conf"
is "$RC" "78" "a configuration file in a directory owned by nobody: refused with EX_CONFIG"
like "$OUT" "configuration directory $E2E_DIR/c1 is owned by uid $NOBODY_UID \\($NOBODY_NAME\\): make it owned by root and not writable by others \\(chown root $E2E_DIR/c1; chmod 755 $E2E_DIR/c1\\)" \
    "... with the message that says what to fix"
ok "... and nothing listens" bash -c "! (exec 3<>/dev/tcp/127.0.0.1/$MILTER_PORT) 2>/dev/null"

mkdir -m 755 "$E2E_DIR/c2"
C2=$E2E_DIR/c2/forcetls.conf
write_conf "$C2" "$INET" "$E2E_DIR/p5/forcetls.pid"
chmod 666 "$C2"
refused confmode "$C2"
is "$RC" "78" "a configuration file writable by others (0666): refused with EX_CONFIG"
like "$OUT" "configuration file $C2 is writable by others \\(mode 0666\\): make it owned by root and not writable by others \\(chown root $C2; chmod go-w $C2\\)" \
    "... with the message that says what to fix"
err=$("$FORCETLS_MILTER" -n -c "$C2" 2>&1 >/dev/null)
is "$?" "0" "-n: a configuration file writable by others is a warning, not an error"
like "$err" "warning: $C2: configuration file $C2 is writable by others \\(mode 0666\\).*; the daemon refuses to start as root" \
    "-n: ... saying the daemon refuses to start as root"

# A running daemon whose file becomes group-writable: SIGHUP keeps the
# configuration in force (the policy service still answers for fabrikam).
PSOCK=$E2E_DIR/pol3/policy.sock
C3=$E2E_DIR/c3/forcetls.conf
mkdir -m 755 "$E2E_DIR/c3"
outbound_conf() {   # outbound_conf DOMAIN: the configuration, one outbound partner
    write_conf "$C3" "unix:$E2E_DIR/run3/forcetls.sock" "$E2E_DIR/p5/forcetls.pid" \
        "policy_socket = \"unix:$PSOCK\";
outbound = ( { name = \"partner\"; recipient_domains = [ \"$1\" ];
               tls_settings = \"encryption-only\"; } );"
}
# tlspolicy KEY: the policy service's answer (socketmap netstrings).
tlspolicy() {
    perl -MIO::Socket::UNIX -e '
        alarm 10; my $s = IO::Socket::UNIX->new(Peer => $ARGV[0]) or exit 2;
        my $q = "tlspolicy $ARGV[1]"; print $s length($q) . ":$q,";
        my ($b, $c) = ("", "");
        while (sysread($s, $c, 4096)) {
            $b .= $c; last if $b =~ /^(\d+):/ && length($b) >= length($1) + $1 + 2;
        }
        $b =~ s/^\d+:(.*),$/$1/s; print $b;' "$PSOCK" "$1"
}
outbound_conf fabrikam.example
start_unix_milter 10 "$C3" "$E2E_DIR/run3/forcetls.sock"
for ((i = 0; i < 100; i++)); do [ -S "$PSOCK" ] && break; sleep 0.05; done
like "$(tlspolicy fabrikam.example)" "^OK encrypt" "the policy service answers for fabrikam.example"
failed_before=$(count 'reload failed')
outbound_conf contoso.example
chmod 664 "$C3"
kill -HUP "$MILTER_PID"
if wait_count 'reload failed' $((failed_before + 1)); then
    like "$(grep -F 'reload failed: ' "$MILTER_LOG" | tail -n 1)" \
        "reload failed: $C3:0: configuration file $C3 is writable by group \\(mode 0664\\): make it owned by root and not writable by others \\(chown root $C3; chmod go-w $C3\\); keeping previous configuration\$" \
        "a group-writable file at SIGHUP: reload failed: FILE:0: ...; keeping previous configuration"
else
    fail "a group-writable file at SIGHUP: reload failed ..." "no new 'reload failed' line in 5 s"
fi
like "$(tlspolicy fabrikam.example)" "^OK encrypt" "... and the configuration in force stays (fabrikam.example)"
like "$(tlspolicy contoso.example)" "^NOTFOUND" "... (the file's contoso.example is not loaded)"
ok_before=$(count 'reload ok')
chmod 644 "$C3"
kill -HUP "$MILTER_PID"
ok "the same file made safe (0644): reload ok" wait_count 'reload ok' $((ok_before + 1))
like "$(tlspolicy contoso.example)" "^OK encrypt" "... and now contoso.example is in force"
stop_milter

unlike "$(grep -hE 'ERROR: (Address|Leak|Undefined)Sanitizer|runtime error' "$MILTER_LOG" "$E2E_DIR"/*.out)" . \
    "no sanitizer report"

done_testing
