#!/bin/sh
# inbound.sh - the inbound connector matrix (inbound_matrix.sh), end to end
# against a real Postfix on loopback: the milter on a test configuration with
# several connectors, and swaks sessions that vary the sender, the client
# address, TLS, the cipher and the client certificate. Each case checks the
# SMTP reply of the RCPT (code and enhanced code), that the milter (not
# Postfix) gave it, and the decision line (decision, reason, connector).
# Postfix's own part: its replies carry no address, it logs
# "milter-reject: RCPT", and its queue id exists only once the first
# recipient is accepted. TAP output.
# shellcheck disable=SC2046  # $(ccert NAME) expands to four swaks words
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/inbound_matrix.sh"

require_prereqs
e2e_init
alloc_port SMTP_PORT
alloc_port MILTER_PORT
make_pki
start_postfix
matrix_start_milter

# --- Postfix's profile for the matrix --------------------------------------------

MTA=Postfix
MTA_QUEUED_RE='^250 2\.0\.0 Ok: queued as ([0-9A-Za-z]+)'

# Postfix puts nothing between the enhanced code and the milter's text.
mta_text_re() { :; }

# Postfix logs a milter's refusal as "milter-reject: RCPT from ...: CODE ... to=<RCPT>".
mta_refusal_logged() {
    maillog_has "milter-reject: RCPT from .*: $(ere_quote "$1") .* to=<$2>"
}

# Postfix has no queue id before the first recipient is accepted: s= is the
# session id at the first RCPT, the queue id at the second.
mta_session_ids() {
    local s1=$1 s2=$2 qid=$3
    is "$s2" "$qid" "s= is Postfix's queue id once it exists (second RCPT)"
    if [ -n "$s1" ] && [ "$s1" != "$qid" ]; then
        pass "s= is the session id before a queue id exists (first RCPT)"
    else
        fail "s= is the session id before a queue id exists (first RCPT)" \
            "got s=$s1, want a session id different from queue id $qid"
    fi
}

inbound_matrix postmaster@example.org Postmaster@EXAMPLE.org

unlike "$(grep -E 'AddressSanitizer|LeakSanitizer|ThreadSanitizer|runtime error:' \
    "$MILTER_LOG" | head -n 3)" . "no sanitizer report in the milter log"

done_testing
