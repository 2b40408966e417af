#!/bin/sh
# inbound-sendmail.sh - the inbound connector matrix (inbound_matrix.sh, as
# inbound.sh runs it on Postfix), end to end against a real sendmail 8.17 on
# loopback (see sendmail_lib.sh), run twice: with sendmail's stock milter
# macro lists (the milter must request {verify}, {cn_subject}, ... itself
# with smfi_setsymlist) and with the lists extended in the .mc
# (confMILTER_MACROS_ENVFROM/ENVRCPT). The connectors and cases are those of
# inbound.sh, so results compare one to one; the differences are sendmail's
# (its profile below): its 550 replies carry the address ("550 5.7.1
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
. "$(dirname "${BASH_SOURCE[0]}")/inbound_matrix.sh"

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

alloc_port SMTP_PORT
alloc_port MILTER_PORT
make_pki
sendmail_fetch
diag "sendmail $SM_VERSION from $SM_ROOT"
matrix_start_milter

# --- sendmail's profile for the matrix -------------------------------------------

MTA=sendmail
MTA_QUEUED_RE='^250 2\.0\.0 ([0-9A-Za-z]+) Message accepted for delivery'

# Sendmail's err.c prefixes a reply with the address for the codes 250, 252,
# 450, 550 and 553 only, the milter's text included; so 451 has none.
mta_text_re() {
    case $1 in
    250 | 252 | 450 | 550 | 553) printf '<%s>\\.\\.\\. ' "$2" ;;
    esac
}

# Sendmail logs a milter's refusal as "Milter: to=<RCPT>, reject=CODE".
mta_refusal_logged() { wait_line "$SM_SYSLOG" "Milter: to=<$2>, reject=${1%% *}"; }

# Sendmail (unlike Postfix) has its queue id from MAIL on: s= is it at once.
mta_session_ids() {
    if [ "$1" = "$3" ] && [ "$2" = "$3" ]; then
        pass "s= is sendmail's queue id at the first RCPT already"
    else
        fail "s= is sendmail's queue id at the first RCPT already" \
            "got s=$1 and s=$2, want $3 for both"
    fi
}

# --- the Sendmail-only cases ---------------------------------------------------------

# sm_verify_of RCPT: verify= of sendmail's own STARTTLS log line for the
# session of RCPT (queue id from the decision line, then the serving PID).
sm_verify_of() {
    local qid pid
    qid=$(logfield "$(decision_for "$1")" s)
    pid=$(grep -F " $qid: " "$SM_SYSLOG" | head -n 1 | sed -n 's/.*\[\([0-9]*\)\]: .*/\1/p')
    [ -n "$pid" ] || return 1
    grep -F "[$pid]: STARTTLS=server" "$SM_SYSLOG" | sed -n 's/.*, verify=\([A-Z_]*\),.*/\1/p'
}

# sendmail_cases: after each run of the matrix, what only Sendmail shows.
sendmail_cases() {
    local total others
    # Names arrive xtext-encoded ("Contoso+20Demo+20Root+20CA").
    debug_has "issuer CN with spaces arrives xtext-encoded and is logged decoded" \
        "${MATRIX_RCPT[delivered]}" mta=sendmail tls=TLSv1.3 cert=mail.contoso.example \
        issuer="Contoso Demo Root CA"
    debug_has "second CA: issuer \"Contoso Demo Root CA 2\" decoded" "${MATRIX_RCPT[rotated]}" \
        cert=mail2.contoso.example issuer="Contoso Demo Root CA 2"
    # Trust is {verify}=OK only: the rogue certificate (refused with
    # no_client_cert in the matrix) has CN=mail.contoso.example and an issuer
    # DN equal to the trusted CA's, but sendmail says verify=FAIL.
    is "$(sm_verify_of "${MATRIX_RCPT[rogue]}")" FAIL \
        "untrusted CA, DN naming the partner: sendmail's own log says verify=FAIL"
    debug_has "untrusted CA, DN naming the partner: the milter sees no certificate" \
        "${MATRIX_RCPT[rogue]}" cert=none issuer=none tls=TLSv1.3
    is "$(sm_verify_of "${MATRIX_RCPT[nocert]}")" NO "TLS without a certificate: sendmail says verify=NO"
    debug_has "TLS without a certificate: cert=none" "${MATRIX_RCPT[nocert]}" cert=none issuer=none
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
        pass "every debug line says mta=sendmail ($total lines so far)"
    else
        fail "every debug line says mta=sendmail" \
            "got $others of $total lines without mta=sendmail" \
            "$(grep -F ' debug=rcpt ' "$MILTER_LOG" | grep -v ' mta=sendmail ' | head -n 2)"
    fi
}

# --- the matrix, once per sendmail configuration --------------------------------------

for V in stock extended; do
    TAP_PREFIX="[$V] "
    t1=$SECONDS
    start_sendmail "$V"
    diag "sendmail ($V macro lists) listens on 127.0.0.1:$SMTP_PORT, PID $SM_PID," \
        "started in $((SECONDS - t1)) s"
    is "$(sendmail_listening)" "127.0.0.1:$SMTP_PORT" \
        "sendmail listens on 127.0.0.1:$SMTP_PORT and nowhere else"
    if [ "$V" = stock ]; then
        inbound_matrix postmaster@example.org Postmaster@EXAMPLE.org
        sendmail_cases
        like "$(grep -E '^O Milter\.macros\.envrcpt=' "$SM_DIR/test.cf")" \
            '^O Milter\.macros\.envrcpt=\{rcpt_mailer\}, \{rcpt_host\}, \{rcpt_addr\}$' \
            "the stock sendmail.cf keeps the default RCPT macro list"
        unlike "$(grep -E '^O Milter\.macros\.' "$SM_DIR/test.cf" | grep -F '{verify}')" . \
            "the stock sendmail.cf names {verify} in no milter macro list"
    else
        inbound_matrix POSTMASTER@example.org postmaster@Example.Org
        sendmail_cases
        like "$(grep -E '^O Milter\.macros\.envrcpt=' "$SM_DIR/test.cf")" \
            '\{verify\}, \{cn_subject\}, \{cn_issuer\}' \
            "the extended sendmail.cf passes {verify} {cn_subject} {cn_issuer} at RCPT"
    fi
    diag "[$V] matrix done $((SECONDS - t1)) s after the start of sendmail"
    [ "$V" = extended ] && break    # keep the last one up for the fail-closed check
    old=$SM_PID
    stop_sendmail
    if pid_alive "$old" || port_open "$SMTP_PORT"; then
        fail "sendmail stopped by PID" "PID $old or port $SMTP_PORT is still there"
    else
        pass "sendmail stopped by PID (daemon and port gone)"
    fi
done

# --- F=T: sendmail fails closed without the milter ---------------------------------------
TAP_PREFIX="[extended] "
t1=$SECONDS
stop_milter
diag "the milter took $((SECONDS - t1)) s to stop"
smtp down --from alice@contoso.example --to down@example.org --quit-after RCPT
# The reply to MAIL FROM (sendmail tempfails every command once the filter
# is in error state; Postfix with milter_default_action=tempfail: 451 4.7.1).
r=$(awk '/^ *[-~*]+> MAIL FROM/ { want = 1; next }
    want && /^<[-~*]+ +[0-9][0-9][0-9] / { sub(/^<[-~*]+ +/, ""); print; exit }' \
    "$E2E_DIR/smtp/down.out")
like "$r" '^451 4\.3\.2 ' "milter down: MAIL FROM gets 451 4.3.2 (F=T fails closed)"
unlike "$(grep -E '^<[-~*]+ +250 2\.1\.5' "$E2E_DIR/smtp/down.out")" . \
    "milter down: no recipient accepted"
stop_sendmail

TAP_PREFIX=
unlike "$(grep -E 'AddressSanitizer|LeakSanitizer|ThreadSanitizer|runtime error:' \
    "$MILTER_LOG" | head -n 3)" . "no sanitizer report in the milter log"
diag "inbound-sendmail: $((SECONDS - T0)) s"

done_testing
