#!/bin/sh
# rotation.sh - certificate rotation windows and staged enforcement (issue
# 10), end to end against a real Postfix AND a real sendmail 8.17 at once,
# both on loopback and both using the one milter under test, which is never
# reloaded while the dates pass.
#
# One configuration, written with two absolute UTC dates a few seconds
# ahead, T1 = now + GAP and T2 = T1 + GAP (GAP = $FORCETLS_ROTATION_GAP,
# default 20 s, sized for an ASan build on a loaded machine: the first
# phase, 18 sessions at once, took 2 s alone and 7 s beside two other
# end-to-end scripts at a load of 8):
#   contoso   certificates = ( old identity: CN mail.contoso.example, issuer
#             "Contoso Demo Root CA" (CA-A), valid_until = T2;  new identity:
#             the same CN, issuer "Contoso Demo Issuing CA B" (CA-B, an issuing
#             CA below the second root, the intermediate in the MTAs' CA file),
#             valid_from = T1 )
#   adatum    the same windows with two different names (old.adatum.example
#             from CA-A, new.adatum.example from CA-B): the crossed pairs
#             (old name from CA-B, new name from CA-A) are never accepted
#   staged    require_tls, action reject, monitor_until = T1, tempfail_until = T2
#   outstaged (outbound) require_session_tls, action reject, the same schedule
# Three phases, each run against both MTAs (all sessions in parallel, so a
# phase fits well inside its window; a phase that ends after its date is a
# failure of the test set-up and says so):
#   before T1:  old 250 ok, new 550 cert_not_yet_valid; staged and outstaged
#               plaintext 250 decision=monitor would=reject
#   T1 .. T2:   old and new 250 ok; staged 451 decision=tempfail would=reject
#   after T2:   old 550 cert_retired, new 250 ok; staged 550 decision=reject
#               (no would=)
#   always:     the crossed adatum pairs 550 cert_issuer_mismatch
# and at the end: the daemon is the same process, no worker was replaced and
# no "reload" was ever logged. Dates are waited for with bounded loops on
# `date +%s`. TAP output.
# shellcheck disable=SC2046  # $(ccert NAME) expands to four swaks words
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/sendmail_lib.sh"

require_prereqs
require_sendmail_prereqs
e2e_init
sendmail_install_cleanup
T0=$SECONDS
GAP=${FORCETLS_ROTATION_GAP:-20}

CA_A="Contoso Demo Root CA"
CA_B="Contoso Demo Issuing CA B"
# shellcheck disable=SC2034  # read by make_pki
E2E_ISSUING_CAS=("issuing_b|ca2|$CA_B")
# shellcheck disable=SC2034  # read by make_pki
E2E_EXTRA_CERTS=(
    "rot_new|issuing_b|/O=Contoso/CN=mail.contoso.example"
    "ad_old|lab|/O=Adatum/CN=old.adatum.example"
    "ad_new|issuing_b|/O=Adatum/CN=new.adatum.example"
    "ad_x_old_b|issuing_b|/O=Adatum/CN=old.adatum.example"
    "ad_x_new_a|lab|/O=Adatum/CN=new.adatum.example"
)

alloc_port PF_PORT
alloc_port SM_PORT
alloc_port MILTER_PORT
make_pki
SMTP_PORT=$PF_PORT
start_postfix
sendmail_fetch
SMTP_PORT=$SM_PORT
start_sendmail stock
diag "Postfix on 127.0.0.1:$PF_PORT, sendmail $SM_VERSION on 127.0.0.1:$SM_PORT," \
    "set up in $((SECONDS - T0)) s"

# utc EPOCH: the configuration's date form of EPOCH.
utc() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }

# wait_until EPOCH: sleep until `date +%s` >= EPOCH (bounded: EPOCH - now + 5 s).
wait_until() {
    local i n=$(( ($1 - $(date +%s) + 5) * 10 ))
    for ((i = 0; i < n; i++)); do
        [ "$(date +%s)" -ge "$1" ] && return 0
        sleep 0.1
    done
    [ "$(date +%s)" -ge "$1" ]
}

# --- the configuration, dated from now -----------------------------------------------

now=$(date +%s)
T1=$((now + GAP))
T2=$((T1 + GAP))
D1=$(utc "$T1")
D2=$(utc "$T2")
CONF=$E2E_DIR/rotation.conf
cat >"$CONF" <<EOF
# forcetls e2e: rotation windows and staged enforcement (T1 = $D1, T2 = $D2)
default_action = "reject";
min_tls_version = "TLSv1.2";
inbound = (
  { name = "contoso";
    sender_domains = [ "contoso.example" ];
    certificates = (
      { names = [ "mail.contoso.example" ]; issuers = [ "$CA_A" ];
        valid_until = "$D2"; },
      { names = [ "mail.contoso.example" ]; issuers = [ "$CA_B" ];
        valid_from = "$D1"; }
    );
    action = "reject";
  },
  { name = "adatum";
    sender_domains = [ "adatum.example" ];
    certificates = (
      { names = [ "old.adatum.example" ]; issuers = [ "$CA_A" ]; valid_until = "$D2"; },
      { names = [ "new.adatum.example" ]; issuers = [ "$CA_B" ]; valid_from = "$D1"; }
    );
    action = "reject";
  },
  { name = "staged";
    sender_domains = [ "staged.example" ];
    require_tls = true;
    action = "reject";
    monitor_until = "$D1";
    tempfail_until = "$D2";
  }
);
outbound = (
  { name = "outstaged";
    recipient_domains = [ "outstaged.example" ];
    tls_settings = "encryption-only";
    require_session_tls = true;
    action = "reject";
    monitor_until = "$D1";
    tempfail_until = "$D2";
  }
);
EOF
if ! "$FORCETLS_MILTER" -n -c "$CONF" >"$E2E_DIR/check.out" 2>&1; then
    diag "$(cat "$E2E_DIR/check.out")"
    bail_out "the dated configuration is refused (are the issue 10 keys built in?)"
fi
start_milter "$CONF"
PID0=$MILTER_PID
KIDS0=$(milter_children | sort | tr '\n' ' ')
diag "T1 = $D1, T2 = $D2 (gap $GAP s); the milter (PID $PID0) serves from $(utc "$(date +%s)")"

# --- the cases -------------------------------------------------------------------------

ACCEPT="250 2.1.5"
REJECT="550 5.7.1"
TEMPFAIL="451 4.7.1"
n=0
CASES=()          # "name|MTA|rcpt|code|decision|would|reason|connector|direction|desc"

# add MTA CODE DECISION WOULD REASON CONNECTOR DIRECTION DESC [swaks options]:
# start one session in the background (the recipient is fresh), to be
# checked by check_cases once every session of the phase has ended.
add() {
    local mta=$1 code=$2 dec=$3 would=$4 reason=$5 conn=$6 dir=$7 desc=$8 port rcpt
    shift 8
    n=$((n + 1))
    port=$PF_PORT
    [ "$mta" = sendmail ] && port=$SM_PORT
    rcpt="r$n@example.org"
    [ "$dir" = outbound ] && rcpt="r$n@outstaged.example"
    CASES+=("c$n|$mta|$rcpt|$code|$dec|$would|$reason|$conn|$dir|$desc")
    timeout 60 swaks --server "127.0.0.1:$port" --helo client.example --timeout 30 \
        --to "$rcpt" --quit-after RCPT "$@" >"$E2E_DIR/smtp/c$n.out" 2>&1 &
    track_pid $!
    PHASE_PIDS+=($!)
}

# check_cases: one test point per case added since the last call.
check_cases() {
    local c f line got problems k want
    for c in "${CASES[@]}"; do
        IFS='|' read -r -a f <<<"$c"
        problems=()
        got=$(rcpt_code "${f[0]}")
        [ "$got" = "${f[3]}" ] || problems+=("got reply '$(rcpt_reply "${f[0]}")', want ${f[3]}")
        wait_milter_log "$DECISION_RE.* rcpt=<$(ere_quote "${f[2]}")>" ||
            problems+=("no decision line")
        line=$(decision_for "${f[2]}")
        for k in decision:"${f[4]}" reason:"${f[6]}" connector:"${f[7]}" direction:"${f[8]}"; do
            want=${k#*:}
            got=$(logfield "$line" "${k%%:*}")
            [ "$got" = "$want" ] || problems+=("got ${k%%:*}=$got, want $want")
        done
        got=$(logfield "$line" would || echo absent)
        [ "$got" = "${f[5]}" ] || problems+=("got would=$got, want ${f[5]}")
        if [ "${f[5]}" != absent ]; then
            # The contract's place: right after decision=.
            [[ $line =~ \ decision=${f[4]}\ would=${f[5]}\ direction= ]] ||
                problems+=("would= is not right after decision=")
        fi
        if [ ${#problems[@]} -eq 0 ]; then
            pass "[${f[1]}] ${f[9]}"
        else
            fail "[${f[1]}] ${f[9]}" "${problems[@]}" "decision: ${line:-none}"
        fi
    done
    CASES=()
}

# run_phase NAME NOT_BEFORE NOT_AFTER EXPECTATIONS: run the phase's cases on
# both MTAs in parallel; the phase must end before NOT_AFTER (an epoch, or 0).
run_phase() {
    local name=$1 lo=$2 hi=$3 start end p mta
    shift 3
    PHASE_PIDS=()
    wait_until "$lo" || fail "$name: the date $(utc "$lo") came (bounded wait)"
    start=$(date +%s)
    for mta in postfix sendmail; do
        "$@" "$mta"
    done
    for p in "${PHASE_PIDS[@]}"; do wait "$p" 2>/dev/null; done
    end=$(date +%s)
    # The sessions ran between start and end: inside the window when both are.
    if [ "$start" -ge "$lo" ] && { [ "$hi" -eq 0 ] || [ "$end" -lt "$hi" ]; }; then
        pass "$name: all sessions ran inside the window ($((end - start)) s)"
    else
        fail "$name: all sessions ran inside the window" \
            "got $(utc "$start") .. $(utc "$end"), want $(utc "$lo") .. before $(utc "$hi")" \
            "raise FORCETLS_ROTATION_GAP (now $GAP s) on a slow machine"
    fi
    check_cases
}

P=partner
C=alice@contoso.example
A=alice@adatum.example
TLS=(--tls)

# The crossed adatum pairs: refused in every phase, whatever the dates say.
crossed() {
    add "$1" "$REJECT" reject absent cert_issuer_mismatch adatum inbound \
        "$2: old name from the new issuer: 550 cert_issuer_mismatch" \
        "${TLS[@]}" $(ccert ad_x_old_b) --from "$A"
    add "$1" "$REJECT" reject absent cert_issuer_mismatch adatum inbound \
        "$2: new name from the old issuer: 550 cert_issuer_mismatch" \
        "${TLS[@]}" $(ccert ad_x_new_a) --from "$A"
}

before() {
    local m=$1 w="before T1"
    add "$m" "$ACCEPT" accept absent ok contoso inbound "$w: old identity (CA-A): 250 ok" \
        "${TLS[@]}" $(ccert $P) --from "$C"
    add "$m" "$REJECT" reject absent cert_not_yet_valid contoso inbound \
        "$w: new identity (CA-B): 550 cert_not_yet_valid" "${TLS[@]}" $(ccert rot_new) --from "$C"
    add "$m" "$ACCEPT" accept absent ok adatum inbound "$w: adatum old name from CA-A: 250 ok" \
        "${TLS[@]}" $(ccert ad_old) --from "$A"
    add "$m" "$REJECT" reject absent cert_not_yet_valid adatum inbound \
        "$w: adatum new name from CA-B: 550 cert_not_yet_valid" \
        "${TLS[@]}" $(ccert ad_new) --from "$A"
    crossed "$m" "$w"
    add "$m" "$ACCEPT" monitor reject no_tls staged inbound \
        "$w: staged partner, plaintext: 250 decision=monitor would=reject" \
        --from bob@staged.example
    add "$m" "$ACCEPT" accept absent ok staged inbound \
        "$w: staged partner over TLS: 250 accept, no would=" "${TLS[@]}" --from bob@staged.example
    add "$m" "$ACCEPT" monitor reject no_tls outstaged outbound \
        "$w: outbound require_session_tls, plaintext: 250 decision=monitor would=reject" \
        --from carol@unrelated.example
}

between() {
    local m=$1 w="between T1 and T2"
    add "$m" "$ACCEPT" accept absent ok contoso inbound "$w: old identity (CA-A): 250 ok" \
        "${TLS[@]}" $(ccert $P) --from "$C"
    add "$m" "$ACCEPT" accept absent ok contoso inbound "$w: new identity (CA-B): 250 ok" \
        "${TLS[@]}" $(ccert rot_new) --from "$C"
    add "$m" "$ACCEPT" accept absent ok adatum inbound "$w: adatum new name from CA-B: 250 ok" \
        "${TLS[@]}" $(ccert ad_new) --from "$A"
    crossed "$m" "$w"
    add "$m" "$TEMPFAIL" tempfail reject no_tls staged inbound \
        "$w: staged partner, plaintext: 451 decision=tempfail would=reject" \
        --from bob@staged.example
    add "$m" "$TEMPFAIL" tempfail reject no_tls outstaged outbound \
        "$w: outbound require_session_tls, plaintext: 451 decision=tempfail would=reject" \
        --from carol@unrelated.example
}

after() {
    local m=$1 w="after T2"
    add "$m" "$REJECT" reject absent cert_retired contoso inbound \
        "$w: old identity (CA-A): 550 cert_retired" "${TLS[@]}" $(ccert $P) --from "$C"
    add "$m" "$ACCEPT" accept absent ok contoso inbound "$w: new identity (CA-B): 250 ok" \
        "${TLS[@]}" $(ccert rot_new) --from "$C"
    add "$m" "$REJECT" reject absent cert_retired adatum inbound \
        "$w: adatum old name from CA-A: 550 cert_retired" "${TLS[@]}" $(ccert ad_old) --from "$A"
    crossed "$m" "$w"
    add "$m" "$REJECT" reject absent no_tls staged inbound \
        "$w: staged partner, plaintext: 550 decision=reject, no would=" \
        --from bob@staged.example
    add "$m" "$REJECT" reject absent no_tls outstaged outbound \
        "$w: outbound require_session_tls, plaintext: 550 decision=reject" \
        --from carol@unrelated.example
}

run_phase "before T1" "$now" "$T1" before
run_phase "between T1 and T2" "$T1" "$T2" between
run_phase "after T2" "$T2" 0 after

# --- no reload happened --------------------------------------------------------------------

if [ "$MILTER_PID" = "$PID0" ] && pid_alive "$PID0"; then
    pass "the daemon is the same process throughout (PID $PID0)"
else
    fail "the daemon is the same process throughout" "got PID ${MILTER_PID:-none}, want $PID0 alive"
fi
is "$(milter_children | sort | tr '\n' ' ')" "$KIDS0" "no worker was replaced"
is "$(grep -c 'reload' "$MILTER_LOG")" 0 "no line of the milter log mentions a reload"
unlike "$(grep -E 'AddressSanitizer|LeakSanitizer|ThreadSanitizer|runtime error:' \
    "$MILTER_LOG" | head -n 3)" . "no sanitizer report in the milter log"
diag "rotation: $((SECONDS - T0)) s"

done_testing
