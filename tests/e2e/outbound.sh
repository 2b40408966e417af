#!/bin/sh
# outbound.sh - outbound connectors end to end: a "gateway" Postfix whose
# smtp_tls_policy_maps and transport_maps are the milter's policy socket
# (socketmap), relaying to a "partner" Postfix on loopback whose listeners
# offer no STARTTLS, the right certificate, a certificate with another name,
# an untrusted certificate, or no TLS 1.3. Checks the gateway's delivery
# status (sent or deferred), what reached the partner, the lookups Postfix
# made (by next hop), a reload on SIGHUP that changes the next delivery with
# nothing restarted, the -P tables line by line and against postmap, and the
# socketmap protocol (pipelining, malformed requests). A recipient domain
# and another connector's smart host that are one lookup key ("localhost",
# resolved from /etc/hosts as DNS is off, port PC as smtp_tcp_port) must
# get the stricter policy of the two: Postfix defers what only meets the
# weaker one. So must a relay: a weak connector routing a name below
# "*.fabrikam.example" through its smart host gets, for that next hop (the
# only key Postfix asks then), fabrikam's domain validation. TAP output.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_prereqs
e2e_init

# lib.sh runs one Postfix instance; this test runs two. Local helpers start
# and stop them by PID, and the EXIT trap stops them before lib.sh cleans up.
instance_pids=()
stop_instances() {
    local pid
    for pid in "${instance_pids[@]}"; do
        PF_MASTER_PID=$pid
        stop_postfix
    done
    instance_pids=()
}
outbound_cleanup() {
    local rc=$?
    stop_instances
    (exit "$rc")
    e2e_cleanup
}
trap outbound_cleanup EXIT

# start_instance NAME PORT SETTING...: a Postfix instance in $E2E_DIR/NAME
# from lib.sh's configuration, changed by each "name = value" SETTING (with
# postconf -e, so no entry is duplicated), $EXTRA_MASTER added to master.cf.
start_instance() {
    local name=$1 port=$2 pid
    PF_DIR=$E2E_DIR/$name SMTP_PORT=$port PF_MILTERS= PF_EXTRA_MAIN=
    shift 2
    mkdir -p "$PF_DIR/conf" "$PF_DIR/queue" "$PF_DIR/data"
    chown postfix "$PF_DIR/data"
    : >"$PF_DIR/maillog"
    postfix_write_conf
    postconf -c "$PF_DIR/conf" -e "$@" || bail_out "postconf -e failed for $name"
    printf '%s\n' "$EXTRA_MASTER" >>"$PF_DIR/conf/master.cf"
    if ! postfix -c "$PF_DIR/conf" start >"$PF_DIR/start.log" 2>&1; then
        diag "$(cat "$PF_DIR/start.log")" "$(tail -n 20 "$PF_DIR/maillog")"
        bail_out "postfix $name did not start"
    fi
    pid=$(tr -d ' \n' <"$PF_DIR/queue/pid/master.pid" 2>/dev/null)
    [ -n "$pid" ] || bail_out "no master pid for postfix $name"
    instance_pids+=("$pid")
    wait_port "$port" 10 || bail_out "postfix $name does not listen on 127.0.0.1:$port"
    printf -v "${name^^}_MASTER" '%s' "$pid"
}

alloc_port GW_PORT
alloc_port MILTER_PORT
alloc_port POLICY_PORT
for p in PA PB PC PD PE PF PG DEAD; do alloc_port "$p"; done   # nothing listens on DEAD
make_pki
# Partner server certificates (no SAN: Postfix matches the CN).
pki_cert fabsrv lab "/O=Fabrikam/CN=mx.fabrikam.example" v3_client rsa
pki_cert othersrv lab "/O=Other/CN=mx.other.example" v3_client rsa
pki_cert roguesrv rogue "/O=Rogue/CN=mx.rogue.example" v3_client rsa
chmod 644 "$PKI"/*.key

# --- the partner: one instance, one listener per behaviour ----------------------

# listener PORT NAME OPTIONS...: an smtpd on PORT logging as postfix-NAME.
listener() {
    local port=$1 name=$2; shift 2
    printf '127.0.0.1:%s inet n - n - - smtpd -o syslog_name=postfix-%s' "$port" "$name"
    printf ' -o %s' "$@"
    printf '\n'
}
EXTRA_MASTER=$(
    listener "$PB" pb smtpd_tls_security_level=none
    listener "$PC" pc "smtpd_tls_cert_file=$PKI/othersrv.crt" "smtpd_tls_key_file=$PKI/othersrv.key"
    listener "$PD" pd "smtpd_tls_cert_file=$PKI/roguesrv.crt" "smtpd_tls_key_file=$PKI/roguesrv.key"
    listener "$PE" pe "smtpd_tls_cert_file=$PKI/othersrv.crt" "smtpd_tls_key_file=$PKI/othersrv.key" \
        'smtpd_tls_protocols=!TLSv1.3'
    listener "$PF" pf "smtpd_tls_cert_file=$PKI/othersrv.crt" "smtpd_tls_key_file=$PKI/othersrv.key"
    listener "$PG" pg "smtpd_tls_cert_file=$PKI/othersrv.crt" "smtpd_tls_key_file=$PKI/othersrv.key"
)
# The first listener (lib.sh's) is port PA with the right certificate.
start_instance partner "$PA" "myhostname = partner.example" "syslog_name = postfix-pa" \
    "smtpd_tls_cert_file = $PKI/fabsrv.crt" "smtpd_tls_key_file = $PKI/fabsrv.key"
PARTNER_LOG=$E2E_DIR/partner/maillog

# --- the gateway: policy and routing from the milter's socketmap ---------------

# smtp(8) keeps a TLS policy for one delivery only (smtp_state_free), so
# the next delivery after a reload asks the socketmap again.
EXTRA_MASTER="smtp      unix  -       -       n       -       -       smtp"
start_instance gw "$GW_PORT" "myhostname = gw.example.org" "syslog_name = postfix-gw" \
    "default_transport = smtp" "relay_transport = smtp" \
    "transport_maps = socketmap:inet:127.0.0.1:$POLICY_PORT:transport" \
    "smtp_tls_policy_maps = socketmap:inet:127.0.0.1:$POLICY_PORT:tlspolicy" \
    "smtp_tls_security_level = may" "smtp_tls_CAfile = $PKI/trusted-cas.pem" \
    "smtp_tls_loglevel = 1" "smtp_connection_cache_on_demand = no" \
    "smtp_tcp_port = $PC"
GW_LOG=$E2E_DIR/gw/maillog

CONF=$E2E_DIR/outbound.conf
write_conf() {   # write_conf MISMATCH_TLS_DOMAIN UNTRUSTED_SETTINGS
    cat >"$CONF" <<EOF
# forcetls e2e: outbound connectors
socket = "inet:$MILTER_PORT@127.0.0.1";
policy_socket = "inet:$POLICY_PORT@127.0.0.1";
min_tls_version = "TLSv1.2";
outbound = (
  { name = "fabrikam"; recipient_domains = [ "fabrikam.example", "*.fabrikam.example" ];
    tls_settings = "domain-validation"; tls_domain = "mx.fabrikam.example";
    smart_hosts = [ "[127.0.0.1]:$PA" ]; },
  { name = "plain"; recipient_domains = [ "plain.example" ];
    tls_settings = "encryption-only"; smart_hosts = [ "[127.0.0.1]:$PB" ]; },
  { name = "mismatch"; recipient_domains = [ "wrongname.example" ];
    tls_settings = "domain-validation"; tls_domain = "$1";
    smart_hosts = [ "[127.0.0.1]:$PC" ]; },
  { name = "untrusted"; recipient_domains = [ "untrusted.example" ];
    tls_settings = "$2"; smart_hosts = [ "[127.0.0.1]:$PD" ]; },
  { name = "tls13"; recipient_domains = [ "tls13.example" ];
    tls_settings = "encryption-only"; min_tls_version = "TLSv1.3";
    smart_hosts = [ "[127.0.0.1]:$PE" ]; },
  { name = "chain"; recipient_domains = [ "chain.example" ];
    tls_settings = "certificate-validation"; smart_hosts = [ "[127.0.0.1]:$PF" ]; },
  { name = "fallback"; recipient_domains = [ "fallback.example" ];
    tls_settings = "domain-validation"; tls_domain = "mx.fabrikam.example";
    smart_hosts = [ "[127.0.0.1]:$DEAD", "[127.0.0.1]:$PA" ]; },
  { name = "mxrouted"; recipient_domains = [ "mx.example" ];
    tls_settings = "certificate-validation"; },
  { name = "strictlocal"; recipient_domains = [ "localhost" ];
    tls_settings = "domain-validation"; tls_domain = "mx.fabrikam.example"; },
  { name = "weakrelay"; recipient_domains = [ "weakrelay.example" ];
    tls_settings = "encryption-only"; smart_hosts = [ "localhost" ]; },
  { name = "subrelay"; recipient_domains = [ "sub2.fabrikam.example" ];
    tls_settings = "encryption-only"; min_tls_version = "TLSv1";
    smart_hosts = [ "[127.0.0.1]:$PG" ]; }
);
EOF
}
write_conf mx.wrongname.example encryption-only
"$FORCETLS_MILTER" -n -c "$CONF" >"$E2E_DIR/check.out" 2>&1 ||
    bail_out "test configuration rejected: $(cat "$E2E_DIR/check.out")"
start_milter "$CONF"
wait_port "$POLICY_PORT" 10 || bail_out "no policy service on 127.0.0.1:$POLICY_PORT"
MILTER_WORKER=$(milter_children)

# --- deliveries ----------------------------------------------------------------------

# send NAME RCPT: submit one message to the gateway; prints nothing.
send() {
    swaks --server "127.0.0.1:$GW_PORT" --helo client.example --timeout 30 \
        --from sender@example.org --to "$2" >"$E2E_DIR/smtp/$1.out" 2>&1
}

# status_of RCPT [N]: the status= word of the Nth gateway delivery line for RCPT.
status_of() {
    grep -F "postfix-gw/smtp[" "$GW_LOG" | grep -F " to=<$1>" |
        sed -n "${2:-1}s/.* status=\([a-z]*\).*/\1/p"
}

# wait_status RCPT [N]: wait (30 s) for the Nth delivery attempt for RCPT.
wait_status() {
    local i
    for ((i = 0; i < 600; i++)); do
        [ -n "$(status_of "$1" "${2:-1}")" ] && return 0
        sleep 0.05
    done
    return 1
}

# delivery_line RCPT [N]: the Nth gateway delivery line for RCPT.
delivery_line() {
    grep -F "postfix-gw/smtp[" "$GW_LOG" | grep -F " to=<$1>" | sed -n "${2:-1}p"
}

# expect DESC RCPT STATUS ERE [N]: the Nth attempt for RCPT ended with STATUS and
# its line matches ERE; for "sent" the partner logged the recipient, otherwise not.
expect() {
    local desc=$1 rcpt=$2 want=$3 re=$4 n=${5:-1} line got problems=()
    wait_status "$rcpt" "$n" || problems+=("no delivery attempt for <$rcpt> in 30 s")
    line=$(delivery_line "$rcpt" "$n")
    got=$(status_of "$rcpt" "$n")
    [ "$got" = "$want" ] || problems+=("got status=$got, want status=$want")
    [[ $line =~ $re ]] || problems+=("got line: $line" "want match of /$re/")
    if [ "$want" = sent ]; then
        wait_line "$PARTNER_LOG" " to=<$rcpt>.*status=sent" 10 ||
            problems+=("the partner did not receive <$rcpt>")
    elif grep -qF " to=<$rcpt>" "$PARTNER_LOG"; then
        problems+=("the partner received <$rcpt>, want nothing delivered")
    fi
    if [ ${#problems[@]} -eq 0 ]; then pass "$desc"; else fail "$desc" "${problems[@]}"; fi
}

send a user@fabrikam.example
expect "(a) domain-validation, right certificate: sent over verified TLS" \
    user@fabrikam.example sent "relay=127\.0\.0\.1\[127\.0\.0\.1\]:$PA, .*status=sent"
like "$(grep -F "Verified TLS connection established to 127.0.0.1[127.0.0.1]:$PA" "$GW_LOG" | head -n 1)" \
    'TLSv1\.[23] ' "(a) the gateway logged a verified TLS connection"

send b user@plain.example
expect "(b) partner without STARTTLS: deferred, nothing delivered" \
    user@plain.example deferred "status=deferred \(TLS is required, but was not offered"

send c user@wrongname.example
expect "(c) domain-validation, certificate name mismatch: deferred" \
    user@wrongname.example deferred "status=deferred \(Server certificate not verified\)"

send e user@untrusted.example
expect "(e) encryption-only, untrusted certificate: sent" \
    user@untrusted.example sent "relay=127\.0\.0\.1\[127\.0\.0\.1\]:$PD, .*status=sent"
like "$(grep -F "TLS connection established to 127.0.0.1[127.0.0.1]:$PD" "$GW_LOG" | head -n 1)" \
    'Untrusted TLS connection' "(e) the gateway logged an untrusted TLS connection"

send f user@tls13.example
expect "(f) min_tls_version TLSv1.3, partner without TLS 1.3: deferred" \
    user@tls13.example deferred "status=deferred \(Cannot start TLS: handshake failure"

send g user@sub.fabrikam.example
expect "(g) *.fabrikam.example routes a subdomain to the smart host: sent" \
    user@sub.fabrikam.example sent "relay=127\.0\.0\.1\[127\.0\.0\.1\]:$PA, .*status=sent"

# Postfix's "verify" also matches the server name (smtp_tls_verify_cert_match,
# default "hostname"): a smart host given as an IP address never matches, so
# certificate-validation is stricter than a chain check there.
send h user@chain.example
expect "(h) certificate-validation, trusted certificate, IP smart host: deferred (name check)" \
    user@chain.example deferred "status=deferred \(Server certificate not verified\)"

# transport answers a list of next hops (Postfix 3.5 and later).
send i user@fallback.example
expect "(i) two smart hosts, the first down: sent to the second" \
    user@fallback.example sent "relay=127\.0\.0\.1\[127\.0\.0\.1\]:$PA, .*status=sent"

# One key, two connectors: "localhost" is strictlocal's recipient domain and
# weakrelay's smart host. The listener on $PC has a trusted certificate for
# mx.other.example, enough for weakrelay's encryption-only, not for
# strictlocal's domain validation; the key must carry the stricter policy.
send j user@localhost
expect "(j) recipient domain = another connector's smart host: the stricter policy, deferred" \
    user@localhost deferred "status=deferred \(Server certificate not verified\)"
send k user@weakrelay.example
expect "(k) mail of the weaker connector through that next hop: the stricter policy too" \
    user@weakrelay.example deferred "status=deferred \(Server certificate not verified\)"
ok "(j) Postfix asked the TLS policy of the next hop localhost and got the stricter one" \
    grep -qF 'policy request="tlspolicy localhost" reply="OK secure match=mx.fabrikam.example protocols=>=TLSv1.2"' "$MILTER_LOG"

# A relay: subrelay (encryption-only, TLSv1) routes sub2.fabrikam.example,
# which fabrikam's "*.fabrikam.example" covers (domain-validation), through
# [127.0.0.1]:PG, whose trusted certificate names mx.other.example. Postfix
# asks the TLS policy of that next hop only: it must be fabrikam's.
send l user@sub2.fabrikam.example
expect "(l) recipient under a domain-validation pattern, routed through a weaker connector's relay: deferred" \
    user@sub2.fabrikam.example deferred "status=deferred \(Server certificate not verified\)"
ok "(l) Postfix routed it to the relay and asked the relay's policy: fabrikam's" \
    grep -qF "policy request=\"tlspolicy [127.0.0.1]:$PG\" reply=\"OK secure match=mx.fabrikam.example protocols=>=TLSv1.2\"" "$MILTER_LOG"

# What Postfix asked: transport by full address, TLS policy by next hop.
ok "Postfix looked up the transport by full address" \
    grep -qF 'policy request="transport user@fabrikam.example" reply="OK smtp:[127.0.0.1]:'"$PA"'"' "$MILTER_LOG"
ok "Postfix looked up the TLS policy by next hop [127.0.0.1]:PORT" \
    grep -qF "policy request=\"tlspolicy [127.0.0.1]:$PA\" reply=\"OK secure match=mx.fabrikam.example protocols=>=TLSv1.2\"" "$MILTER_LOG"

# --- (d) reload: the next delivery follows the new policy --------------------------

QID_C=$(delivery_line user@wrongname.example | sed -n 's/.*postfix-gw\/smtp\[[0-9]*\]: \([0-9A-F]*\): .*/\1/p')
like "$QID_C" '^[0-9A-F]+$' "(d) queue id of the deferred message"
n=$(grep -c 'reload ok' "$MILTER_LOG")
write_conf mx.other.example certificate-validation
kill -HUP "$MILTER_PID"
for ((i = 0; i < 100; i++)); do
    [ "$(grep -c 'reload ok' "$MILTER_LOG")" -gt "$n" ] && break
    sleep 0.05
done
is "$(grep -Eo 'reload ok inbound=[0-9]+ outbound=[0-9]+' "$MILTER_LOG" | tail -n 1)" \
    "reload ok inbound=0 outbound=11" "(d) SIGHUP: reload ok"
postqueue -c "$E2E_DIR/gw/conf" -i "$QID_C"
expect "(d) after the reload the deferred message goes out (tls_domain fixed)" \
    user@wrongname.example sent "relay=127\.0\.0\.1\[127\.0\.0\.1\]:$PC, .*status=sent" 2
send e2 user2@untrusted.example
expect "(d) after the reload an untrusted certificate is refused (now certificate-validation)" \
    user2@untrusted.example deferred "status=deferred \(Server certificate not verified\)"
ok "(d) the milter was not restarted" pid_alive "$MILTER_PID"
is "$(milter_children)" "$MILTER_WORKER" "(d) the same worker serves the policy socket"
is "$(tr -d ' \n' <"$E2E_DIR/gw/queue/pid/master.pid")" "$GW_MASTER" \
    "(d) the gateway Postfix was not restarted"

# --- -P tables -----------------------------------------------------------------------

# table_is DESC TABLE WANT: -P TABLE output equals WANT, line by line.
table_is() {
    local got
    got=$("$FORCETLS_MILTER" -c "$CONF" -P "$2" 2>&1)
    if [ "$got" = "$3" ]; then
        pass "$1"
    else
        fail "$1" "$(diff <(printf '%s\n' "$3") <(printf '%s\n' "$got"))"
    fi
}
T=$'\t'
table_is "-P postfix-tls-policy" postfix-tls-policy "\
# postfix-tls-policy generated by forcetls-milter from $CONF; do not edit
# outbound connector fabrikam
fabrikam.example${T}secure match=mx.fabrikam.example protocols=>=TLSv1.2
.fabrikam.example${T}secure match=mx.fabrikam.example protocols=>=TLSv1.2
[127.0.0.1]:$PA${T}secure match=mx.fabrikam.example protocols=>=TLSv1.2
# outbound connector plain
plain.example${T}encrypt protocols=>=TLSv1.2
[127.0.0.1]:$PB${T}encrypt protocols=>=TLSv1.2
# outbound connector mismatch
wrongname.example${T}secure match=mx.other.example protocols=>=TLSv1.2
[127.0.0.1]:$PC${T}secure match=mx.other.example protocols=>=TLSv1.2
# outbound connector untrusted
untrusted.example${T}verify protocols=>=TLSv1.2
[127.0.0.1]:$PD${T}verify protocols=>=TLSv1.2
# outbound connector tls13
tls13.example${T}encrypt protocols=>=TLSv1.3
[127.0.0.1]:$PE${T}encrypt protocols=>=TLSv1.3
# outbound connector chain
chain.example${T}verify protocols=>=TLSv1.2
[127.0.0.1]:$PF${T}verify protocols=>=TLSv1.2
# outbound connector fallback
fallback.example${T}secure match=mx.fabrikam.example protocols=>=TLSv1.2
[127.0.0.1]:$DEAD${T}secure match=mx.fabrikam.example protocols=>=TLSv1.2
# [127.0.0.1]:$PA: also listed by outbound connector fabrikam; its entry (the strictest of both) applies
# outbound connector mxrouted
mx.example${T}verify protocols=>=TLSv1.2
# outbound connector strictlocal
localhost${T}secure match=mx.fabrikam.example protocols=>=TLSv1.2
localhost:25${T}secure match=mx.fabrikam.example protocols=>=TLSv1.2
# outbound connector weakrelay
weakrelay.example${T}encrypt protocols=>=TLSv1.2
# localhost: also listed by outbound connector strictlocal; its entry (the strictest of both) applies
# outbound connector subrelay
sub2.fabrikam.example${T}secure match=mx.fabrikam.example protocols=>=TLSv1.2
[127.0.0.1]:$PG${T}secure match=mx.fabrikam.example protocols=>=TLSv1.2"
table_is "-P postfix-transport" postfix-transport "\
# postfix-transport generated by forcetls-milter from $CONF; do not edit
# outbound connector fabrikam
fabrikam.example${T}smtp:[127.0.0.1]:$PA
.fabrikam.example${T}smtp:[127.0.0.1]:$PA
# outbound connector plain
plain.example${T}smtp:[127.0.0.1]:$PB
# outbound connector mismatch
wrongname.example${T}smtp:[127.0.0.1]:$PC
# outbound connector untrusted
untrusted.example${T}smtp:[127.0.0.1]:$PD
# outbound connector tls13
tls13.example${T}smtp:[127.0.0.1]:$PE
# outbound connector chain
chain.example${T}smtp:[127.0.0.1]:$PF
# outbound connector fallback
fallback.example${T}smtp:[127.0.0.1]:$DEAD, [127.0.0.1]:$PA
# outbound connector mxrouted: no smart hosts
mx.example${T}:
# outbound connector strictlocal: no smart hosts
localhost${T}:
# outbound connector weakrelay
weakrelay.example${T}smtp:localhost
# outbound connector subrelay
sub2.fabrikam.example${T}smtp:[127.0.0.1]:$PG"
table_is "-P sendmail-access" sendmail-access "\
# sendmail-access generated by forcetls-milter from $CONF; do not edit
# Needs FEATURE(\`access_db'). Sendmail cannot require a minimum TLS version here,
# and a domain entry also covers the names below it. Smart hosts need mailertable entries.
# outbound connector fabrikam
TLS_Rcpt:fabrikam.example${T}VERIFY+CN:mx.fabrikam.example
# TLS_Srv:127.0.0.1: not expressible: its smart hosts need different certificate names, and Sendmail has one entry per server
# outbound connector plain
TLS_Rcpt:plain.example${T}ENCR:128
# outbound connector mismatch
TLS_Rcpt:wrongname.example${T}VERIFY+CN:mx.other.example
# outbound connector untrusted
TLS_Rcpt:untrusted.example${T}VERIFY
# outbound connector tls13
TLS_Rcpt:tls13.example${T}ENCR:128
# outbound connector chain
TLS_Rcpt:chain.example${T}VERIFY
# outbound connector fallback
TLS_Rcpt:fallback.example${T}VERIFY+CN:mx.fabrikam.example
# outbound connector mxrouted
TLS_Rcpt:mx.example${T}VERIFY
# outbound connector strictlocal
TLS_Rcpt:localhost${T}VERIFY+CN:mx.fabrikam.example
# outbound connector weakrelay
TLS_Rcpt:weakrelay.example${T}ENCR:128
TLS_Srv:localhost${T}VERIFY+CN:mx.fabrikam.example
# outbound connector subrelay
TLS_Rcpt:sub2.fabrikam.example${T}VERIFY+CN:mx.fabrikam.example"

# The postmap'd tables answer exactly as the socketmap does.
"$FORCETLS_MILTER" -c "$CONF" -P postfix-tls-policy >"$E2E_DIR/tls_policy"
"$FORCETLS_MILTER" -c "$CONF" -P postfix-transport >"$E2E_DIR/transport"
postmap -c "$E2E_DIR/gw/conf" "hash:$E2E_DIR/tls_policy" "hash:$E2E_DIR/transport"
mismatches=()
for key in fabrikam.example .fabrikam.example "[127.0.0.1]:$PA" "[127.0.0.1]:$PC" \
        tls13.example mx.example .mx.example other.example "[127.0.0.1]:$GW_PORT" \
        localhost localhost:25 "[127.0.0.1]:$PG" sub2.fabrikam.example; do
    a=$(postmap -c "$E2E_DIR/gw/conf" -q "$key" "hash:$E2E_DIR/tls_policy")
    b=$(postmap -c "$E2E_DIR/gw/conf" -q "$key" "socketmap:inet:127.0.0.1:$POLICY_PORT:tlspolicy")
    [ "$a" = "$b" ] || mismatches+=("tlspolicy $key: table '$a', socketmap '$b'")
done
for key in fabrikam.example .fabrikam.example plain.example mx.example other.example; do
    a=$(postmap -c "$E2E_DIR/gw/conf" -q "$key" "hash:$E2E_DIR/transport")
    # A null entry (":", change nothing) stops the table's .parent search;
    # the socketmap, a pattern table, answers NOTFOUND for the same.
    [ "$a" = ":" ] && a=
    b=$(postmap -c "$E2E_DIR/gw/conf" -q "$key" "socketmap:inet:127.0.0.1:$POLICY_PORT:transport")
    [ "$a" = "$b" ] || mismatches+=("transport $key: table '$a', socketmap '$b'")
done
if [ ${#mismatches[@]} -eq 0 ]; then
    pass "postmap'd -P tables and the socketmap give the same answers"
else
    fail "postmap'd -P tables and the socketmap give the same answers" "${mismatches[@]}"
fi

# --- the socketmap protocol ----------------------------------------------------------

# ns TEXT: TEXT as a netstring.
ns() { printf '%d:%s,' "${#1}" "$1"; }

# sockmap BYTES: send BYTES to the policy socket, print every byte received
# until EOF or 1 s of silence, and "<EOF>" if the server closed.
sockmap() {
    perl -MIO::Socket::INET -MIO::Select -e '
        my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$ARGV[0]") or die "connect: $!";
        $s->syswrite($ARGV[1]);
        my $sel = IO::Select->new($s); my $out = "";
        while ($sel->can_read(1)) {
            my $n = $s->sysread(my $buf, 65536);
            if (!$n) { $out .= "<EOF>"; last; }
            $out .= $buf;
        }
        print $out;' "$POLICY_PORT" "$1"
}
SECURE_FAB="OK secure match=mx.fabrikam.example protocols=>=TLSv1.2"
is "$(sockmap "$(ns 'tlspolicy fabrikam.example')$(ns 'transport a@fabrikam.example')$(ns 'tlspolicy other.example')")" \
    "$(ns "$SECURE_FAB")$(ns "OK smtp:[127.0.0.1]:$PA")$(ns 'NOTFOUND ')" \
    "socketmap: three pipelined requests, three replies in order, connection kept"
is "$(sockmap 'x:tlspolicy fabrikam.example,')" "$(ns 'PERM malformed netstring length')<EOF>" \
    "socketmap: a malformed netstring gets PERM and the connection is closed"
is "$(sockmap "$(ns tlspolicy)")" "$(ns 'PERM malformed request: want NAME KEY')<EOF>" \
    "socketmap: a request without a key gets PERM and the connection is closed"
is "$(sockmap '99999:')" "$(ns 'PERM netstring longer than the maximum')<EOF>" \
    "socketmap: an oversized netstring gets PERM and the connection is closed"
is "$(sockmap "$(ns 'access foo.com')$(ns 'tlspolicy fabrikam.example')")" \
    "$(ns 'PERM unknown map (served: tlspolicy, transport)')$(ns "$SECURE_FAB")" \
    "socketmap: an unknown map gets PERM and the connection goes on"
is "$(postmap -c "$E2E_DIR/gw/conf" -q fabrikam.example "socketmap:inet:127.0.0.1:$POLICY_PORT:tlspolicy")" \
    "secure match=mx.fabrikam.example protocols=>=TLSv1.2" "socketmap: still serving after bad clients"

unlike "$(grep -E 'AddressSanitizer|LeakSanitizer|ThreadSanitizer|runtime error:' \
    "$MILTER_LOG" | head -n 3)" . "no sanitizer report in the milter log"

done_testing
