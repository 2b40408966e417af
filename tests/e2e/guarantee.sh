#!/bin/sh
# guarantee.sh - the configuration in force survives worker restarts, and
# restarts are prompt (issue 8, items 1, 7, 8a), end to end against a real
# Postfix on loopback. The configuration in force is the last one logged as
# loaded: a worker restarted for any reason serves exactly it, whatever the
# file on disk holds (broken, or valid but never reloaded). A worker that
# served is replaced at once; only workers that fail before serving are
# backed off; the supervisor's wait for a starting worker is bounded and
# TERM still stops the daemon meanwhile. TAP output.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_prereqs
e2e_init
alloc_port SMTP_PORT
alloc_port MILTER_PORT
make_pki
start_postfix

CONF=$E2E_DIR/forcetls.conf

# code NAME SENDER RCPT: the RCPT reply code of a plaintext session.
code() {
    smtp "$1" --from "$2" --to "$3" --quit-after RCPT
    rcpt_code "$1"
}

# kill_worker: SIGKILL the worker; wait until a new one serves (at most 10 s).
# Sets GAP to the seconds between the kill and the new worker's "serving on".
kill_worker() {
    local old served i start
    old=$(milter_children)
    served=$(count 'serving on')
    start=$EPOCHREALTIME
    kill -KILL "$old"
    GAP=
    for ((i = 0; i < 200; i++)); do
        if [ "$(count 'serving on')" -gt "$served" ]; then
            GAP=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')
            return 0
        fi
        sleep 0.05
    done
    return 1
}

# --- A, then B by SIGHUP ----------------------------------------------------------

require_tls_conf "$CONF" alpha.example
start_milter "$CONF"
PARENT=$MILTER_PID
like "$(code a1 bob@beta.example r1@example.org)" '^250 ' \
    "config A: plaintext mail from beta.example is accepted (no connector)"

require_tls_conf "$CONF" alpha.example beta.example
if signal_reload HUP "$PARENT"; then
    is "$(grep -Eo -- "$RELOAD_OK" "$MILTER_LOG" | tail -n 1)" "reload ok inbound=2 outbound=0" \
        "SIGHUP with config B: reload ok inbound=2 outbound=0"
else
    fail "SIGHUP with config B: reload ok inbound=2 outbound=0" "no reload line in 5 s"
fi
like "$(code b1 bob@beta.example r2@example.org)" '^5[0-9][0-9] ' \
    "config B: plaintext mail from beta.example is refused"

# --- the file breaks; the worker is killed: B stays in force --------------------

echo 'inbound = ( { name = ' >"$CONF"
ok_before=$(count "$RELOAD_OK") failed_before=$(count 'reload failed') \
    start_before=$(count 'starting forcetls-milter')
ok "broken file, worker killed: a new worker serves within 10 s" kill_worker
like "$(code b2 bob@beta.example r3@example.org)" '^5[0-9][0-9] ' \
    "broken file, restarted worker: mail B refuses is still refused"
like "$(code b3 carol@alpha.example r4@example.org)" '^5[0-9][0-9] ' \
    "broken file, restarted worker: A's connector still enforced"
is "$(count "$RELOAD_OK") $(count 'reload failed') $(count 'starting forcetls-milter')" \
    "$ok_before $failed_before $start_before" \
    "broken file, restarted worker: the log claims no load (no reload ok/failed, no start)"
like "$(grep 'worker serves the configuration in force' "$MILTER_LOG" | tail -n 1)" \
    'inbound=2 outbound=0$' "the restarted worker says it serves B (inbound=2)"

# --- a valid C on disk without SIGHUP: still B ---------------------------------

require_tls_conf "$CONF" alpha.example
ok "valid C on disk (no SIGHUP), worker killed: a new worker serves" kill_worker
like "$(code c1 bob@beta.example r5@example.org)" '^5[0-9][0-9] ' \
    "valid C on disk (no SIGHUP): the restarted worker still enforces B"

# --- a reload of a broken file keeps B ------------------------------------------

printf 'default_action = "reject";\nbogus_key = 1;\n' >"$CONF"
kill -HUP "$PARENT"
if wait_milter_log 'reload failed: '; then
    like "$(grep -F 'reload failed: ' "$MILTER_LOG" | tail -n 1)" \
        "reload failed: $CONF:2: .*; keeping previous configuration\$" \
        "SIGHUP with a broken file: reload failed: FILE:LINE: ...; keeping previous configuration"
else
    fail "SIGHUP with a broken file: reload failed ..." "no 'reload failed' line in 5 s"
fi
like "$(code d1 bob@beta.example r6@example.org)" '^5[0-9][0-9] ' \
    "after the failed reload: B still enforced"
ok "after the failed reload, worker killed: a new worker serves" kill_worker
like "$(code d2 bob@beta.example r7@example.org)" '^5[0-9][0-9] ' \
    "after the failed reload and a restart: B still enforced"

# --- five kills: each restart serves again promptly ------------------------------

require_tls_conf "$CONF" alpha.example beta.example
gaps=() slow=()
for ((k = 1; k <= 5; k++)); do
    sleep 1.2   # a worker that served is restarted at once, but at most once a second
    if kill_worker; then gaps+=("$GAP"); else slow+=("kill $k: no new worker in 10 s"); fi
done
diag "restart gaps (kill to 'serving on'), seconds: ${gaps[*]}"
if [ ${#slow[@]} -eq 0 ]; then pass "5 kills: each restarted worker serves again within 10 s"
else fail "5 kills: each restarted worker serves again within 10 s" "${slow[@]}"; fi
unlike "$(grep -E 'failed to start|back-off' "$MILTER_LOG" | tail -n 1)" . \
    "5 kills of served workers: no back-off"
like "$(code e1 bob@beta.example r8@example.org)" '^5[0-9][0-9] ' \
    "after 5 restarts: B still enforced"

# --- a reload signal in the restart gap is carried out by the next worker -------
# A worker killed within a second of serving is restarted only a second after
# its start; a SIGHUP meanwhile finds no worker. It must not be dropped.

require_tls_conf "$CONF" alpha.example
sleep 1.2
kill_worker
ok_before=$(count "$RELOAD_OK") failed_before=$(count 'reload failed')
kill -KILL "$(milter_children)"
kill -HUP "$PARENT"
if wait_count "$RELOAD_OK" $((ok_before + 1)) 10; then
    pass "SIGHUP in the restart gap: reload ok once the next worker serves"
else
    fail "SIGHUP in the restart gap: reload ok once the next worker serves" \
        "$(tail -n 6 "$MILTER_LOG")"
fi
is "$(count 'reload failed')" "$failed_before" "SIGHUP in the restart gap: no reload failed"
like "$(code g1 bob@beta.example r9@example.org)" '^250 ' \
    "SIGHUP in the restart gap: the new configuration (C) is in force"

# --- a reload that changes process settings says when they take effect ----------

{ echo 'socket_mode = "0600";'; echo 'socket_group = "postfix";'; cat "$CONF"; } \
    >"$CONF.new" && mv "$CONF.new" "$CONF"
signal_reload HUP "$PARENT" 10
for k in socket_mode socket_group; do
    like "$(grep -F "$k changed" "$MILTER_LOG" | tail -n 1)" \
        "$k changed in the configuration: takes effect when the daemon is restarted\$" \
        "a reload that changes $k warns: takes effect when the daemon is restarted"
done
stop_milter

# --- the supervisor killed outright: its worker does not outlive it -------------
# The worker drops privileges (user nobody), which clears the death signal
# the supervisor set at fork; the worker must stop all the same.

: >"$MILTER_LOG"
{ echo 'user = "nobody";'; cat "$CONF"; } >"$E2E_DIR/nobody.conf"
: >"$E2E_DIR/inherited"
start_milter "$E2E_DIR/nobody.conf" 9>>"$E2E_DIR/inherited"
wait_milter_log 'serving on' 10
worker=$(milter_children)
# A descriptor the starter left open reaches neither process.
held=
for p in "$MILTER_PID" $worker; do
    for f in /proc/"$p"/fd/*; do
        [ "$(readlink "$f" 2>/dev/null)" = "$E2E_DIR/inherited" ] && held="$held $p:${f##*/}"
    done
done
is "$held" "" "an inherited descriptor (9) is closed in the supervisor and the worker"
kill -KILL "$MILTER_PID"
wait "$MILTER_PID" 2>/dev/null
MILTER_PID=
if [ -n "$worker" ] && wait_gone "$worker" 5; then
    pass "supervisor killed (-9): its worker (user nobody) is gone within 5 s"
else
    fail "supervisor killed (-9): its worker (user nobody) is gone within 5 s" \
        "worker '$worker' still there; $(tail -n 3 "$MILTER_LOG")"
    [ -n "$worker" ] && kill -KILL $worker 2>/dev/null
fi

# --- a closed stderr pipe (forcetls-milter -f | head -1) kills nothing ----------

"$FORCETLS_MILTER" -f -c "$CONF" -p "inet:$MILTER_PORT@127.0.0.1" \
    > >(head -n 1 >/dev/null) 2>&1 &
MILTER_PID=$!
wait_port "$MILTER_PORT" 10
sleep 0.5                   # head has exited: further log lines meet a closed pipe
kill -HUP "$MILTER_PID"     # logs "reload ok" to that pipe
sleep 1
if pid_alive "$MILTER_PID" && [ -n "$(milter_children)" ] && port_open "$MILTER_PORT"; then
    pass "stderr to a pipe that closed (| head -1): supervisor and worker still serve"
else
    fail "stderr to a pipe that closed (| head -1): supervisor and worker still serve"
fi
like "$(code h1 bob@beta.example r10@example.org)" '^250 ' \
    "stderr to a closed pipe: mail is still answered"
stop_milter

# The checks below need the test hooks (./configure --enable-test-hooks).
HOOK_CHECKS=(
    "hung restarts: killed after the start time limit and backed off (1 s, 2 s)"
    "hung restarts: the start time limit kills them"
    "TERM while a restarted worker hangs in its start: the daemon stops within 5 s"
    "TERM while the first worker hangs in its start: the daemon stops within 5 s"
    "TERM during the first start: no worker left"
)
if ! test_hooks_built; then
    for d in "${HOOK_CHECKS[@]}"; do skip "$d" "built without --enable-test-hooks"; done
    # Without the hooks, their variables change nothing: the worker serves.
    : >"$MILTER_LOG"
    FORCETLS_TEST_HANG_FROM=0 FORCETLS_START_TIMEOUT=1 start_milter "$CONF"
    unlike "$(grep -E 'test hook|did not serve within' "$MILTER_LOG")" . \
        "built without test hooks: FORCETLS_TEST_HANG_FROM and FORCETLS_START_TIMEOUT do nothing"
    stop_milter
else
    # --- crash loop: workers that never serve are backed off; TERM still stops -----

    : >"$MILTER_LOG"
    FORCETLS_TEST_HANG_FROM=1 FORCETLS_START_TIMEOUT=1 start_milter "$CONF"
    PARENT=$MILTER_PID
    kill -KILL "$(milter_children)"
    if wait_milter_log 'retrying in 2 s \(back-off after 2 failed starts in a row\)' 15; then
        pass "hung restarts: killed after the start time limit and backed off (1 s, 2 s)"
    else
        fail "hung restarts: killed after the start time limit and backed off (1 s, 2 s)" \
            "$(tail -n 8 "$MILTER_LOG")"
    fi
    like "$(grep -c 'did not serve within 1 s; killing it' "$MILTER_LOG")" '^[2-9]' \
        "hung restarts: the start time limit kills them"
    n=$(count 'test hook: worker hangs')
    wait_count 'test hook: worker hangs' $((n + 1)) 10
    start=$SECONDS
    kill -TERM "$PARENT"
    if wait_gone "$PARENT" 5; then
        pass "TERM while a restarted worker hangs in its start: the daemon stops within 5 s"
        MILTER_PID=
    else
        fail "TERM while a restarted worker hangs in its start: the daemon stops within 5 s"
        kids=$(milter_children)
        stop_milter
        for w in $kids; do kill -KILL "$w" 2>/dev/null; done
    fi

    # A fresh port and log, so that nothing of the daemon above can interfere.
    alloc_port MILTER_PORT
    MILTER_LOG=$E2E_DIR/milter-first.log
    FORCETLS_TEST_HANG_FROM=0 "$FORCETLS_MILTER" -f -c "$CONF" -p "inet:$MILTER_PORT@127.0.0.1" \
        >>"$MILTER_LOG" 2>&1 &
    MILTER_PID=$!
    wait_milter_log 'test hook: worker hangs' 10
    kids=$(milter_children)
    kill -TERM "$MILTER_PID"
    if wait_gone "$MILTER_PID" 5; then
        pass "TERM while the first worker hangs in its start: the daemon stops within 5 s"
        wait "$MILTER_PID"
        diag "exit status $?"
        MILTER_PID=
    else
        fail "TERM while the first worker hangs in its start: the daemon stops within 5 s" \
            "$(tail -n 5 "$MILTER_LOG")"
        stop_milter
    fi
    left=
    for w in $kids; do pid_alive "$w" && left="$left $w"; done
    is "$left" "" "TERM during the first start: no worker left"
    for w in $left; do kill -KILL "$w"; done
fi

unlike "$(grep -E 'AddressSanitizer|LeakSanitizer|ThreadSanitizer|runtime error:' \
    "$E2E_DIR"/milter*.log | head -n 3)" . "no sanitizer report in the milter logs"

done_testing
