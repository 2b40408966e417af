#!/bin/sh
# mta-detect.sh - whose macro dialect the milter trusts (issue 10, `mta =`),
# end to end against a real Postfix whose milter_macro_v is renamed
# ("Foo $mail_version", so v= names no MTA) and a real sendmail 8.17, both
# on loopback at once, using the one milter under test:
#   mta auto (no mta line): the renamed Postfix cannot be told apart, so no
#     certificate is trusted: a partner with the right certificate gets 550
#     reason=no_client_cert, and the daemon logs once (two sessions, one line)
#     'cannot tell the MTA from macro v="Foo X.Y.Z": ... set mta = "postfix"
#     or mta = "sendmail" in CONF'; sendmail is detected and its partner is
#     accepted.
#   mta = "postfix" (reload): the same mail through the renamed Postfix is
#     accepted; through sendmail (v="8.17.1.9" names Sendmail, a
#     contradiction) no certificate is trusted (550 no_client_cert) and the
#     daemon warns 'mta = "postfix" in CONF:LINE but macro v="..." names
#     Sendmail: no client certificate is trusted'.
#   mta = "sendmail" (reload): sendmail's partner accepted again; the renamed
#     Postfix never sends {verify}, so its partner gets no_client_cert.
#   mta auto again (reload): the warning is logged once more (once per loaded
#     configuration).
# TAP output.
# shellcheck disable=SC2046  # $(ccert NAME) expands to four swaks words
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/sendmail_lib.sh"

require_prereqs
require_sendmail_prereqs
e2e_init
sendmail_install_cleanup
T0=$SECONDS

alloc_port PF_PORT
alloc_port SM_PORT
alloc_port MILTER_PORT
make_pki
# shellcheck disable=SC2016  # $mail_version is Postfix's, not ours
PF_EXTRA_MAIN='milter_macro_v = Foo $mail_version'
SMTP_PORT=$PF_PORT
start_postfix
PF_V="Foo $(postconf -c "$PF_DIR/conf" -h mail_version)"
sendmail_fetch
SMTP_PORT=$SM_PORT
start_sendmail stock
diag "Postfix (v=\"$PF_V\") on 127.0.0.1:$PF_PORT, sendmail $SM_VERSION on" \
    "127.0.0.1:$SM_PORT, set up in $((SECONDS - T0)) s"

CONF=$E2E_DIR/mta.conf

# write_conf MTA_LINE: the configuration, with MTA_LINE ("" for none) on line 3.
write_conf() {
    cat >"$CONF.new" <<EOF
# forcetls e2e: mta detection
default_action = "reject";
$1
inbound = (
  { name = "contoso";
    sender_domains = [ "contoso.example" ];
    tls_sender_certificate_names = [ "mail.contoso.example" ];
    certificate_issuers = [ "Contoso Demo Root CA" ];
    action = "reject";
  }
);
EOF
    mv "$CONF.new" "$CONF"
    "$FORCETLS_MILTER" -n -c "$CONF" >"$E2E_DIR/check.out" 2>&1 ||
        bail_out "configuration with '$1' refused: $(cat "$E2E_DIR/check.out")"
}
MTA_LINE=3

ACCEPT="250 2.1.5"
REJECT="550 5.7.1"
n=0

# mail MTA CODE REASON DESC: the partner with the right certificate through
# MTA (postfix or sendmail); one test point on the reply and the decision.
mail() {
    local mta=$1 code=$2 reason=$3 desc=$4 port=$PF_PORT rcpt line got problems=()
    [ "$mta" = sendmail ] && port=$SM_PORT
    n=$((n + 1))
    rcpt="r$n@example.org"
    timeout 60 swaks --server "127.0.0.1:$port" --helo client.example --timeout 30 \
        --to "$rcpt" --quit-after RCPT --tls $(ccert partner) --from alice@contoso.example \
        >"$E2E_DIR/smtp/c$n.out" 2>&1
    got=$(rcpt_code "c$n")
    [ "$got" = "$code" ] || problems+=("got reply '$(rcpt_reply "c$n")', want $code")
    wait_milter_log "$DECISION_RE.* rcpt=<$(ere_quote "$rcpt")>" || problems+=("no decision line")
    line=$(decision_for "$rcpt")
    got=$(logfield "$line" reason)
    [ "$got" = "$reason" ] || problems+=("got reason=$got, want $reason")
    if [ ${#problems[@]} -eq 0 ]; then pass "[$mta] $desc"
    else fail "[$mta] $desc" "${problems[@]}" "decision: ${line:-none}"; fi
}

UNKNOWN_TEXT="cannot tell the MTA from macro v=\"$PF_V\": no client certificate is trusted; set mta = \"postfix\" or mta = \"sendmail\" in $CONF"
# count_fixed TEXT: lines of the milter log that contain TEXT.
count_fixed() { grep -cF -- "$1" "$MILTER_LOG"; }

# --- mta auto -------------------------------------------------------------------------

write_conf ""
start_milter "$CONF"
mail postfix "$REJECT" no_client_cert \
    "mta auto, renamed Postfix: the right certificate is not trusted: 550 no_client_cert"
wait_line "$MILTER_LOG" "$(ere_quote "cannot tell the MTA from macro v=")" 5 || :
is "$(count_fixed "$UNKNOWN_TEXT")" 1 "mta auto, renamed Postfix: the warning says what to set"
mail postfix "$REJECT" no_client_cert "mta auto, renamed Postfix, second session: 550 again"
is "$(count_fixed 'cannot tell the MTA from macro v=')" 1 \
    "the warning is logged once per loaded configuration (two sessions, one line)"
debug_has "the debug line says mta=unknown for the renamed Postfix" "r$n@example.org" \
    mta=unknown cert=none
mail sendmail "$ACCEPT" ok "mta auto, sendmail is detected: 250 ok"
is "$(grep -c 'names Sendmail' "$MILTER_LOG")" 0 "mta auto: no contradiction warning for sendmail"

# --- mta = "postfix" ----------------------------------------------------------------------

write_conf 'mta = "postfix";'
ok "reload with mta = \"postfix\"" signal_reload HUP "$MILTER_PID"
mail postfix "$ACCEPT" ok "mta = \"postfix\", renamed Postfix: 250 ok"
debug_has "the debug line says mta=postfix and the certificate" "r$n@example.org" \
    mta=postfix cert=mail.contoso.example issuer="Contoso Demo Root CA"
mail sendmail "$REJECT" no_client_cert \
    "mta = \"postfix\" but sendmail: no certificate trusted: 550 no_client_cert"
CONTRA="mta = \"postfix\" in $CONF:$MTA_LINE but macro v=\""
wait_line "$MILTER_LOG" "$(ere_quote "$CONTRA")" 5
like "$(grep -F -- "$CONTRA" "$MILTER_LOG" | head -n 1)" \
    "$(ere_quote "$CONTRA")8\\.[0-9.]+\" names Sendmail: no client certificate is trusted\$" \
    "the contradiction is logged with FILE:LINE and sendmail's v="
mail sendmail "$REJECT" no_client_cert "mta = \"postfix\" but sendmail, second session: 550 again"
is "$(count_fixed "$CONTRA")" 1 "the contradiction is logged once (two sessions, one line)"
is "$(count_fixed 'cannot tell the MTA from macro v=')" 1 \
    "mta = \"postfix\": no new 'cannot tell' warning"

# --- mta = "sendmail" ---------------------------------------------------------------------

write_conf 'mta = "sendmail";'
ok "reload with mta = \"sendmail\"" signal_reload HUP "$MILTER_PID"
mail sendmail "$ACCEPT" ok "mta = \"sendmail\", sendmail: 250 ok"
mail postfix "$REJECT" no_client_cert \
    "mta = \"sendmail\", renamed Postfix (no {verify}): 550 no_client_cert"

# --- mta auto again: the warning is re-armed by the load ------------------------------------

write_conf ""
ok "reload back to mta auto" signal_reload HUP "$MILTER_PID"
mail postfix "$REJECT" no_client_cert "mta auto again, renamed Postfix: 550 no_client_cert"
wait_count "$(ere_quote "cannot tell the MTA from macro v=")" 2 5
is "$(count_fixed "$UNKNOWN_TEXT")" 2 "a new configuration logs the warning once more"

unlike "$(grep -E 'AddressSanitizer|LeakSanitizer|ThreadSanitizer|runtime error:' \
    "$MILTER_LOG" | head -n 3)" . "no sanitizer report in the milter log"
diag "mta-detect: $((SECONDS - T0)) s"

done_testing
