#!/bin/sh
# reload-session.sh - a reload reaches SMTP sessions that are already open,
# end to end against a real Postfix on loopback (issue 8 review: the
# configuration in force is the last one logged as loaded). A client that
# keeps one SMTP session open across "reload ok" has its next transaction
# judged by the new configuration; one transaction keeps the configuration
# it started with for all its recipients, even across a reload. TAP output.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_prereqs
e2e_init
alloc_port SMTP_PORT
alloc_port MILTER_PORT
make_pki
start_postfix

CONF=$E2E_DIR/forcetls.conf
SENDER='<a@alpha.example>'

# reload_to DOMAIN...: write that configuration, SIGHUP, wait for "reload ok".
reload_to() {
    require_tls_conf "$CONF" "$@"
    signal_reload HUP "$MILTER_PID" 10
}

# code: "550 5.7.1" of the last reply read.
code() { awk '{ print $1, $2 }' <<<"$SMTP_LINE"; }

# rcpt_is RCPT WANT DESC: send RCPT TO in the open session; its reply code is WANT.
rcpt_is() {
    smtp_cmd "RCPT TO:<$1>"
    is "$(code)" "$2" "$3"
}

# Configuration 1: alpha.example is nobody's partner, so plaintext is fine.
require_tls_conf "$CONF" beta.example
start_milter "$CONF"

smtp_open || bail_out "no SMTP greeting from Postfix"
smtp_cmd "EHLO client.example"
smtp_cmd "MAIL FROM:$SENDER"
like "$SMTP_LINE" '^250 ' "transaction 1: MAIL accepted"
rcpt_is r1@example.org "250 2.1.5" "transaction 1 (configuration 1): plaintext from alpha accepted"
smtp_cmd DATA
like "$SMTP_LINE" '^354 ' "transaction 1: DATA goes ahead"
printf 'Subject: one\r\n\r\nfirst\r\n.\r\n' >&7
smtp_read
like "$SMTP_LINE" '^250 2\.0\.0 Ok: queued as ' "transaction 1: mail queued"

# Configuration 2 refuses plaintext from alpha; the session stays open.
ok "configuration 2 (alpha requires TLS) is logged as loaded" reload_to alpha.example beta.example
smtp_cmd "MAIL FROM:$SENDER"
like "$SMTP_LINE" '^250 ' "transaction 2 in the same session: MAIL accepted"
rcpt_is r2@example.org "550 5.7.1" \
    "transaction 2 after reload ok: the same mail is refused by configuration 2"
like "$(decision_for r2@example.org)" 'decision=reject .*connector=alpha .*reason=no_tls' \
    "transaction 2: decision line names connector alpha and reason no_tls"

# A reload in the middle of a transaction: its recipients are judged alike.
ok "configuration 1 is logged as loaded again, mid-transaction" reload_to beta.example
rcpt_is r3@example.org "550 5.7.1" \
    "transaction 2, recipient after the reload: still configuration 2 (one snapshot per transaction)"
smtp_cmd RSET
like "$SMTP_LINE" '^250 ' "RSET ends transaction 2"
smtp_cmd "MAIL FROM:$SENDER"
rcpt_is r4@example.org "250 2.1.5" "transaction 3 after RSET: configuration 1 again, accepted"

# And once more without RSET in between: MAIL after a completed transaction.
smtp_cmd DATA
printf 'Subject: three\r\n\r\nthird\r\n.\r\n' >&7
smtp_read
like "$SMTP_LINE" '^250 2\.0\.0 Ok: queued as ' "transaction 3: mail queued"
ok "configuration 2 is logged as loaded again" reload_to alpha.example beta.example
smtp_cmd "MAIL FROM:$SENDER"
rcpt_is r5@example.org "550 5.7.1" "transaction 4 after a completed transaction: configuration 2"
smtp_cmd QUIT
smtp_close

unlike "$(grep -E 'AddressSanitizer|LeakSanitizer|runtime error:' "$MILTER_LOG" | head -n 3)" . \
    "no sanitizer report in the milter log"
stop_milter
done_testing
