#!/bin/sh
# foundation.sh - end-to-end checks of the daemon's foundation against a real
# Postfix on loopback: configuration checking (-n), the TLS facts the milter
# sees (debug lines), reload on SIGHUP/SIGUSR1 including a bad configuration,
# a 200-SIGHUP storm under load, and SIGTERM. Policy decisions are tested by
# inbound.sh; here every sender is outside the partner connectors, so every
# recipient must be accepted. TAP output.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_prereqs
e2e_init
SHIPPED=$top_srcdir/conf/forcetls.conf
[ -s "$SHIPPED" ] || bail_out "missing or empty $SHIPPED"

# --- -n: configuration checking ------------------------------------------------

# check_conf DESC FILE WANT_RC [WANT_LINE]: run -n and check status and message.
check_conf() {
    local desc=$1 file=$2 want_rc=$3 want_line=${4:-} rc err
    err=$("$FORCETLS_MILTER" -n -c "$file" 2>&1 >/dev/null)
    rc=$?
    if [ "$rc" -ne "$want_rc" ]; then
        fail "$desc" "got exit $rc, want $want_rc" "stderr: $err"
    elif [ -n "$want_line" ] && ! grep -q "^$file:$want_line: " <<<"$err"; then
        fail "$desc" "got stderr: $err" "want a line starting with $file:$want_line: "
    else
        pass "$desc"
    fi
}

check_conf "-n accepts the shipped conf/forcetls.conf" "$SHIPPED" 0

# A valid base; each broken variant changes exactly one line of it.
BASE=$E2E_DIR/base.conf
cat >"$BASE" <<'EOF'
# forcetls e2e: a minimal valid configuration
socket = "inet:10025@127.0.0.1";
default_action = "reject";
min_tls_version = "TLSv1.2";
inbound = (
  { name = "alpha"; sender_domains = [ "alpha.example" ]; sender_ips = [ "192.0.2.0/24" ]; },
  { name = "beta"; sender_domains = [ "beta.example" ]; require_tls = true; }
);
EOF
check_conf "-n accepts the minimal base configuration" "$BASE" 0

# broken NAME LINE TEXT: a copy of the base with line LINE replaced by TEXT.
broken() {
    local out=$E2E_DIR/$1.conf
    awk -v n="$2" -v t="$3" 'NR == n { print t; next } { print }' "$BASE" >"$out"
    echo "$out"
}

ALPHA='  { name = "alpha"; sender_domains = [ "alpha.example" ];'
BETA='  { name = "beta"; sender_domains = [ "beta.example" ];'
check_conf "-n rejects an unknown key with FILE:LINE:" \
    "$(broken unknown-key 3 'default_actoin = "reject";')" 1 3
check_conf "-n rejects a bad CIDR with FILE:LINE:" \
    "$(broken bad-cidr 6 "$ALPHA"' sender_ips = [ "192.0.2.0/33" ]; },')" 1 6
check_conf "-n rejects a duplicate connector name with FILE:LINE:" \
    "$(broken dup-name 7 "${BETA/beta\"/alpha\"}"' require_tls = true; }')" 1 7
check_conf "-n rejects an unknown TLS version with FILE:LINE:" \
    "$(broken bad-tls 4 'min_tls_version = "TLSv1.4";')" 1 4
check_conf "-n rejects a wrong type with FILE:LINE:" \
    "$(broken bad-type 7 "$BETA"' require_tls = "yes"; }')" 1 7
check_conf "-n rejects the same domain in two connectors with FILE:LINE:" \
    "$(broken dup-domain 7 "${BETA/beta.example/ALPHA.example.}"' require_tls = true; }')" 1 7
check_conf "-n rejects a syntax error with FILE:LINE:" \
    "$(broken syntax 3 'default_action = = "reject";')" 1 3

# --- Postfix and the daemon on a copy of the shipped configuration ----------

alloc_port SMTP_PORT
alloc_port MILTER_PORT
make_pki
start_postfix

# The copy: pidfile and user point into the test (the daemon runs as root).
CONF=$E2E_DIR/forcetls.conf
PIDFILE=$E2E_DIR/forcetls.pid
grep -Ev '^[[:space:]]*(pidfile|user)[[:space:]]*=' "$SHIPPED" >"$CONF"
printf '\npidfile = "%s";\n' "$PIDFILE" >>"$CONF"
cp "$CONF" "$CONF.good"
start_milter "$CONF"
PARENT=$MILTER_PID

wait_line "$PIDFILE" . 5
is "$(tr -d ' \n' <"$PIDFILE" 2>/dev/null)" "$PARENT" "pidfile holds the supervisor (parent) PID"
WORKER=$(milter_children)
like "$WORKER" '^[0-9]+$' "the supervisor has exactly one worker child"

# --- TLS facts seen by the milter -------------------------------------------------

# facts DESC NAME RCPT KEY=VALUE...: RCPT was accepted (250) and its debug line
# carries every KEY=VALUE.
facts() {
    local desc=$1 name=$2 rcpt=$3 got problems=()
    shift 3
    got=$(rcpt_code "$name")
    [ "$got" = "250 2.1.5" ] || problems+=("got RCPT reply '$(rcpt_reply "$name")', want 250 2.1.5")
    check_debug "$rcpt" "$@" || problems+=("${DEBUG_PROBLEMS[@]}")
    if [ ${#problems[@]} -eq 0 ]; then pass "$desc"
    else fail "$desc" "${problems[@]}" "line: $DEBUG_LINE"; fi
}

TLS13=(tls=TLSv1.3 cipher=TLS_AES_256_GCM_SHA384 bits=256 fs=yes)

smtp plain --from alice@unrelated.example --to f1@example.org
facts "plaintext: accepted, tls=none" plain f1@example.org \
    mta=postfix client=127.0.0.1 sender='<alice@unrelated.example>' rcpt='<f1@example.org>' \
    tls=none cipher=none bits=0 fs=no cert=none
like "$(data_reply plain)" '^250 2\.0\.0 Ok: queued as ' "plaintext: full delivery queued"

smtp nocert --tls --from alice@unrelated.example --to f2@example.org
facts "TLS without a certificate: accepted, TLSv1.3, cert=none" nocert f2@example.org \
    "${TLS13[@]}" cert=none issuer=none
like "$(data_reply nocert)" '^250 2\.0\.0 Ok: queued as ' "TLS: full delivery queued"

smtp trusted --tls $(ccert partner) --from alice@unrelated.example --to f3@example.org \
    --quit-after RCPT
facts "trusted client certificate: cert and issuer CN" trusted f3@example.org \
    "${TLS13[@]}" cert=mail.contoso.example issuer="Contoso Demo Root CA"

smtp trusted2 --tls $(ccert partner2) --from alice@unrelated.example --to f4@example.org \
    --quit-after RCPT
facts "certificate from the second trusted CA: cert and issuer CN" trusted2 f4@example.org \
    "${TLS13[@]}" cert=mail2.contoso.example issuer="Contoso Demo Root CA 2"

smtp rogue --tls $(ccert roguecert) --from alice@unrelated.example --to f5@example.org \
    --quit-after RCPT
facts "certificate from an untrusted CA with the trusted CA's name: cert=none" rogue \
    f5@example.org "${TLS13[@]}" cert=none issuer=none

smtp other --tls $(ccert other) --from alice@unrelated.example --to f6@example.org \
    --quit-after RCPT
facts "trusted certificate with another CN: that CN" other f6@example.org \
    cert=other.contoso.example issuer="Contoso Demo Root CA"

smtp nofs --tls --tls-protocol tlsv1_2 --tls-cipher AES256-SHA \
    --from alice@unrelated.example --to f7@example.org --quit-after RCPT
facts "TLS 1.2 AES256-SHA: fs=no" nofs f7@example.org \
    tls=TLSv1.2 cipher=AES256-SHA bits=256 fs=no cert=none

smtp ecdhe --tls --tls-protocol tlsv1_2 --tls-cipher ECDHE-RSA-AES128-GCM-SHA256 \
    $(ccert partner) --from alice@unrelated.example --to f8@example.org --quit-after RCPT
facts "TLS 1.2 ECDHE-RSA-AES128-GCM-SHA256: bits=128 fs=yes" ecdhe f8@example.org \
    tls=TLSv1.2 cipher=ECDHE-RSA-AES128-GCM-SHA256 bits=128 fs=yes cert=mail.contoso.example

smtp ip2 --local-interface 127.0.0.2 --from alice@unrelated.example --to f9@example.org \
    --quit-after RCPT
facts "client address 127.0.0.2 is seen" ip2 f9@example.org client=127.0.0.2 tls=none

smtp nullsender --from '<>' --to f10@example.org --quit-after RCPT
facts "null sender is logged as <>" nullsender f10@example.org sender='<>'

# openssl s_client sends MAIL straight after the handshake, with no second
# EHLO: the TLS macros must still be fresh at MAIL and RCPT.
printf 'MAIL FROM:<alice@unrelated.example>\r\nRCPT TO:<f11@example.org>\r\nQUIT\r\n' |
    timeout 30 openssl s_client -quiet -starttls smtp -connect "127.0.0.1:$SMTP_PORT" \
        -cert "$PKI/partner.crt" -key "$PKI/partner.key" \
        >"$E2E_DIR/smtp/sclient.out" 2>"$E2E_DIR/smtp/sclient.err"
# Replies after the handshake: MAIL, RCPT, QUIT. Make the RCPT reply look
# like a swaks transcript so that the usual helpers apply.
tr -d '\r' <"$E2E_DIR/smtp/sclient.out" |
    awk 'NR == 2 { print " -> RCPT TO:<f11@example.org>"; print "<-  " $0 }' \
    >"$E2E_DIR/smtp/sclient2.out"
facts "no EHLO after STARTTLS (s_client): still tls=TLSv1.3 and the cert" sclient2 \
    f11@example.org "${TLS13[@]}" cert=mail.contoso.example issuer="Contoso Demo Root CA"

# --- reload ---------------------------------------------------------------------------

if signal_reload HUP "$PARENT"; then
    is "$(grep -Eo -- "$RELOAD_OK" "$MILTER_LOG" | tail -n 1)" "reload ok inbound=1 outbound=1" \
        "SIGHUP: reload ok inbound=1 outbound=1"
else
    fail "SIGHUP: reload ok inbound=1 outbound=1" "no new reload line in 5 s"
fi

ok "SIGUSR1 also reloads" signal_reload USR1 "$PARENT"

# Break the configuration: an unknown key on a known line.
printf 'bogus_key = 1;\n' >>"$CONF"
BAD_LINE=$(wc -l <"$CONF")
kill -HUP "$PARENT"
if wait_milter_log 'reload failed: '; then
    like "$(grep -F 'reload failed: ' "$MILTER_LOG" | tail -n 1)" \
        "reload failed: $CONF:$BAD_LINE: .*; keeping previous configuration\$" \
        "bad configuration: reload failed: FILE:LINE: ...; keeping previous configuration"
else
    fail "bad configuration: reload failed: FILE:LINE: ...; keeping previous configuration" \
        "no 'reload failed' line in 5 s"
fi
ok "after a failed reload the supervisor is alive" pid_alive "$PARENT"
smtp afterbad --tls $(ccert partner) --from alice@unrelated.example --to f12@example.org \
    --quit-after RCPT
facts "after a failed reload the daemon still serves" afterbad f12@example.org \
    "${TLS13[@]}" cert=mail.contoso.example

cp "$CONF.good" "$CONF"
ok "the repaired configuration reloads" signal_reload HUP "$PARENT"

# --- the 200-SIGHUP storm under SMTP load ----------------------------------------

SESSIONS=30
WORKER_BEFORE=$(milter_children)
FAILED_BEFORE=$(count 'reload failed')
OK_BEFORE=$(count "$RELOAD_OK")
storm_start=$EPOCHREALTIME
(
    for ((i = 0; i < 200; i++)); do
        kill -HUP "$PARENT" 2>/dev/null || exit 1
        sleep 0.005
    done
) &
STORM=$!
track_pid "$STORM"
spids=()
for ((i = 1; i <= SESSIONS; i++)); do
    case $((i % 3)) in
    0) smtp "storm$i" --from alice@unrelated.example --to "s$i@example.org" & ;;
    1) smtp "storm$i" --tls --from alice@unrelated.example --to "s$i@example.org" \
           --quit-after RCPT & ;;
    2) smtp "storm$i" --tls $(ccert partner) --from alice@unrelated.example \
           --to "s$i@example.org" --quit-after RCPT & ;;
    esac
    spids+=($!)
    track_pid $!
    [ $((i % 10)) -eq 0 ] && sleep 0.3
done
wait "$STORM"
is "$?" 0 "200 SIGHUPs delivered to the supervisor"
storm_end=$EPOCHREALTIME
for p in "${spids[@]}"; do wait "$p"; done
diag "$(awk -v a="$storm_start" -v b="$storm_end" -v c="$EPOCHREALTIME" \
    'BEGIN { printf "SIGHUPs sent in %.2f s; sessions done after %.2f s", b - a, c - a }')"

answered=0 accepted=0 bad=()
for ((i = 1; i <= SESSIONS; i++)); do
    r=$(rcpt_reply "storm$i")
    [ -n "$r" ] && answered=$((answered + 1))
    if [[ $r == "250 "* ]]; then accepted=$((accepted + 1))
    else bad+=("session $i: RCPT reply '$r'"); fi
done
is "$answered" "$SESSIONS" "storm: every SMTP session got an RCPT answer"
if [ "$accepted" -eq "$SESSIONS" ]; then
    pass "storm: every recipient accepted with 250 (no 451)"
else
    fail "storm: every recipient accepted with 250 (no 451)" "got $accepted, want $SESSIONS" \
        "${bad[@]}"
fi
ok "storm: the same supervisor PID is alive" pid_alive "$PARENT"
WORKER_AFTER=$(milter_children)
like "$WORKER_AFTER" '^[0-9]+$' "storm: one worker child is alive"
diag "worker before the storm: $WORKER_BEFORE, after: $WORKER_AFTER" \
    "reload ok lines during the storm: $(( $(count "$RELOAD_OK") - OK_BEFORE ))"
is "$(count 'reload failed')" "$FAILED_BEFORE" "storm: no failed reload"
# The point of the storm: sessions decided between the first and the last
# reload of the storm.
lines=$(grep -nE -- "$RELOAD_OK" "$MILTER_LOG" | cut -d: -f1)
first=$(sed -n "$((OK_BEFORE + 1))p" <<<"$lines")
last=$(tail -n 1 <<<"$lines")
inside=0
[ -n "$first" ] && inside=$(sed -n "${first},${last}p" "$MILTER_LOG" |
    grep -o 'rcpt=<s[0-9]*@' | sort -u | wc -l)
diag "storm sessions decided while reloads were going on: $inside of $SESSIONS"
like "$inside" '^[1-9]' "storm: sessions overlapped the reloads"
unlike "$(grep -E 'ended unexpectedly|failed to start' "$MILTER_LOG" | tail -n 1)" . \
    "storm: the worker never died"

smtp final --tls $(ccert partner) --from alice@unrelated.example --to f13@example.org
facts "after the storm a session works" final f13@example.org "${TLS13[@]}"
like "$(data_reply final)" '^250 2\.0\.0 Ok: queued as ' "after the storm: full delivery"

# --- the worker dies: the supervisor restarts it --------------------------------

OLD_WORKER=$(milter_children)
served=$(grep -c 'serving on' "$MILTER_LOG")
kill -KILL "$OLD_WORKER"
if wait_milter_log "worker $OLD_WORKER ended unexpectedly \(signal 9\); restarting in [01] s" 5; then
    pass "a killed worker is noticed and its restart scheduled"
else
    fail "a killed worker is noticed and its restart scheduled" "$(tail -n 5 "$MILTER_LOG")"
fi
for ((i = 0; i < 100; i++)); do
    [ "$(grep -c 'serving on' "$MILTER_LOG")" -gt "$served" ] && break
    sleep 0.05
done
NEW_WORKER=$(milter_children)
ok "a new worker serves after the restart" test -n "$NEW_WORKER" -a "$NEW_WORKER" != "$OLD_WORKER"
ok "the supervisor is the same process" pid_alive "$PARENT"
smtp restarted --from alice@unrelated.example --to f16@example.org
facts "the restarted worker answers and sees the session" restarted f16@example.org \
    mta=postfix rcpt='<f16@example.org>' tls=none

# --- SIGTERM ------------------------------------------------------------------------

# A session in flight when SIGTERM arrives must still be served. Postfix
# opens its milter connection lazily (at the first RCPT here, since the
# milter asks for no reply at CONNECT and MAIL), so the session is "in
# flight" for the milter once one recipient has been decided.
WORKER=$(milter_children)
smtp_open && smtp_cmd "EHLO slow.example" && smtp_cmd "MAIL FROM:<alice@unrelated.example>"
like "$SMTP_LINE" '^250 ' "in-flight session: MAIL accepted before SIGTERM"
smtp_cmd "RCPT TO:<f14@example.org>"
is "$(awk '{ print $1, $2 }' <<<"$SMTP_LINE")" "250 2.1.5" \
    "in-flight session: first RCPT (milter connected) before SIGTERM"
start=$SECONDS
kill -TERM "$PARENT"
wait_milter_log 'stopping: waiting up to' 5 >/dev/null
smtp_cmd "RCPT TO:<f15@example.org>"
is "$(awk '{ print $1, $2 }' <<<"$SMTP_LINE")" "250 2.1.5" \
    "in-flight session: RCPT after SIGTERM is still answered 250"
smtp_cmd QUIT
smtp_close
if wait_gone "$PARENT" 10; then
    wait "$PARENT"
    rc=$?
    pass "SIGTERM: the supervisor exits within 10 s"
    diag "supervisor exit status $rc after $((SECONDS - start)) s"
    MILTER_PID=
else
    fail "SIGTERM: the supervisor exits within 10 s"
fi
left=
for w in $WORKER; do pid_alive "$w" && left="$left $w"; done
is "$left" "" "SIGTERM: no worker left"
ok "SIGTERM: the milter socket is closed" eval '! port_open "$MILTER_PORT"'

# Postfix must fail closed without the milter (milter_default_action=tempfail).
smtp down --from alice@unrelated.example --to f14@example.org --quit-after RCPT
r=$(awk '/^<[-~*]+ +451 /{ sub(/^<[-~*]+ +/, ""); print; exit }' "$E2E_DIR/smtp/down.out")
like "$r" '^451 4\.7\.1 ' "milter down: Postfix answers 451 4.7.1 (fails closed)"

unlike "$(grep -E 'AddressSanitizer|LeakSanitizer|ThreadSanitizer|runtime error:' \
    "$MILTER_LOG" | head -n 3)" . "no sanitizer report in the milter log"

done_testing
