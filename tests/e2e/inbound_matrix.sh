# inbound_matrix.sh - the inbound connector matrix, written once and run by
# inbound.sh (Postfix) and inbound-sendmail.sh (Sendmail) (bash).
#
# Sourced after lib.sh. One test configuration with several connectors, and
# the cases: each varies the sender, the client address, TLS, the cipher and
# the client certificate, and checks the SMTP reply to the RCPT (code and
# enhanced code), that the milter (not the MTA) gave it, and the decision
# line (decision, reason, connector). Provides:
#   E2E_EXTRA_CERTS          the client certificates the cases need beyond
#                            lib.sh's set (make_pki reads it)
#   matrix_start_milter      write $CONF, check it with -n, start the milter
#   inbound_matrix PM1 PM2   run every case against the running MTA; PM1 and
#                            PM2 are the exempt postmaster as written in the
#                            two exempt cases (a script running the matrix
#                            twice on one milter log varies their case, so
#                            that every recipient stays unique)
#   check_rcpt, t, last, last_rcpt, $ACCEPT ...  the case machinery, for the
#                            scripts' own cases
#   MATRIX_RCPT[KEY]         recipients of cases that MTA-only checks look at
#                            again: nocert, rogue, delivered, rotated
#
# What differs between MTAs the script defines before inbound_matrix runs
# (its MTA profile):
#   MTA                      the MTA's name, for messages
#   MTA_QUEUED_RE            ERE of the reply to the end of DATA for queued
#                            mail; its first group is the queue id
#   mta_text_re CODE RCPT_ERE  print the ERE of what the MTA writes between
#                            the enhanced code and the milter's text in a
#                            reply CODE ("550") to RCPT (an ERE itself)
#   mta_refusal_logged "CODE ENH" RCPT_ERE  wait for the MTA's own log line
#                            saying that the milter refused RCPT
#   mta_session_ids S1 S2 QID  the MTA's test points on s= of the first and
#                            second RCPT of one message with queue id QID
#
# Must not: start or stop the MTA, or hold an MTA-specific expectation (those
# belong to the profile or to the script's own cases). case_n is never reset:
# recipients stay unique however often the matrix runs.
# shellcheck disable=SC2046  # $(ccert NAME) expands to four swaks words

# Client certificates beyond the common set (name|CA|subject).
# shellcheck disable=SC2034  # read by make_pki
E2E_EXTRA_CERTS=(
    "adatum|lab|/O=Adatum/CN=mail.adatum.example"
    "nw_lab|lab|/O=Northwind/CN=mail.northwind.example"
    "nw_ca2|ca2|/O=Northwind/CN=mx.northwind.example"
    "nw_deep|ca2|/O=Northwind/CN=a.b.northwind.example"
    "evil|lab|/O=Contoso/CN=mail.contoso.example\" decision=accept x=\""
)

ACCEPT="250 2.1.5"
REJECT="550 5.7.1"
TEMPFAIL="451 4.7.1"
TLS=(--tls)
TLS12=(--tls --tls-protocol tlsv1_2 --tls-cipher AES256-SHA)
TLS12FS=(--tls --tls-protocol tlsv1_2 --tls-cipher ECDHE-RSA-AES128-GCM-SHA256)
P=partner
C=alice@contoso.example
case_n=0
# shellcheck disable=SC2034  # read by the scripts' own cases
declare -A MATRIX_RCPT=()

# Write the matrix configuration to $CONF, check it with -n, start the milter.
# Client addresses: 127.0.0.1 is in no connector's sender_ips, 127.0.0.2 is
# litware's, 127.0.0.3 woodgrove's.
matrix_start_milter() {
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
  },
  # certificate_issuers alone: any verified certificate from this CA
  { name = "wingtip";
    sender_domains = [ "wingtip.example" ];
    certificate_issuers = [ "Contoso Demo Root CA 2" ];
  }
);

# Mail to this partner must itself arrive over TLS 1.3 (checked at RCPT).
outbound = (
  { name = "outpartner";
    recipient_domains = [ "outpartner.example" ];
    tls_settings = "encryption-only";
    min_tls_version = "TLSv1.3";
    require_session_tls = true;
    action = "reject";
  }
);
EOF
    "$FORCETLS_MILTER" -n -c "$CONF" >"$E2E_DIR/check.out" 2>&1 ||
        bail_out "test configuration rejected: $(cat "$E2E_DIR/check.out")"
    start_milter "$CONF"
}

# --- the case machinery ---------------------------------------------------------

# check_rcpt DESC NAME IDX RCPT CODE DECISION REASON CONNECTOR: one test point
# for the IDX-th recipient of transcript NAME. DECISION "-" means no decision
# line at all (no connector matched).
check_rcpt() {
    local desc=$1 name=$2 idx=$3 rcpt=$4 code=$5 dec=$6 reason=$7 conn=$8
    local got reply line problems=() k want q pre re
    reply=$(rcpt_reply "$name" "$idx")
    got=$(rcpt_code "$name" "$idx")
    [ "$got" = "$code" ] || problems+=("got reply '$reply', want $code")
    q=$(ere_quote "$rcpt")
    # The milter's text comes right after the MTA's own prefix (if any).
    pre=$(mta_text_re "${code%% *}" "$q")
    re="^[0-9]{3} [0-9.]+ ${pre}[^<]"
    [[ $reply =~ $re ]] ||
        problems+=("got reply '$reply', want /$re/ ($MTA's form of a reply $code)")
    if [ "$dec" = - ]; then
        wait_milter_log "debug=rcpt .*rcpt=<$q>" ||
            problems+=("no debug line for <$rcpt>: did the milter see it?")
        line=$(decision_for "$rcpt")
        [ -z "$line" ] || problems+=("got a decision line, want none")
    else
        wait_milter_log "$DECISION_RE.* rcpt=<$q>" || problems+=("no decision line")
        line=$(decision_for "$rcpt")
        for k in decision:$dec reason:$reason connector:$conn \
                 direction:"${MATRIX_DIRECTION:-inbound}" stage:rcpt; do
            want=${k#*:}
            got=$(logfield "$line" "${k%%:*}")
            [ -z "$line" ] || [ "$got" = "$want" ] ||
                problems+=("got ${k%%:*}=$got, want $want")
        done
    fi
    # A refusal must come from the milter, not from a restriction of the MTA.
    if [[ $code == [45]* ]]; then
        mta_refusal_logged "$code" "$q" ||
            problems+=("$MTA logged no refusal of <$rcpt> by the milter")
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

# o DESC CODE DECISION REASON [swaks options]: a recipient of the outbound
# connector "outpartner" (require_session_tls, TLS 1.3 floor) from a sender
# no inbound connector knows.
o() {
    local desc=$1 code=$2 dec=$3 reason=$4
    shift 4
    case_n=$((case_n + 1))
    smtp "c$case_n" --to "t$case_n@outpartner.example" --quit-after RCPT \
        --from carol@unrelated.example "$@"
    MATRIX_DIRECTION=outbound check_rcpt "$desc" "c$case_n" 1 \
        "t$case_n@outpartner.example" "$code" "$dec" "$reason" outpartner
}

# Name of the transcript and recipient of the last case.
last() { echo "c$case_n"; }
last_rcpt() { echo "t$case_n@example.org"; }

# --- the matrix -------------------------------------------------------------------

# inbound_matrix PM1 PM2: every case against the running MTA (see the top).
inbound_matrix() {
    local pm1=$1 pm2=$2 n f QID mismatch_rcpt mismatch_reply pre re text
    for f in mta_text_re mta_refusal_logged mta_session_ids; do
        declare -F "$f" >/dev/null || bail_out "inbound_matrix: the script defines no $f"
    done
    if [ -z "${MTA:-}" ] || [ -z "${MTA_QUEUED_RE:-}" ]; then
        bail_out "inbound_matrix: the script sets no MTA or MTA_QUEUED_RE"
    fi

    # --- contoso: domain, certificate names and issuers, forward secrecy ------
    t "plaintext from a partner: 550 no_tls" "$REJECT" reject no_tls contoso --from "$C"
    t "TLS without a client certificate: 550 no_client_cert" "$REJECT" reject no_client_cert \
        contoso "${TLS[@]}" --from "$C"
    MATRIX_RCPT[nocert]=$(last_rcpt)
    t "certificate from a rogue CA with the trusted CA's name: 550 no_client_cert" "$REJECT" \
        reject no_client_cert contoso "${TLS[@]}" $(ccert roguecert) --from "$C"
    MATRIX_RCPT[rogue]=$(last_rcpt)
    t "trusted certificate with another CN: 550 cert_name_mismatch" "$REJECT" reject \
        cert_name_mismatch contoso "${TLS[@]}" $(ccert other) --from "$C"
    mismatch_rcpt=$(last_rcpt)
    mismatch_reply=$(rcpt_reply "$(last)")
    FULL=1 t "right certificate over TLS 1.3: 250 accept ok (delivered)" "$ACCEPT" accept ok \
        contoso "${TLS[@]}" $(ccert $P) --from "$C"
    MATRIX_RCPT[delivered]=$(last_rcpt)
    like "$(data_reply "$(last)")" "$MTA_QUEUED_RE" "accepted mail is queued"
    t "rotated certificate from the second CA: 250 accept ok" "$ACCEPT" accept ok contoso \
        "${TLS[@]}" $(ccert partner2) --from "$C"
    MATRIX_RCPT[rotated]=$(last_rcpt)
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

    # --- exempt recipients, several recipients, session vs queue id -------------
    case_n=$((case_n + 1))
    n=$case_n
    smtp "c$n" --from "$C" --to "$pm1,t$n@example.org"
    check_rcpt "two recipients, plaintext: exempt $pm1 250 reason=exempt" "c$n" 1 \
        "$pm1" "$ACCEPT" accept exempt contoso
    check_rcpt "two recipients, plaintext: the other one 550 no_tls" "c$n" 2 "t$n@example.org" \
        "$REJECT" reject no_tls contoso
    QID=
    [[ $(data_reply "c$n") =~ $MTA_QUEUED_RE ]] && QID=${BASH_REMATCH[1]}
    like "$QID" '^[0-9A-Za-z]+$' "the exempt recipient's mail is queued (queue id $QID)"
    mta_session_ids "$(logfield "$(decision_for "$pm1")" s)" \
        "$(logfield "$(decision_for "t$n@example.org")" s)" "$QID"
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
    pre=$(mta_text_re 550 "$(ere_quote "$(last_rcpt)")")
    like "$(rcpt_reply "$(last)")" "^550 5\\.7\\.1 ${pre}Fabrikam mail needs strong encryption\$" \
        "reject_text replaces the default reply text"
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

    # --- wingtip: certificate_issuers alone (any name from that CA) -------------------
    local WT=hank@wingtip.example
    t "issuers alone, plaintext: 550 no_tls (wingtip)" "$REJECT" reject no_tls wingtip \
        --from "$WT"
    t "issuers alone, TLS without a certificate: 550 no_client_cert" "$REJECT" reject \
        no_client_cert wingtip "${TLS[@]}" --from "$WT"
    t "issuers alone, trusted certificate from another CA: 550 cert_issuer_mismatch" \
        "$REJECT" reject cert_issuer_mismatch wingtip "${TLS[@]}" $(ccert other) --from "$WT"
    t "issuers alone, any name from the listed CA (a.b.northwind.example): 250 accept" \
        "$ACCEPT" accept ok wingtip "${TLS[@]}" $(ccert nw_deep) --from "$WT"
    t "issuers alone, untrusted CA: 550 no_client_cert" "$REJECT" reject no_client_cert \
        wingtip "${TLS[@]}" $(ccert roguecert) --from "$WT"

    # --- several connectors -------------------------------------------------------------
    t "partner sender with another connector's certificate: 550 cert_name_mismatch" "$REJECT" \
        reject cert_name_mismatch contoso "${TLS[@]}" $(ccert adatum) --from "$C"
    like "$(logfield "$(decision_for "$(last_rcpt)")" connectors)" \
        '^(contoso,adatum|adatum,contoso)$' "connectors= lists both matching connectors"
    t "monitor sender with a partner certificate without FS: the reject wins" "$REJECT" reject \
        no_forward_secrecy contoso "${TLS12[@]}" $(ccert $P) --from erin@tailspin.example
    like "$(logfield "$(decision_for "$(last_rcpt)")" connectors)" \
        '^(contoso,tailspin|tailspin,contoso)$' "connectors= lists contoso and tailspin"
    t "only one connector matched: no connectors= field" "$REJECT" reject no_tls contoso \
        --from "$C"
    is "$(logfield "$(decision_for "$(last_rcpt)")" connectors || echo absent)" absent \
        "connectors= is absent when one connector matched"

    # --- outbound connectors at RCPT: require_session_tls ---------------------------------
    o "to an outbound partner, plaintext session: 550 no_tls" "$REJECT" reject no_tls
    o "to an outbound partner, TLS 1.2 under its TLS 1.3 floor: 550 tls_version" "$REJECT" \
        reject tls_version "${TLS12FS[@]}"
    o "to an outbound partner, TLS 1.3 session: 250 accept" "$ACCEPT" accept ok "${TLS[@]}"
    is "$(logfield "$(decision_for "t$case_n@outpartner.example")" delivery)" \
        encryption-only "the outbound decision line names the delivery policy"

    # --- replies and log hygiene ----------------------------------------------------------
    # The milter's text of the cert_name_mismatch reply, without the MTA's prefix.
    pre=$(mta_text_re 550 "$(ere_quote "$mismatch_rcpt")")
    re="^550 5\\.7\\.1 $pre(.*)\$"
    text=$mismatch_reply
    [[ $mismatch_reply =~ $re ]] && text=${BASH_REMATCH[1]}
    unlike "$text" '[Cc][Oo][Nn][Tt][Oo][Ss][Oo]' \
        "the default reply text names neither the partner nor the expected certificate"
    like "$mismatch_reply" "^550 5\\.7\\.1 ${pre}.{8,}" "the default reply text says what is missing"

    # The CN carries '"' and ' ' (Sendmail passes them xtext-encoded, +22 and
    # +20): decoded, then escaped once in the log.
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
}
