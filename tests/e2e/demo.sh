#!/bin/sh
# demo.sh - show forcetls at work: a throwaway Postfix on loopback with the
# milter running the shipped conf/forcetls.conf (the socket is overridden
# with -p, the pidfile moved into the work directory and the user line left
# out; the policy is the shipped one). A plaintext mail from the partner
# domain contoso.example is refused with 550 5.7.1; the same mail over TLS
# with the partner's client certificate is accepted. Prints the SMTP replies
# and the decision lines and exits 0 only when both outcomes are as expected.
# Needs root (Postfix), swaks and openssl; cleans up everything it started.
# KEEP=1 keeps the work dir.
#
# Run from the source tree after ./configure && make:  sudo tests/e2e/demo.sh
# From another build directory: FORCETLS_MILTER=path/to/forcetls-milter.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Not a TAP script: plain messages and a non-zero exit on problems.
skip_all() { echo "demo: cannot run: $*" >&2; exit 2; }
bail_out() { echo "demo: error: $*" >&2; exit 2; }
diag() { local l; for l in "$@"; do printf '  | %s\n' "$l"; done >&2; }

require_prereqs
SHIPPED=$top_srcdir/conf/forcetls.conf
[ -s "$SHIPPED" ] || bail_out "missing $SHIPPED"
e2e_init
alloc_port SMTP_PORT
alloc_port MILTER_PORT
echo "Setting up: test certificates, Postfix, forcetls-milter ..."
make_pki
start_postfix
# The shipped policy as is; only the pidfile moves into the work directory so
# that the demo never overwrites the pidfile of an installed daemon, and the
# user line goes (the demo creates no account; the socket is overridden with
# -p by start_milter).
CONF=$E2E_DIR/forcetls.conf
sed -E -e "s|^([[:space:]]*pidfile[[:space:]]*=).*|\1 \"$E2E_DIR/forcetls.pid\";|" \
    -e "s|^([[:space:]]*user[[:space:]]*=.*)|# \1|" \
    "$SHIPPED" >"$CONF"
E2E_MILTER_DEBUG=0 start_milter "$CONF"

SENDER=alice@contoso.example
RCPT=bob@example.org

# Print the client commands that matter and the server's reply to each.
show_session() {
    awk '
        /^=== TLS started/ { sub(/^=== /, ""); printf "      %s\n", $0 }
        /^ *[-~]> (MAIL FROM|RCPT TO|STARTTLS|DATA|\.$)/ {
            cmd = $0; sub(/^ *[-~]> /, "", cmd)
            if (cmd == ".") cmd = "(end of message)"
            want = 1; next
        }
        want && /^<[-~*]+ +[0-9][0-9][0-9] / {
            r = $0; sub(/^<[-~*]+ +/, "", r)
            printf "      %-36s %s\n", cmd, r; want = 0
        }' "$E2E_DIR/smtp/$1.out"
}

# Print the decision line of $RCPT without the program prefix.
show_decision() {
    local line
    wait_milter_log "$DECISION_RE.* rcpt=<$RCPT>" 5
    line=$(decision_for "$RCPT")
    echo "    forcetls decision:"
    if [ -n "$line" ]; then
        echo "      ${line#*: }"
    else
        echo "      (none logged)"
    fi
}

result=0
echo
echo "Postfix $(postconf -c "$PF_DIR/conf" -h mail_version 2>/dev/null) on 127.0.0.1:$SMTP_PORT," \
    "forcetls-milter on inet:$MILTER_PORT@127.0.0.1"
echo "Configuration: $SHIPPED (socket and pidfile redirected to the work directory)"

echo
echo "1) $SENDER -> $RCPT in plaintext"
smtp plain --from "$SENDER" --to "$RCPT"
show_session plain
show_decision
if [ "$(rcpt_code plain)" = "550 5.7.1" ] &&
   [ "$(logfield "$(decision_for "$RCPT")" decision)" = reject ]; then
    echo "    => refused with 550 5.7.1, as expected"
else
    echo "    => UNEXPECTED: wanted 550 5.7.1 and decision=reject"
    result=1
fi

echo
echo "2) $SENDER -> $RCPT over TLS with the client certificate" \
    "CN=mail.contoso.example (issuer Contoso Demo Root CA)"
smtp tls --tls $(ccert partner) --from "$SENDER" --to "$RCPT"
show_session tls
# The second decision for the same recipient is the last one logged.
wait_line "$MILTER_LOG" ": s=[^ ]+ decision=accept .*rcpt=<$RCPT>" 5
show_decision
if [ "$(rcpt_code tls)" = "250 2.1.5" ] && [[ $(data_reply tls) == "250 "* ]] &&
   [ "$(logfield "$(decision_for "$RCPT")" decision)" = accept ]; then
    echo "    => accepted and queued for delivery, as expected"
else
    echo "    => UNEXPECTED: wanted 250 and decision=accept"
    result=1
fi

echo
if [ "$result" -eq 0 ]; then
    echo "PASS: plaintext partner mail refused, certificate-authenticated TLS mail accepted."
else
    echo "FAIL: see above. Milter log:"
    sed 's/^/  | /' "$MILTER_LOG"
fi
exit "$result"
