#!/bin/sh
# inbound.sh - the inbound connector matrix, end to end: a real Postfix on
# loopback, the milter on a test configuration with several connectors, and
# swaks sessions that vary the sender, the client address, TLS, the cipher
# and the client certificate. Each case checks the SMTP reply of the RCPT (code
# and enhanced code), that the milter (not Postfix) gave it, and the decision
# line (decision, reason, connector). TAP output.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_prereqs
e2e_init

# Client certificates beyond the common set (name|CA|subject).
E2E_EXTRA_CERTS=(
    "adatum|lab|/O=Adatum/CN=mail.adatum.example"
    "nw_lab|lab|/O=Northwind/CN=mail.northwind.example"
    "nw_ca2|ca2|/O=Northwind/CN=mx.northwind.example"
    "nw_deep|ca2|/O=Northwind/CN=a.b.northwind.example"
    "evil|lab|/O=Contoso/CN=mail.contoso.example\" decision=accept x=\""
)
alloc_port SMTP_PORT
alloc_port MILTER_PORT
make_pki
start_postfix

# Client addresses: 127.0.0.1 is in no connector's sender_ips, 127.0.0.2 is
# litware's, 127.0.0.3 woodgrove's.
CONF=$E2E_DIR/inbound.conf
cat >"$CONF" <<'EOF'
# forcetls e2e: the inbound matrix
socket = "inet:10025@127.0.0.1";
default_action = "reject";
min_tls_version = "TLSv1.2";
log_all = false;

inbound = (
  { name = "contoso";
    sender_domains = [ "contoso.example", "*.contoso.example" ];
    tls_sender_certificate_names = [ "mail.contoso.example", "mail2.contoso.example" ];
    certificate_issuers = [ "Contoso Demo Root CA", "Contoso Demo Root CA 2" ];
    require_forward_secrecy = true;
    action = "reject";
    exempt_recipients = [ "postmaster@example.org" ];
  },
  { name = "woodgrove";
    sender_domains = [ "woodgrove.example" ];
    sender_ips = [ "127.0.0.3/32" ];
    require_tls = true;
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
    certificate_issuers = [ "Contoso Demo Root CA" ];
    min_tls_version = "TLSv1.3";
    action = "reject";
  },
  { name = "fabrikam";
    sender_domains = [ "fabrikam.example" ];
    min_cipher_bits = 256;
    reject_text = "Fabrikam mail needs strong encryption";
  },
  { name = "northwind";
    sender_domains = [ "northwind.example" ];
    tls_sender_certificate_names = [ "*.northwind.example" ];
    certificate_issuers = [ "Contoso Demo Root CA 2" ];
  }
);
EOF
"$FORCETLS_MILTER" -n -c "$CONF" >"$E2E_DIR/check.out" 2>&1 ||
    bail_out "test configuration rejected: $(cat "$E2E_DIR/check.out")"
start_milter "$CONF"

# --- the case machinery ---------------------------------------------------------

ACCEPT="250 2.1.5"
REJECT="550 5.7.1"
TEMPFAIL="451 4.7.1"
TLS=(--tls)
TLS12=(--tls --tls-protocol tlsv1_2 --tls-cipher AES256-SHA)
TLS12FS=(--tls --tls-protocol tlsv1_2 --tls-cipher ECDHE-RSA-AES128-GCM-SHA256)
case_n=0

# check_rcpt DESC NAME IDX RCPT CODE DECISION REASON CONNECTOR: one test point
# for the IDX-th recipient of transcript NAME. DECISION "-" means no decision
# line at all (no connector matched).
check_rcpt() {
    local desc=$1 name=$2 idx=$3 rcpt=$4 code=$5 dec=$6 reason=$7 conn=$8
    local got line problems=() k want
    got=$(rcpt_code "$name" "$idx")
    [ "$got" = "$code" ] ||
        problems+=("got reply '$(rcpt_reply "$name" "$idx")', want $code")
    if [ "$dec" = - ]; then
        wait_milter_log "debug=rcpt .*rcpt=<$rcpt>" ||
            problems+=("no debug line for <$rcpt>: did the milter see it?")
        line=$(decision_for "$rcpt")
        [ -z "$line" ] || problems+=("got a decision line, want none")
    else
        wait_milter_log "$DECISION_RE.* rcpt=<$rcpt>" || problems+=("no decision line")
        line=$(decision_for "$rcpt")
        for k in decision:$dec reason:$reason connector:$conn direction:inbound stage:rcpt; do
            want=${k#*:}
            got=$(logfield "$line" "${k%%:*}")
            [ -z "$line" ] || [ "$got" = "$want" ] ||
                problems+=("got ${k%%:*}=$got, want $want")
        done
    fi
    if [[ $code == [45]* ]]; then
        # The refusal must come from the milter, not from a Postfix restriction.
        maillog_has "milter-reject: RCPT from .* to=<$rcpt>" ||
            problems+=("Postfix logged no milter-reject for <$rcpt>")
    fi
    if [ ${#problems[@]} -eq 0 ]; then
        pass "$desc"
    else
        fail "$desc" "${problems[@]}" "reply: $(rcpt_reply "$name" "$idx")" \
            "decision: ${line:-none}"
    fi
}

# t DESC CODE DECISION REASON CONNECTOR [swaks options]: a one-recipient case
# with a fresh recipient; stops after RCPT unless FULL=1.
t() {
    local desc=$1 code=$2 dec=$3 reason=$4 conn=$5 quit=(--quit-after RCPT)
    shift 5
    case_n=$((case_n + 1))
    [ "${FULL:-0}" = 1 ] && quit=()
    smtp "c$case_n" --to "t$case_n@example.org" "${quit[@]}" "$@"
    check_rcpt "$desc" "c$case_n" 1 "t$case_n@example.org" "$code" "$dec" "$reason" "$conn"
}

# Name of the transcript and recipient of the last case.
last() { echo "c$case_n"; }
last_rcpt() { echo "t$case_n@example.org"; }

P=partner
C=alice@contoso.example

# --- contoso: domain, certificate names and issuers, forward secrecy ---------------

t "plaintext from a partner: 550 no_tls" "$REJECT" reject no_tls contoso --from "$C"
t "TLS without a client certificate: 550 no_client_cert" "$REJECT" reject no_client_cert \
    contoso "${TLS[@]}" --from "$C"
t "certificate from a rogue CA with the trusted CA's name: 550 no_client_cert" "$REJECT" \
    reject no_client_cert contoso "${TLS[@]}" $(ccert roguecert) --from "$C"
t "trusted certificate with another CN: 550 cert_name_mismatch" "$REJECT" reject \
    cert_name_mismatch contoso "${TLS[@]}" $(ccert other) --from "$C"
MISMATCH_REPLY=$(rcpt_reply "$(last)")
FULL=1 t "right certificate over TLS 1.3: 250 accept ok (delivered)" "$ACCEPT" accept ok \
    contoso "${TLS[@]}" $(ccert $P) --from "$C"
like "$(data_reply "$(last)")" '^250 2\.0\.0 Ok: queued as ' "accepted mail is queued"
t "rotated certificate from the second CA: 250 accept ok" "$ACCEPT" accept ok contoso \
    "${TLS[@]}" $(ccert partner2) --from "$C"
t "TLS 1.2 AES256-SHA with the right certificate: 550 no_forward_secrecy" "$REJECT" reject \
    no_forward_secrecy contoso "${TLS12[@]}" $(ccert $P) --from "$C"
t "TLS 1.2 ECDHE-RSA-AES128-GCM-SHA256 with the right certificate: 250 accept" "$ACCEPT" \
    accept ok contoso "${TLS12FS[@]}" $(ccert $P) --from "$C"

# --- sender domain forms ----------------------------------------------------------------

t "upper case and trailing dot (A@CONTOSO.EXAMPLE.): 550 no_tls" "$REJECT" reject no_tls \
    contoso --from 'A@CONTOSO.EXAMPLE.'
t "subdomain (sub.contoso.example): 550 no_tls" "$REJECT" reject no_tls contoso \
    --from bob@sub.contoso.example
t "deep subdomain with the right certificate: 250 accept" "$ACCEPT" accept ok contoso \
    "${TLS[@]}" $(ccert $P) --from bob@deep.sub.Contoso.Example
t "look-alike domain (notcontoso.example): 250, no decision line" "$ACCEPT" - - - \
    --from bob@notcontoso.example
t "unrelated sender domain: 250, no decision line" "$ACCEPT" - - - \
    --from bob@unrelated.example

# --- exempt recipients, several recipients, session vs queue id ---------------------

case_n=$((case_n + 1))
n=$case_n
smtp "c$n" --from "$C" --to "postmaster@example.org,t$n@example.org"
check_rcpt "two recipients, plaintext: exempt postmaster 250 reason=exempt" "c$n" 1 \
    postmaster@example.org "$ACCEPT" accept exempt contoso
check_rcpt "two recipients, plaintext: the other one 550 no_tls" "c$n" 2 "t$n@example.org" \
    "$REJECT" reject no_tls contoso
QID=$(queue_id "c$n")
like "$QID" '^[0-9A-Za-z]+$' "the exempt recipient's mail is delivered (queue id $QID)"
S1=$(logfield "$(decision_for postmaster@example.org)" s)
S2=$(logfield "$(decision_for "t$n@example.org")" s)
is "$S2" "$QID" "s= is Postfix's queue id once it exists (second RCPT)"
if [ -n "$S1" ] && [ "$S1" != "$QID" ]; then
    pass "s= is the session id before a queue id exists (first RCPT)"
else
    fail "s= is the session id before a queue id exists (first RCPT)" \
        "got s=$S1, want a session id different from queue id $QID"
fi
case_n=$((case_n + 1))
n=$case_n
smtp "c$n" --from "$C" --to "Postmaster@EXAMPLE.org,t$n@example.org" --quit-after RCPT
check_rcpt "exempt recipient compared case-insensitively (Postmaster@EXAMPLE.org)" "c$n" 1 \
    Postmaster@EXAMPLE.org "$ACCEPT" accept exempt contoso
check_rcpt "... while the non-exempt recipient is refused" "c$n" 2 "t$n@example.org" \
    "$REJECT" reject no_tls contoso

# --- woodgrove: sender_ips with sender_domains, tempfail -------------------------------

W=carol@woodgrove.example
t "partner domain from outside its sender_ips, with TLS: 451 ip_not_allowed" "$TEMPFAIL" \
    tempfail ip_not_allowed woodgrove "${TLS[@]}" --from "$W"
t "tempfail connector, plaintext from its IP: 451 4.7.1 no_tls" "$TEMPFAIL" tempfail no_tls \
    woodgrove --local-interface 127.0.0.3 --from "$W"
t "tempfail connector, TLS from its IP: 250 accept" "$ACCEPT" accept ok woodgrove \
    --local-interface 127.0.0.3 "${TLS[@]}" --from "$W"
t "matched by sender_ips alone (any sender domain from 127.0.0.3): 451 no_tls" "$TEMPFAIL" \
    tempfail no_tls woodgrove --local-interface 127.0.0.3 --from dave@unrelated.example

# --- tailspin: monitor ----------------------------------------------------------------------

t "monitor connector, plaintext: 250 decision=monitor no_tls" "$ACCEPT" monitor no_tls \
    tailspin --from erin@tailspin.example
t "monitor connector, TLS: 250 accept" "$ACCEPT" accept ok tailspin "${TLS[@]}" \
    --from erin@tailspin.example

# --- null sender: by IP (litware) and by certificate (adatum) ------------------------

t "null sender by IP, plaintext: 550 no_tls (litware)" "$REJECT" reject no_tls litware \
    --local-interface 127.0.0.2 --from '<>'
t "null sender by IP, TLS: 250 accept (litware)" "$ACCEPT" accept ok litware \
    --local-interface 127.0.0.2 "${TLS[@]}" --from '<>'
t "null sender from an address no connector lists: 250, no decision line" "$ACCEPT" - - - \
    --from '<>'
t "null sender by certificate over TLS 1.3: 250 accept (adatum)" "$ACCEPT" accept ok adatum \
    "${TLS[@]}" $(ccert adatum) --from '<>'
t "null sender by certificate over TLS 1.2: 550 tls_version (adatum)" "$REJECT" reject \
    tls_version adatum "${TLS12FS[@]}" $(ccert adatum) --from '<>'

# --- fabrikam: cipher bits, custom text -----------------------------------------------

t "128-bit cipher to a 256-bit connector: 550 weak_cipher" "$REJECT" reject weak_cipher \
    fabrikam "${TLS12FS[@]}" --from frank@fabrikam.example
like "$(rcpt_reply "$(last)")" '^550 5\.7\.1 Fabrikam mail needs strong encryption$' \
    "reject_text replaces the default reply text"
t "256-bit cipher: 250 accept" "$ACCEPT" accept ok fabrikam "${TLS[@]}" \
    --from frank@fabrikam.example

# --- northwind: issuers and one-label certificate wildcards ----------------------------

t "certificate from a trusted but unlisted issuer: 550 cert_issuer_mismatch" "$REJECT" \
    reject cert_issuer_mismatch northwind "${TLS[@]}" $(ccert nw_lab) \
    --from gina@northwind.example
t "*.northwind.example matches mx.northwind.example from the listed CA: 250" "$ACCEPT" \
    accept ok northwind "${TLS[@]}" $(ccert nw_ca2) --from gina@northwind.example
t "*.northwind.example does not match a.b.northwind.example: 550 cert_name_mismatch" \
    "$REJECT" reject cert_name_mismatch northwind "${TLS[@]}" $(ccert nw_deep) \
    --from gina@northwind.example

# --- several connectors ------------------------------------------------------------------

t "partner sender with another connector's certificate: 550 cert_name_mismatch" "$REJECT" \
    reject cert_name_mismatch contoso "${TLS[@]}" $(ccert adatum) --from "$C"
like "$(logfield "$(decision_for "$(last_rcpt)")" connectors)" '^(contoso,adatum|adatum,contoso)$' \
    "connectors= lists both matching connectors"
t "monitor sender with a partner certificate without FS: the reject wins" "$REJECT" reject \
    no_forward_secrecy contoso "${TLS12[@]}" $(ccert $P) --from erin@tailspin.example
like "$(logfield "$(decision_for "$(last_rcpt)")" connectors)" \
    '^(contoso,tailspin|tailspin,contoso)$' "connectors= lists contoso and tailspin"
t "only one connector matched: no connectors= field" "$REJECT" reject no_tls contoso \
    --from "$C"
is "$(logfield "$(decision_for "$(last_rcpt)")" connectors || echo absent)" absent \
    "connectors= is absent when one connector matched"

# --- replies and log hygiene ------------------------------------------------------------

unlike "$MISMATCH_REPLY" '[Cc][Oo][Nn][Tt][Oo][Ss][Oo]' \
    "the default reply text names neither the partner nor the expected certificate"
like "$MISMATCH_REPLY" '^550 5\.7\.1 .{8,}' "the default reply text says what is missing"

t "hostile certificate CN: 550 cert_name_mismatch" "$REJECT" reject cert_name_mismatch \
    contoso "${TLS[@]}" $(ccert evil) --from "$C"
is "$(grep -F " rcpt=<$(last_rcpt)>" "$MILTER_LOG" | grep -Ec -- "$DECISION_RE")" 1 \
    "hostile CN: exactly one decision line"
is "$(logfield "$(decision_for "$(last_rcpt)")" cert)" \
    'mail.contoso.example" decision=accept x="' "hostile CN: logged escaped, read back intact"
t "quoted local part with spaces: 550 no_tls" "$REJECT" reject no_tls contoso \
    --from '"a b=c"@contoso.example'
like "$(decision_for "$(last_rcpt)")" ' sender="<\\"a b=c\\"@contoso\.example>" ' \
    "a sender with spaces and quotes is one escaped value"

unlike "$(grep -E 'AddressSanitizer|LeakSanitizer|ThreadSanitizer|runtime error:' \
    "$MILTER_LOG" | head -n 3)" . "no sanitizer report in the milter log"

done_testing
