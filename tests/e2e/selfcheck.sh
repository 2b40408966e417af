#!/bin/sh
# selfcheck.sh - the self-check that catches an MTA which never passes a
# client certificate: a real Postfix WITHOUT smtpd_tls_ask_ccert, partners
# that must authenticate with certificates, TLS sessions that therefore
# never show one. The milter must say so, once, naming the likely cause;
# and stay quiet while it has too few sessions to judge. TAP output.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_prereqs
e2e_init
make_pki
alloc_port SMTP_PORT
alloc_port MILTER_PORT

CONF=$E2E_DIR/forcetls.conf
cat >"$CONF" <<EOF
inbound = (
  { name = "contoso"; sender_domains = [ "contoso.example" ];
    tls_sender_certificate_names = [ "mail.contoso.example" ]; }
);
EOF
start_milter "$CONF"
# The misconfiguration under test: Postfix never asks for client certificates.
PF_EXTRA_MAIN="smtpd_tls_ask_ccert = no" start_postfix

SELFCHECK='self-check: .* smtpd_tls_ask_ccert = yes'

# session N: a partner presenting its (trusted) certificate over TLS.
session() {
    smtp "s$1" --tls $(ccert partner) --from alice@contoso.example --to "r$1@example.org"
}

for i in 1 2 3 4; do session "$i"; done
is "$(rcpt_code s4)" "550 5.7.1" "without smtpd_tls_ask_ccert the certificate never arrives: refused"
like "$(decision_for r4@example.org)" 'reason=no_client_cert' "reason no_client_cert"
is "$(grep -cE -- "$SELFCHECK" "$MILTER_LOG")" "0" "four sessions: too few to warn"

session 5
wait_milter_log "$SELFCHECK" >/dev/null
is "$(grep -cE -- "$SELFCHECK" "$MILTER_LOG")" "1" "the fifth session triggers the self-check warning"
for i in 6 7 8; do session "$i"; done
wait_milter_log 'rcpt=<r8@example.org>' >/dev/null
is "$(grep -cE -- "$SELFCHECK" "$MILTER_LOG")" "1" "the warning is logged once, not per session"

# A reload re-arms it: the next configuration may have fixed the cause.
kill -HUP "$MILTER_PID"
wait_milter_log 'reload ok' >/dev/null
for i in 9 10 11 12 13; do session "$i"; done
wait_milter_log 'rcpt=<r13@example.org>' >/dev/null
sleep 0.2
is "$(grep -cE -- "$SELFCHECK" "$MILTER_LOG")" "2" "after a reload the self-check warns again"

done_testing
