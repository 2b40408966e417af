#!/bin/sh
# inbound-sendmail.sh - the inbound connector matrix of inbound.sh, end to
# end against a real sendmail 8.17 on loopback (see sendmail_lib.sh), run
# twice: with sendmail's stock milter macro lists (the milter must request
# {verify}, {cn_subject}, ... itself with smfi_setsymlist) and with the
# lists extended in the .mc (confMILTER_MACROS_ENVFROM/ENVRCPT). Same
# connectors and cases as inbound.sh, so results compare one to one; the
# differences are sendmail's: its 550 replies carry the address ("550 5.7.1
# <rcpt>... text"; its 451 replies do not), its syslog says "Milter:
# to=<rcpt>, reject=" where Postfix says milter-reject, and its queue id
# exists from MAIL on, so s= is the queue id at the first RCPT already.
# Plus the Sendmail-only cases: trust comes from {verify} (a certificate
# from an untrusted CA whose DN names the partner is no certificate), names
# arrive xtext-encoded ("Contoso+20Demo+20Root+20CA") and must be decoded,
# the debug lines say mta=sendmail, a client that skips the EHLO after
# STARTTLS is still judged on the certificate, sendmail listens on loopback
# only, and F=T fails closed when the milter is down. TAP output.
# shellcheck disable=SC2046  # $(ccert NAME) expands to four swaks words
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/sendmail_lib.sh"

# lib.sh's require_prereqs also wants Postfix; this script does not.
[ "$(id -u)" -eq 0 ] || skip_all "needs root (mount namespace for sendmail)"
for tool in swaks openssl perl; do
    command -v "$tool" >/dev/null 2>&1 || skip_all "$tool is not installed"
done
find_milter || skip_all "forcetls-milter is not built (FORCETLS_MILTER unset)"
require_sendmail_prereqs
e2e_init
sendmail_install_cleanup
T0=$SECONDS

# Client certificates beyond the common set (name|CA|subject): as inbound.sh.
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
sendmail_fetch
diag "sendmail $SM_VERSION from $SM_ROOT"

# The configuration of inbound.sh, unchanged. Client addresses: 127.0.0.1 is
# in no connector's sender_ips, 127.0.0.2 is litware's, 127.0.0.3 woodgrove's.
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
case_n=0        # never reset: recipients stay unique across both variants
V=              # the variant under test, prefixed to every description

# Quote a string for use inside an ERE.
ere_quote() { sed 's/[][\.*^$+?(){}|/]/\\&/g' <<<"$1"; }

# Sendmail's queue id from the reply to the end of DATA in transcript NAME.
sm_queue_id() {
    data_reply "$1" | sed -n 's/^250 2\.0\.0 \([0-9A-Za-z]*\) Message accepted.*/\1/p'
}

# check_rcpt DESC NAME IDX RCPT CODE DECISION REASON CONNECTOR: one test point
# for the IDX-th recipient of transcript NAME. DECISION "-" means no decision
# line at all (no connector matched).
check_rcpt() {
    local desc="[$V] $1" name=$2 idx=$3 rcpt=$4 code=$5 dec=$6 reason=$7 conn=$8
    local got reply line problems=() k want q
    reply=$(rcpt_reply "$name" "$idx")
    got=$(rcpt_code "$name" "$idx")
    [ "$got" = "$code" ] || problems+=("got reply '$reply', want $code")
    q=$(ere_quote "$rcpt")
    # Sendmail's err.c prefixes a reply with the address for the codes 250,
    # 252, 450, 550 and 553 only, the milter's text included; so 451 has none.
    case ${code%% *} in
    250 | 252 | 450 | 550 | 553)
        [[ $reply =~ ^[0-9]{3}\ [0-9.]+\ \<$q\>\.\.\.\ . ]] ||
            problems+=("got reply '$reply', want '$code <$rcpt>... text'") ;;
    *)
        [[ $reply =~ ^[0-9]{3}\ [0-9.]+\ \< ]] &&
            problems+=("got reply '$reply', want '$code text' without the address") ;;
    esac
    if [ "$dec" = - ]; then
        wait_milter_log "debug=rcpt .*rcpt=<$q>" ||
            problems+=("no debug line for <$rcpt>: did the milter see it?")
        line=$(decision_for "$rcpt")
        [ -z "$line" ] || problems+=("got a decision line, want none")
    else
        wait_milter_log "$DECISION_RE.* rcpt=<$q>" || problems+=("no decision line")
        line=$(decision_for "$rcpt")
        for k in decision:$dec reason:$reason connector:$conn direction:inbound stage:rcpt; do
            want=${k#*:}
            got=$(logfield "$line" "${k%%:*}")
            [ -z "$line" ] || [ "$got" = "$want" ] ||
                problems+=("got ${k%%:*}=$got, want $want")
        done
    fi
    if [[ $code == [45]* ]]; then
        # The refusal must come from the milter, not from a sendmail rule.
        wait_line "$SM_SYSLOG" "Milter: to=<$q>, reject=${code%% *}" ||
            problems+=("sendmail logged no 'Milter: to=<$rcpt>, reject=' line")
    fi
    if [ ${#problems[@]} -eq 0 ]; then
        pass "$desc"
    else
        fail "$desc" "${problems[@]}" "reply: $reply" "decision: ${line:-none}"
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

# debug_has DESC RCPT KEY=VALUE...: the debug line of RCPT carries every pair.
debug_has() {
    local desc="[$V] $1" rcpt=$2 kv line got problems=()
    shift 2
    wait_milter_log "debug=rcpt .*rcpt=<$(ere_quote "$rcpt")>"
    line=$(debug_for "$rcpt")
    if [ -z "$line" ]; then
        problems+=("no debug line for <$rcpt>")
    else
        for kv in "$@"; do
            got=$(logfield "$line" "${kv%%=*}")
            [ "$got" = "${kv#*=}" ] || problems+=("got ${kv%%=*}=$got, want ${kv#*=}")
        done
    fi
    if [ ${#problems[@]} -eq 0 ]; then pass "$desc"
    else fail "$desc" "${problems[@]}" "line: $line"; fi
}

# sm_verify_of RCPT: verify= of sendmail's own STARTTLS log line for the
# session of RCPT (queue id from the decision line, then the serving PID).
sm_verify_of() {
    local qid pid
    qid=$(logfield "$(decision_for "$1")" s)
    pid=$(grep -F " $qid: " "$SM_SYSLOG" | head -n 1 | sed -n 's/.*\[\([0-9]*\)\]: .*/\1/p')
    [ -n "$pid" ] || return 1
    grep -F "[$pid]: STARTTLS=server" "$SM_SYSLOG" | sed -n 's/.*, verify=\([A-Z_]*\),.*/\1/p'
}

P=partner
C=alice@contoso.example

# --- the matrix, once per sendmail configuration --------------------------------------

# matrix: every case of inbound.sh against the running sendmail, plus the
# Sendmail-only cases. Exempt recipients differ in case per variant so that
# every recipient string is unique in the shared milter log.
matrix() {
    local pm1=$1 pm2=$2 n S1 S2 QID MISMATCH_REPLY NOCERT_RCPT ROGUE_RCPT total others

    # --- contoso: domain, certificate names and issuers, forward secrecy ------
    t "plaintext from a partner: 550 no_tls" "$REJECT" reject no_tls contoso --from "$C"
    t "TLS without a client certificate: 550 no_client_cert" "$REJECT" reject no_client_cert \
        contoso "${TLS[@]}" --from "$C"
    NOCERT_RCPT=$(last_rcpt)
    t "certificate from a rogue CA with the trusted CA's name: 550 no_client_cert" "$REJECT" \
        reject no_client_cert contoso "${TLS[@]}" $(ccert roguecert) --from "$C"
    ROGUE_RCPT=$(last_rcpt)
    t "trusted certificate with another CN: 550 cert_name_mismatch" "$REJECT" reject \
        cert_name_mismatch contoso "${TLS[@]}" $(ccert other) --from "$C"
    MISMATCH_REPLY=$(rcpt_reply "$(last)")
    FULL=1 t "right certificate over TLS 1.3: 250 accept ok (delivered)" "$ACCEPT" accept ok \
        contoso "${TLS[@]}" $(ccert $P) --from "$C"
    like "$(data_reply "$(last)")" '^250 2\.0\.0 [0-9A-Za-z]+ Message accepted for delivery' \
        "[$V] accepted mail is queued"
    debug_has "issuer CN with spaces arrives xtext-encoded and is logged decoded" \
        "$(last_rcpt)" mta=sendmail tls=TLSv1.3 cert=mail.contoso.example \
        issuer="Contoso Demo Root CA"
    t "rotated certificate from the second CA: 250 accept ok" "$ACCEPT" accept ok contoso \
        "${TLS[@]}" $(ccert partner2) --from "$C"
    debug_has "second CA: issuer \"Contoso Demo Root CA 2\" decoded" "$(last_rcpt)" \
        cert=mail2.contoso.example issuer="Contoso Demo Root CA 2"
    t "TLS 1.2 AES256-SHA with the right certificate: 550 no_forward_secrecy" "$REJECT" reject \
        no_forward_secrecy contoso "${TLS12[@]}" $(ccert $P) --from "$C"
    t "TLS 1.2 ECDHE-RSA-AES128-GCM-SHA256 with the right certificate: 250 accept" "$ACCEPT" \
        accept ok contoso "${TLS12FS[@]}" $(ccert $P) --from "$C"

    # --- sender domain forms ----------------------------------------------------
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

    # --- exempt recipients, several recipients, queue id ------------------------
    case_n=$((case_n + 1))
    n=$case_n
    smtp "c$n" --from "$C" --to "$pm1,t$n@example.org"
    check_rcpt "two recipients, plaintext: exempt $pm1 250 reason=exempt" "c$n" 1 \
        "$pm1" "$ACCEPT" accept exempt contoso
    check_rcpt "two recipients, plaintext: the other one 550 no_tls" "c$n" 2 "t$n@example.org" \
        "$REJECT" reject no_tls contoso
    QID=$(sm_queue_id "c$n")
    like "$QID" '^[0-9A-Za-z]+$' "[$V] the exempt recipient's mail is queued (queue id $QID)"
    S1=$(logfield "$(decision_for "$pm1")" s)
    S2=$(logfield "$(decision_for "t$n@example.org")" s)
    # Sendmail (unlike Postfix) has its queue id from MAIL on: s= is it at once.
    if [ "$S1" = "$QID" ] && [ "$S2" = "$QID" ]; then
        pass "[$V] s= is sendmail's queue id at the first RCPT already"
    else
        fail "[$V] s= is sendmail's queue id at the first RCPT already" \
            "got s=$S1 and s=$S2, want $QID for both"
    fi
    case_n=$((case_n + 1))
    n=$case_n
    smtp "c$n" --from "$C" --to "$pm2,t$n@example.org" --quit-after RCPT
    check_rcpt "exempt recipient compared case-insensitively ($pm2)" "c$n" 1 \
        "$pm2" "$ACCEPT" accept exempt contoso
    check_rcpt "... while the non-exempt recipient is refused" "c$n" 2 "t$n@example.org" \
        "$REJECT" reject no_tls contoso

    # --- woodgrove: sender_ips with sender_domains, tempfail ---------------------
    local W=carol@woodgrove.example
    t "partner domain from outside its sender_ips, with TLS: 451 ip_not_allowed" "$TEMPFAIL" \
        tempfail ip_not_allowed woodgrove "${TLS[@]}" --from "$W"
    t "tempfail connector, plaintext from its IP: 451 4.7.1 no_tls" "$TEMPFAIL" tempfail no_tls \
        woodgrove --local-interface 127.0.0.3 --from "$W"
    t "tempfail connector, TLS from its IP: 250 accept" "$ACCEPT" accept ok woodgrove \
        --local-interface 127.0.0.3 "${TLS[@]}" --from "$W"
    t "matched by sender_ips alone (any sender domain from 127.0.0.3): 451 no_tls" "$TEMPFAIL" \
        tempfail no_tls woodgrove --local-interface 127.0.0.3 --from dave@unrelated.example

    # --- tailspin: monitor ---------------------------------------------------------
    t "monitor connector, plaintext: 250 decision=monitor no_tls" "$ACCEPT" monitor no_tls \
        tailspin --from erin@tailspin.example
    t "monitor connector, TLS: 250 accept" "$ACCEPT" accept ok tailspin "${TLS[@]}" \
        --from erin@tailspin.example

    # --- null sender: by IP (litware) and by certificate (adatum) -----------------
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

    # --- fabrikam: cipher bits, custom text ------------------------------------------
    t "128-bit cipher to a 256-bit connector: 550 weak_cipher" "$REJECT" reject weak_cipher \
        fabrikam "${TLS12FS[@]}" --from frank@fabrikam.example
    like "$(rcpt_reply "$(last)")" \
        "^550 5\\.7\\.1 <$(ere_quote "$(last_rcpt)")>\\.\\.\\. Fabrikam mail needs strong encryption\$" \
        "[$V] reject_text replaces the default reply text (after sendmail's address prefix)"
    t "256-bit cipher: 250 accept" "$ACCEPT" accept ok fabrikam "${TLS[@]}" \
        --from frank@fabrikam.example

    # --- northwind: issuers and one-label certificate wildcards ---------------------
    t "certificate from a trusted but unlisted issuer: 550 cert_issuer_mismatch" "$REJECT" \
        reject cert_issuer_mismatch northwind "${TLS[@]}" $(ccert nw_lab) \
        --from gina@northwind.example
    t "*.northwind.example matches mx.northwind.example from the listed CA: 250" "$ACCEPT" \
        accept ok northwind "${TLS[@]}" $(ccert nw_ca2) --from gina@northwind.example
    t "*.northwind.example does not match a.b.northwind.example: 550 cert_name_mismatch" \
        "$REJECT" reject cert_name_mismatch northwind "${TLS[@]}" $(ccert nw_deep) \
        --from gina@northwind.example

    # --- several connectors -------------------------------------------------------------
    t "partner sender with another connector's certificate: 550 cert_name_mismatch" "$REJECT" \
        reject cert_name_mismatch contoso "${TLS[@]}" $(ccert adatum) --from "$C"
    like "$(logfield "$(decision_for "$(last_rcpt)")" connectors)" \
        '^(contoso,adatum|adatum,contoso)$' "[$V] connectors= lists both matching connectors"
    t "monitor sender with a partner certificate without FS: the reject wins" "$REJECT" reject \
        no_forward_secrecy contoso "${TLS12[@]}" $(ccert $P) --from erin@tailspin.example
    like "$(logfield "$(decision_for "$(last_rcpt)")" connectors)" \
        '^(contoso,tailspin|tailspin,contoso)$' "[$V] connectors= lists contoso and tailspin"
    t "only one connector matched: no connectors= field" "$REJECT" reject no_tls contoso \
        --from "$C"
    is "$(logfield "$(decision_for "$(last_rcpt)")" connectors || echo absent)" absent \
        "[$V] connectors= is absent when one connector matched"

    # --- replies and log hygiene ----------------------------------------------------------
    unlike "${MISMATCH_REPLY#*>... }" '[Cc][Oo][Nn][Tt][Oo][Ss][Oo]' \
        "[$V] the default reply text names neither the partner nor the expected certificate"
    like "$MISMATCH_REPLY" '^550 5\.7\.1 <[^>]*>\.\.\. .{8,}' \
        "[$V] the default reply text says what is missing"

    # Sendmail xtext-encodes '"' and ' ' in {cn_subject} (+22, +20): decoded,
    # then escaped once in the log.
    t "hostile certificate CN: 550 cert_name_mismatch" "$REJECT" reject cert_name_mismatch \
        contoso "${TLS[@]}" $(ccert evil) --from "$C"
    is "$(grep -F " rcpt=<$(last_rcpt)>" "$MILTER_LOG" | grep -Ec -- "$DECISION_RE")" 1 \
        "[$V] hostile CN: exactly one decision line"
    is "$(logfield "$(decision_for "$(last_rcpt)")" cert)" \
        'mail.contoso.example" decision=accept x="' "[$V] hostile CN: decoded, logged escaped, read back intact"
    t "quoted local part with spaces: 550 no_tls" "$REJECT" reject no_tls contoso \
        --from '"a b=c"@contoso.example'
    like "$(decision_for "$(last_rcpt)")" ' sender="<\\"a b=c\\"@contoso\.example>" ' \
        "[$V] a sender with spaces and quotes is one escaped value"

    # --- Sendmail only -------------------------------------------------------------------
    # Trust is {verify}=OK only: the rogue certificate (the case above that
    # was refused with no_client_cert) has CN=mail.contoso.example and an
    # issuer DN equal to the trusted CA's, but sendmail says verify=FAIL.
    is "$(sm_verify_of "$ROGUE_RCPT")" FAIL \
        "[$V] untrusted CA, DN naming the partner: sendmail's own log says verify=FAIL"
    debug_has "untrusted CA, DN naming the partner: the milter sees no certificate" \
        "$ROGUE_RCPT" cert=none issuer=none tls=TLSv1.3
    is "$(sm_verify_of "$NOCERT_RCPT")" NO "[$V] TLS without a certificate: sendmail says verify=NO"
    debug_has "TLS without a certificate: cert=none" "$NOCERT_RCPT" cert=none issuer=none
    # No second EHLO after STARTTLS: sendmail's HELO-stage macros are then
    # stale; the milter's own MAIL/RCPT lists must still carry the TLS facts.
    case_n=$((case_n + 1))
    printf 'MAIL FROM:<%s>\r\nRCPT TO:<t%s@example.org>\r\nQUIT\r\n' "$C" "$case_n" |
        timeout 30 openssl s_client -quiet -starttls smtp -connect "127.0.0.1:$SMTP_PORT" \
            -cert "$PKI/$P.crt" -key "$PKI/$P.key" \
            >"$E2E_DIR/smtp/c$case_n.raw" 2>"$E2E_DIR/smtp/c$case_n.err"
    # Fake a swaks transcript so that the usual helpers apply.
    awk '/^[245][0-9][0-9] [245]\.[0-9.]+ <t[0-9]+@/ { print " -> RCPT TO"; print "<- " $0 }' \
        "$E2E_DIR/smtp/c$case_n.raw" >"$E2E_DIR/smtp/c$case_n.out"
    check_rcpt "no EHLO after STARTTLS (s_client), right certificate: 250 accept" \
        "c$case_n" 1 "$(last_rcpt)" "$ACCEPT" accept ok contoso
    debug_has "no EHLO after STARTTLS: still TLSv1.3 and the certificate" "$(last_rcpt)" \
        tls=TLSv1.3 cert=mail.contoso.example issuer="Contoso Demo Root CA"
    # Every debug line of this variant says mta=sendmail (v = "8.17.1.9").
    total=$(grep -c -F ' debug=rcpt ' "$MILTER_LOG")
    others=$(grep -F ' debug=rcpt ' "$MILTER_LOG" | grep -vc ' mta=sendmail ')
    if [ "$total" -gt 0 ] && [ "$others" -eq 0 ]; then
        pass "[$V] every debug line says mta=sendmail ($total lines so far)"
    else
        fail "[$V] every debug line says mta=sendmail" \
            "got $others of $total lines without mta=sendmail" \
            "$(grep -F ' debug=rcpt ' "$MILTER_LOG" | grep -v ' mta=sendmail ' | head -n 2)"
    fi
}

for V in stock extended; do
    t1=$SECONDS
    start_sendmail "$V"
    diag "sendmail ($V macro lists) listens on 127.0.0.1:$SMTP_PORT, PID $SM_PID," \
        "started in $((SECONDS - t1)) s"
    is "$(sendmail_listening)" "127.0.0.1:$SMTP_PORT" \
        "[$V] sendmail listens on 127.0.0.1:$SMTP_PORT and nowhere else"
    if [ "$V" = stock ]; then
        matrix postmaster@example.org Postmaster@EXAMPLE.org
        like "$(grep -E '^O Milter\.macros\.envrcpt=' "$SM_DIR/test.cf")" \
            '^O Milter\.macros\.envrcpt=\{rcpt_mailer\}, \{rcpt_host\}, \{rcpt_addr\}$' \
            "[$V] the stock sendmail.cf keeps the default RCPT macro list"
        unlike "$(grep -E '^O Milter\.macros\.' "$SM_DIR/test.cf" | grep -F '{verify}')" . \
            "[$V] the stock sendmail.cf names {verify} in no milter macro list"
    else
        matrix POSTMASTER@example.org postmaster@Example.Org
        like "$(grep -E '^O Milter\.macros\.envrcpt=' "$SM_DIR/test.cf")" \
            '\{verify\}, \{cn_subject\}, \{cn_issuer\}' \
            "[$V] the extended sendmail.cf passes {verify} {cn_subject} {cn_issuer} at RCPT"
    fi
    diag "[$V] matrix done $((SECONDS - t1)) s after the start of sendmail"
    [ "$V" = extended ] && break    # keep the last one up for the fail-closed check
    old=$SM_PID
    stop_sendmail
    if pid_alive "$old" || port_open "$SMTP_PORT"; then
        fail "[$V] sendmail stopped by PID" "PID $old or port $SMTP_PORT is still there"
    else
        pass "[$V] sendmail stopped by PID (daemon and port gone)"
    fi
done

# --- F=T: sendmail fails closed without the milter ---------------------------------------
V=extended
t1=$SECONDS
stop_milter
diag "the milter took $((SECONDS - t1)) s to stop"
smtp down --from alice@contoso.example --to down@example.org --quit-after RCPT
# The reply to MAIL FROM (sendmail tempfails every command once the filter
# is in error state; Postfix with milter_default_action=tempfail: 451 4.7.1).
r=$(awk '/^ *[-~*]+> MAIL FROM/ { want = 1; next }
    want && /^<[-~*]+ +[0-9][0-9][0-9] / { sub(/^<[-~*]+ +/, ""); print; exit }' \
    "$E2E_DIR/smtp/down.out")
like "$r" '^451 4\.3\.2 ' "[$V] milter down: MAIL FROM gets 451 4.3.2 (F=T fails closed)"
unlike "$(grep -E '^<[-~*]+ +250 2\.1\.5' "$E2E_DIR/smtp/down.out")" . \
    "[$V] milter down: no recipient accepted"
stop_sendmail

unlike "$(grep -E 'AddressSanitizer|LeakSanitizer|ThreadSanitizer|runtime error:' \
    "$MILTER_LOG" | head -n 3)" . "no sanitizer report in the milter log"
diag "inbound-sendmail: $((SECONDS - T0)) s"

done_testing
