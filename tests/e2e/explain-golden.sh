#!/bin/sh
# explain-golden.sh - the `forcetls explain` golden test (issue 10): real
# mails through a real Postfix and a real sendmail 8.17 (both on loopback at
# once, one milter under test), and for every decision line the daemon
# logged, `forcetls explain` run on the same configuration with the facts
# taken from that line (client, sender, rcpt, tls, cipher, cert, issuer):
# explain's last line must equal the daemon's line except for s= (s=explain).
# For a refusal, explain's "reply:" must be the reply the MTA gave (without
# sendmail's "<rcpt>... " prefix), and (when jq is installed) the "line" of
# the recipient in --json must be the same line. Each case is explained
# twice: with the cipher's bits left to explain (it derives them from the
# cipher name as the MTA would) and with bits= from the daemon's own debug
# line; both must give the daemon's line.
# The cases cover every reason the daemon logs: ok, exempt, no_tls,
# tls_version, weak_cipher, no_forward_secrecy, no_client_cert,
# cert_name_mismatch, cert_issuer_mismatch, ip_not_allowed,
# cert_not_yet_valid, cert_retired (windows with dates far in the past and
# future, so no case races a date); also a monitor action, a schedule's
# decision=monitor would=reject and decision=tempfail would=reject, the null
# sender, a quoted sender and a certificate CN with quotes and spaces (the
# escaped values read back and written again), several matching connectors
# (connectors=), and outbound require_session_tls (no_tls, tls_version and a
# scheduled would=reject). A last test point per MTA checks that every
# listed reason was seen.
# Out of scope: reason=internal (the daemon could not judge the recipient:
# no mail exists that explain could be asked about). TAP output.
# shellcheck disable=SC2046  # $(ccert NAME) expands to four swaks words
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/sendmail_lib.sh"

require_prereqs
require_sendmail_prereqs
# The tool: $FORCETLS_TOOL (make check sets it), else beside the daemon.
[ -n "${FORCETLS_TOOL:-}" ] || FORCETLS_TOOL=$(dirname "$FORCETLS_MILTER")/forcetls
[ -x "$FORCETLS_TOOL" ] || skip_all "forcetls (the tool) is not built: $FORCETLS_TOOL"
e2e_init
sendmail_install_cleanup
T0=$SECONDS

CA_A="Contoso Demo Root CA"
CA_B="Contoso Demo Root CA 2"
# shellcheck disable=SC2034  # read by make_pki
E2E_EXTRA_CERTS=(
    "adatum|lab|/O=Adatum/CN=mail.adatum.example"
    "nw_lab|lab|/O=Northwind/CN=mail.northwind.example"
    "rot_a|lab|/O=Rotate/CN=mail.rotate.example"
    "rot_b|ca2|/O=Rotate/CN=mail.rotate.example"
    "evil|lab|/O=Contoso/CN=mail.contoso.example\" decision=accept x=\""
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
    "set up in $((SECONDS - T0)) s; the tool: $FORCETLS_TOOL"

CONF=$E2E_DIR/golden.conf
cat >"$CONF" <<EOF
# forcetls e2e: explain golden cases
default_action = "reject";
min_tls_version = "TLSv1.2";
inbound = (
  { name = "contoso";
    sender_domains = [ "contoso.example" ];
    tls_sender_certificate_names = [ "mail.contoso.example" ];
    certificate_issuers = [ "$CA_A" ];
    require_forward_secrecy = true;
    action = "reject";
    exempt_recipients = [ "postmaster@example.org", "abuse@example.org" ];
  },
  { name = "woodgrove";
    sender_domains = [ "woodgrove.example" ];
    sender_ips = [ "127.0.0.3/32" ];
    action = "tempfail";
  },
  { name = "tailspin";
    sender_domains = [ "tailspin.example" ];
    action = "monitor";
  },
  { name = "litware";
    sender_ips = [ "127.0.0.2/32" ];
  },
  { name = "adatum";
    tls_sender_certificate_names = [ "mail.adatum.example" ];
    min_tls_version = "TLSv1.3";
  },
  { name = "fabrikam";
    sender_domains = [ "fabrikam.example" ];
    min_cipher_bits = 256;
  },
  { name = "northwind";
    sender_domains = [ "northwind.example" ];
    tls_sender_certificate_names = [ "*.northwind.example" ];
    certificate_issuers = [ "$CA_B" ];
  },
  { name = "rotate";
    sender_domains = [ "rotate.example" ];
    certificates = (
      { names = [ "mail.rotate.example" ]; issuers = [ "$CA_A" ]; valid_until = "2020-01-01"; },
      { names = [ "mail.rotate.example" ]; issuers = [ "$CA_B" ];
        valid_from = "2099-01-01T00:00:00Z"; }
    );
  },
  { name = "staged";
    sender_domains = [ "staged.example" ];
    require_tls = true;
    action = "reject";
    monitor_until = "2099-01-01";
  },
  { name = "staged451";
    sender_domains = [ "staged451.example" ];
    require_tls = true;
    action = "reject";
    monitor_until = "2020-01-01";
    tempfail_until = "2099-01-01";
  }
);
outbound = (
  { name = "outpartner";
    recipient_domains = [ "outpartner.example" ];
    tls_settings = "encryption-only";
    min_tls_version = "TLSv1.3";
    require_session_tls = true;
    action = "reject";
  },
  { name = "outstaged";
    recipient_domains = [ "outstaged.example" ];
    tls_settings = "encryption-only";
    require_session_tls = true;
    action = "reject";
    monitor_until = "2099-01-01";
  }
);
EOF
"$FORCETLS_MILTER" -n -c "$CONF" >"$E2E_DIR/check.out" 2>&1 ||
    bail_out "test configuration refused: $(cat "$E2E_DIR/check.out")"
start_milter "$CONF"

TLS=(--tls)
TLS12=(--tls --tls-protocol tlsv1_2 --tls-cipher AES256-SHA)
TLS12FS=(--tls --tls-protocol tlsv1_2 --tls-cipher ECDHE-RSA-AES128-GCM-SHA256)
C=alice@contoso.example
n=0
JQ=$(command -v jq) || diag "jq is not installed: explain --json is not compared"
declare -A SEEN=()

# explain_line LINE [--json | bits=N]: run the tool on the facts of the daemon's
# decision LINE; EXPLAIN_LAST is its last line, EXPLAIN_RC its exit status.
explain_line() {
    local line=$1 k v args=()
    shift
    for k in client sender rcpt tls cipher cert issuer; do
        v=$(logfield "$line" "$k") || continue
        case $k in
        sender | rcpt) v=${v#<}; v=${v%>} ;;
        cipher | cert) [ "$v" = none ] && continue ;;
        esac
        args+=("$k=$v")
    done
    timeout 30 "$FORCETLS_TOOL" explain -c "$CONF" "$@" "${args[@]}" \
        >"$E2E_DIR/explain.out" 2>"$E2E_DIR/explain.err"
    EXPLAIN_RC=$?
    EXPLAIN_ARGS="${args[*]} $*"
    EXPLAIN_LAST=$(tail -n 1 "$E2E_DIR/explain.out")
}

# g MTA DESC DECISION REASON RCPT [swaks options]: one mail through MTA, then
# one test point: the daemon's decision (DECISION REASON, "decision would"
# for a softened one) and explain's last line against the daemon's line.
g() {
    local mta=$1 desc=$2 dec=$3 reason=$4 rcpt=$5 port=$PF_PORT
    local line want got bits reply problems=()
    shift 5
    [ "$mta" = sendmail ] && port=$SM_PORT
    n=$((n + 1))
    timeout 60 swaks --server "127.0.0.1:$port" --helo client.example --timeout 30 \
        --to "$rcpt" --quit-after RCPT "$@" >"$E2E_DIR/smtp/c$n.out" 2>&1
    if ! wait_milter_log "$DECISION_RE.* rcpt=<$(ere_quote "$rcpt")>" 10; then
        fail "[$mta] $desc" "no decision line for <$rcpt>" "$(tail -n 5 "$E2E_DIR/smtp/c$n.out")"
        return
    fi
    line=$(decision_for "$rcpt")
    got="$(logfield "$line" decision)$(logfield "$line" would | sed 's/^/ /') $(logfield "$line" reason)"
    [ "$got" = "$dec $reason" ] || problems+=("got the daemon's '$got', want '$dec $reason'")
    SEEN[$mta:$reason]=1
    want=${line#*]: }
    want="s=explain ${want#s=* }"
    explain_line "$line"
    got=$EXPLAIN_LAST
    [ "$EXPLAIN_RC" -eq 0 ] || problems+=("explain exited $EXPLAIN_RC: $(head -n 2 "$E2E_DIR/explain.err")")
    [ "$got" = "$want" ] || problems+=("got explain: $got" "want:        $want" \
        "explain $EXPLAIN_ARGS")
    # A refusal: explain's "reply:" is the MTA's reply without the MTA's
    # own prefix (sendmail puts "<rcpt>... " before the text of a 550).
    reply=$(rcpt_reply "c$n")
    if [[ $reply == [45]* ]]; then
        [ "$mta" = sendmail ] && reply=${reply/"<$rcpt>... "/}
        got=$(sed -n 's/^ *reply: //p' "$E2E_DIR/explain.out" | tail -n 1)
        [ "$got" = "$reply" ] || problems+=("got explain's reply '$got', want the MTA's '$reply'")
    fi
    # --json: the recipient's "line" is the same line.
    if [ -n "$JQ" ]; then
        explain_line "$line" --json
        got=$(jq -r '.recipients[-1].line' "$E2E_DIR/explain.out" 2>&1)
        [ "$EXPLAIN_RC" -eq 0 ] && [ "$got" = "$want" ] ||
            problems+=("--json (exit $EXPLAIN_RC): got .recipients[-1].line: $got")
    fi
    wait_milter_log "debug=rcpt .*rcpt=<$(ere_quote "$rcpt")>" 5 ||
        problems+=("no debug line (bits=) for <$rcpt>")
    bits=$(logfield "$(debug_for "$rcpt")" bits)
    if [ -n "$bits" ] && [ "$bits" != 0 ]; then
        explain_line "$line" "bits=$bits"
        got=$EXPLAIN_LAST
        [ "$got" = "$want" ] || problems+=("with bits=$bits: got explain: $got" \
            "want:        $want")
    fi
    if [ ${#problems[@]} -eq 0 ]; then pass "[$mta] $desc"
    else fail "[$mta] $desc" "${problems[@]}"; fi
}

# cases MTA: every golden case through MTA (recipients unique per MTA).
cases() {
    local m=$1 p=${1:0:1}
    g "$m" "right certificate, TLS 1.3: accept ok" accept ok "${p}1@example.org" \
        "${TLS[@]}" $(ccert partner) --from "$C"
    g "$m" "plaintext to an exempt recipient: accept exempt" accept exempt \
        "$([ "$m" = postfix ] && echo postmaster || echo abuse)@example.org" --from "$C"
    g "$m" "plaintext: reject no_tls" reject no_tls "${p}2@example.org" --from "$C"
    g "$m" "TLS without a certificate: reject no_client_cert" reject no_client_cert \
        "${p}3@example.org" "${TLS[@]}" --from "$C"
    g "$m" "untrusted CA with the trusted CA's name: reject no_client_cert" reject \
        no_client_cert "${p}4@example.org" "${TLS[@]}" $(ccert roguecert) --from "$C"
    g "$m" "trusted certificate, other CN: reject cert_name_mismatch" reject \
        cert_name_mismatch "${p}5@example.org" "${TLS[@]}" $(ccert other) --from "$C"
    g "$m" "TLS 1.2 AES256-SHA: reject no_forward_secrecy" reject no_forward_secrecy \
        "${p}6@example.org" "${TLS12[@]}" $(ccert partner) --from "$C"
    g "$m" "TLS 1.2 ECDHE with the right certificate: accept ok" accept ok \
        "${p}7@example.org" "${TLS12FS[@]}" $(ccert partner) --from "$C"
    g "$m" "TLS 1.3 connector over TLS 1.2: reject tls_version" reject tls_version \
        "${p}8@example.org" "${TLS12FS[@]}" $(ccert adatum) --from '<>'
    g "$m" "null sender by certificate over TLS 1.3: accept ok" accept ok \
        "${p}9@example.org" "${TLS[@]}" $(ccert adatum) --from '<>'
    g "$m" "128-bit cipher to a 256-bit connector: reject weak_cipher" reject weak_cipher \
        "${p}10@example.org" "${TLS12FS[@]}" --from frank@fabrikam.example
    g "$m" "256-bit cipher: accept ok" accept ok "${p}11@example.org" "${TLS[@]}" \
        --from frank@fabrikam.example
    g "$m" "trusted certificate from an unlisted issuer: reject cert_issuer_mismatch" reject \
        cert_issuer_mismatch "${p}12@example.org" "${TLS[@]}" $(ccert nw_lab) \
        --from gina@northwind.example
    g "$m" "partner domain from outside its IPs: tempfail ip_not_allowed" tempfail \
        ip_not_allowed "${p}13@example.org" "${TLS[@]}" --from carol@woodgrove.example
    g "$m" "partner from its IP, plaintext: tempfail no_tls" tempfail no_tls \
        "${p}14@example.org" --local-interface 127.0.0.3 --from carol@woodgrove.example
    g "$m" "monitor action, plaintext: monitor no_tls" monitor no_tls "${p}15@example.org" \
        --from erin@tailspin.example
    g "$m" "null sender by IP, plaintext: reject no_tls" reject no_tls "${p}16@example.org" \
        --local-interface 127.0.0.2 --from '<>'
    g "$m" "retired identity: reject cert_retired" reject cert_retired "${p}17@example.org" \
        "${TLS[@]}" $(ccert rot_a) --from ruth@rotate.example
    g "$m" "identity not yet valid: reject cert_not_yet_valid" reject cert_not_yet_valid \
        "${p}18@example.org" "${TLS[@]}" $(ccert rot_b) --from ruth@rotate.example
    g "$m" "monitor phase of a schedule: monitor would=reject no_tls" "monitor reject" no_tls \
        "${p}19@example.org" --from sam@staged.example
    g "$m" "tempfail phase of a schedule: tempfail would=reject no_tls" "tempfail reject" \
        no_tls "${p}20@example.org" --from sam@staged451.example
    g "$m" "two connectors (contoso, adatum): reject cert_name_mismatch" reject \
        cert_name_mismatch "${p}21@example.org" "${TLS[@]}" $(ccert adatum) --from "$C"
    g "$m" "a sender with spaces and quotes (escaped in the line): reject no_tls" reject \
        no_tls "${p}26@example.org" --from '"a b=c"@contoso.example'
    g "$m" "a certificate CN with quotes and spaces: reject cert_name_mismatch" reject \
        cert_name_mismatch "${p}27@example.org" "${TLS[@]}" $(ccert evil) --from "$C"
    g "$m" "outbound require_session_tls, plaintext: reject no_tls" reject no_tls \
        "${p}22@outpartner.example" --from carol@unrelated.example
    g "$m" "outbound require_session_tls, TLS 1.2: reject tls_version" reject tls_version \
        "${p}23@outpartner.example" "${TLS12FS[@]}" --from carol@unrelated.example
    g "$m" "outbound require_session_tls, TLS 1.3: accept ok" accept ok \
        "${p}24@outpartner.example" "${TLS[@]}" --from carol@unrelated.example
    g "$m" "outbound schedule, plaintext: monitor would=reject no_tls" "monitor reject" no_tls \
        "${p}25@outstaged.example" --from carol@unrelated.example
}

REASONS=(ok exempt no_tls tls_version weak_cipher no_forward_secrecy no_client_cert
    cert_name_mismatch cert_issuer_mismatch ip_not_allowed cert_not_yet_valid cert_retired)

for MTA in postfix sendmail; do
    t1=$SECONDS
    cases "$MTA"
    missing=
    for r in "${REASONS[@]}"; do
        [ -n "${SEEN[$MTA:$r]:-}" ] || missing+=" $r"
    done
    is "${missing:-none}" none "[$MTA] every reason was logged and explained"
    diag "[$MTA] $((SECONDS - t1)) s"
done

# The tool refuses what it cannot explain (exit 1, "forcetls: ..." on stderr).
timeout 30 "$FORCETLS_TOOL" explain -c "$CONF" sender=a@contoso.example rcpt=b@example.org \
    colour=blue >"$E2E_DIR/bad.out" 2>"$E2E_DIR/bad.err"
is "$?:$(grep -c '^forcetls: ' "$E2E_DIR/bad.err")" 1:1 "an unknown key: exit 1 with a message"

unlike "$(grep -E 'AddressSanitizer|LeakSanitizer|ThreadSanitizer|runtime error:' \
    "$MILTER_LOG" | head -n 3)" . "no sanitizer report in the milter log"
diag "explain-golden: $((SECONDS - T0)) s"

done_testing
