#!/bin/sh
# connector-probe.sh - forcetls connector --probe end to end: a "partner"
# Postfix on loopback presents a lab chain (root, intermediate, leaf with
# subjectAltNames) as its smtpd certificate; the tool reads it over
# STARTTLS and prints the facts and the connector blocks; the blocks load
# with forcetls-milter -n; then a second Postfix, running the milter on
# exactly the generated configuration (the root in its smtpd_tls_CAfile),
# accepts a message presenting the partner's certificate and refuses 550
# one presenting another certificate (another name from the same
# intermediate, the same name from another intermediate, none). The errors:
# no listener, a server without STARTTLS, a server that never answers
# (--timeout 2), a failed handshake, unreadable PEM: one line, exit 1,
# nothing on stdout. TAP output.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_prereqs
TOOL=${FORCETLS_TOOL:-$top_builddir/milter/forcetls}
[ -x "$TOOL" ] || skip_all "forcetls is not built (FORCETLS_TOOL unset)"
e2e_init
alloc_port SMTP_PORT
alloc_port MILTER_PORT
alloc_port PARTNER_PORT
alloc_port NOTLS_PORT
alloc_port DEAD_PORT
alloc_port SILENT_PORT
alloc_port BADTLS_PORT
make_pki

# --- the partner's PKI: root -> intermediate -> leaves -----------------------------

cat >>"$PKI/openssl.cnf" <<'EOF'
[v3_partner]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth,clientAuth
subjectAltName = DNS:mail.partner.example,DNS:mx2.partner.example
EOF
pki_ca proot "Partner Root CA"
pki_cert pint proot "/O=Partner/CN=Partner Issuing CA 1" v3_ca
pki_cert pint2 proot "/O=Partner/CN=Partner Issuing CA 2" v3_ca
pki_cert pleaf pint "/O=Partner/CN=mail.partner.example" v3_partner rsa
pki_cert pother pint "/O=Partner/CN=other.partner.example" v3_partner
pki_cert pleaf2 pint2 "/O=Partner/CN=mail.partner.example" v3_partner
for c in pleaf pother; do cat "$PKI/$c.crt" "$PKI/pint.crt" >"$PKI/$c-chain.pem"; done
cat "$PKI/pleaf2.crt" "$PKI/pint2.crt" >"$PKI/pleaf2-chain.pem"
chmod 644 "$PKI"/*.key

# run_tool NAME ARGS...: the tool's stdout, stderr and status in $E2E_DIR/NAME.*
run_tool() {
    local name=$1; shift
    "$TOOL" connector "$@" >"$E2E_DIR/$name.out" 2>"$E2E_DIR/$name.err"
    echo $? >"$E2E_DIR/$name.rc"
}
rc_of() { cat "$E2E_DIR/$1.rc"; }
out_of() { cat "$E2E_DIR/$1.out"; }
err_of() { cat "$E2E_DIR/$1.err"; }

# error_case DESC NAME WANT_LINE: exit 1, exactly WANT_LINE on stderr, no stdout.
error_case() {
    local desc=$1 name=$2 want=$3
    if [ "$(rc_of "$name")" = 1 ] && [ "$(err_of "$name")" = "$want" ] &&
       [ ! -s "$E2E_DIR/$name.out" ] && [ "$(wc -l <"$E2E_DIR/$name.err")" = 1 ]; then
        pass "$desc"
    else
        fail "$desc" "got exit $(rc_of "$name"), stderr: $(err_of "$name")" \
            "stdout: $(head -c 300 "$E2E_DIR/$name.out")" "want exit 1, stderr: $want"
    fi
}

# --- the partner's Postfix and the probe -------------------------------------

# The partner: its smtpd certificate is the lab leaf with its intermediate.
SMTP_PORT_RECEIVER=$SMTP_PORT
SMTP_PORT=$PARTNER_PORT
PF_MILTERS= PF_EXTRA_MAIN="smtpd_tls_cert_file = $PKI/pleaf-chain.pem
smtpd_tls_key_file = $PKI/pleaf.key" start_postfix

run_tool probe --probe "127.0.0.1:$PARTNER_PORT" --CAfile "$PKI/proot.crt"
GEN=$E2E_DIR/probe.out
is "$(rc_of probe)" 0 "--probe: exit 0"
diag "$(cat "$GEN")"
is "$(grep '^# subject CN:' "$GEN")" '# subject CN:  "mail.partner.example"' \
    "the leaf's CN"
is "$(grep '^# DNS names:' "$GEN")" \
    '# DNS names:   "mail.partner.example", "mx2.partner.example"' "the subjectAltNames"
is "$(grep '^# issuer CN:' "$GEN")" \
    '# issuer CN:   "Partner Issuing CA 1" (what issuers must hold)' "the issuing CA's CN"
is "$(grep '^# root:' "$GEN")" \
    "# root:        \"Partner Root CA\" (the chain verifies with --CAfile \"$PKI/proot.crt\")" \
    "the root of the verified chain"
is "$(grep '^# key:' "$GEN")" '# key:         RSA 2048' "the key"
like "$(grep '^# TLS:' "$GEN")" '^# TLS: +TLSv1\.3, cipher TLS_[A-Z0-9_]+ \([0-9]+ bits\), forward secrecy$' \
    "the negotiated version and cipher"
like "$(grep -A1 'names = \[' "$GEN" | tr -d '\n')" \
    'names = \[ "mail\.partner\.example" \]; +issuers = \[ "Partner Issuing CA 1" \];' \
    "the identity: the CN and the issuer CN"
like "$(grep 'require_forward_secrecy' "$GEN")" 'require_forward_secrecy = true;' \
    "forward secrecy required: the probe negotiated it"
like "$(grep 'tls_domain' "$GEN")" 'tls_domain = "mail\.partner\.example";' \
    "the outbound block's tls_domain"

err=$("$FORCETLS_MILTER" -n -c "$GEN" 2>&1 >/dev/null)
is "$?" 0 "the generated blocks load with forcetls-milter -n"
unlike "$err" "$GEN:[0-9]+:" "and -n names no line of them ($err)"

run_tool byname --probe "localhost:$PARTNER_PORT"
if [ "$(rc_of byname)" = 0 ] && grep -q '^# subject CN:  "mail.partner.example"' "$E2E_DIR/byname.out" &&
   grep -q '^# verify: *not checked' "$E2E_DIR/byname.out" &&
   grep -q '^# host name:   "localhost" is NOT a name of the certificate$' "$E2E_DIR/byname.out"; then
    pass "--probe by host name (SNI, every address tried), no --CAfile: not verified, the name checked"
else
    fail "--probe by host name" "got exit $(rc_of byname): $(err_of byname)" "$(out_of byname)"
fi

# --- the errors ------------------------------------------------------------------

stop_postfix
mv "$E2E_DIR/postfix" "$E2E_DIR/partner-postfix"

run_tool dead --probe "127.0.0.1:$DEAD_PORT"
error_case "no listener: connection refused" dead \
    "forcetls: 127.0.0.1:$DEAD_PORT: cannot connect: Connection refused"

# Fake servers we start and stop by PID: one that accepts and never speaks,
# one without STARTTLS, one that answers STARTTLS with 220 and then no TLS.
cat >"$E2E_DIR/fake.pl" <<'EOF'
use IO::Socket::INET;
my ($port, $mode) = @ARGV;
my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => $port,
                              Listen => 10, ReuseAddr => 1) or die "listen: $!";
my @keep;
$SIG{PIPE} = 'IGNORE';
alarm 120;
while (my $c = $s->accept) {
    push @keep, $c;
    next if $mode eq 'silent';
    $c->autoflush(1);
    print $c "220 fake ESMTP\r\n";
    defined(<$c>) or next;     # wait_port's connection closes at once
    if ($mode eq 'nostarttls') {
        print $c "250-fake\r\n250-PIPELINING\r\n250 8BITMIME\r\n";
        <$c>; close $c; next;
    }
    print $c "250-fake\r\n250 STARTTLS\r\n";
    <$c>; print $c "220 2.0.0 Ready to start TLS\r\n";
    my $buf; sysread($c, $buf, 4096);
    print $c "HTTP/1.0 400 Bad Request\r\n\r\n";
    close $c;
}
EOF
perl "$E2E_DIR/fake.pl" "$SILENT_PORT" silent & track_pid $!
perl "$E2E_DIR/fake.pl" "$BADTLS_PORT" badtls & track_pid $!
perl "$E2E_DIR/fake.pl" "$NOTLS_PORT" nostarttls & track_pid $!
wait_port "$SILENT_PORT" 10 && wait_port "$BADTLS_PORT" 10 &&
    wait_port "$NOTLS_PORT" 10 || bail_out "the fake servers do not listen"

run_tool notls --probe "127.0.0.1:$NOTLS_PORT"
error_case "a server without STARTTLS" notls \
    "forcetls: 127.0.0.1:$NOTLS_PORT: the server does not offer STARTTLS"

start=$(date +%s%N)
run_tool silent --probe "127.0.0.1:$SILENT_PORT" --timeout 2
ms=$(( ($(date +%s%N) - start) / 1000000 ))
error_case "a server that never answers: --timeout 2" silent \
    "forcetls: 127.0.0.1:$SILENT_PORT: timed out after 2 s waiting for the greeting"
if [ "$ms" -ge 1900 ] && [ "$ms" -lt 4000 ]; then
    pass "the timeout holds: ${ms} ms"
else
    fail "the timeout holds" "got ${ms} ms, want about 2000"
fi

run_tool badtls --probe "127.0.0.1:$BADTLS_PORT"
like "$(err_of badtls)" "^forcetls: 127\.0\.0\.1:$BADTLS_PORT: TLS handshake failed: [a-z]" \
    "a failed handshake: one line naming it"
is "$(rc_of badtls):$(wc -l <"$E2E_DIR/badtls.err"):$(wc -c <"$E2E_DIR/badtls.out")" "1:1:0" \
    "a failed handshake: exit 1, one line, nothing on stdout"

printf -- '-----BEGIN CERTIFICATE-----\nAAA!!\n-----END CERTIFICATE-----\n' >"$E2E_DIR/bad.pem"
run_tool badpem --cert "$E2E_DIR/bad.pem"
error_case "unreadable PEM" badpem \
    "forcetls: $E2E_DIR/bad.pem: certificate 1: unreadable PEM: bad base64 decode"

# --- the receiving Postfix with the generated connector -------------------------------

# swaks (20201014) presents its certificate without a chain
# (CTX_use_certificate_file), so the receiving Postfix's CA file holds the
# intermediates beside the root; pint2 being trusted makes the issuer check
# the connector's own.
SMTP_PORT=$SMTP_PORT_RECEIVER
cat "$PKI/proot.crt" "$PKI/pint.crt" "$PKI/pint2.crt" >"$PKI/partner-cas.pem"
start_milter "$GEN"
PF_EXTRA_MAIN="smtpd_tls_CAfile = $PKI/partner-cas.pem" start_postfix

# send NAME CERT...: a message from the partner's domain with swaks options.
send() {
    local name=$1; shift
    smtp "$name" --tls "$@" --from "alice@partner.example" --to "$name@example.org"
}

send accepted --tls-cert "$PKI/pleaf-chain.pem" --tls-key "$PKI/pleaf.key"
is "$(rcpt_code accepted)" "250 2.1.5" "the partner's certificate: RCPT accepted"
like "$(data_reply accepted)" '^250 ' "the partner's certificate: the message is queued"
like "$(decision_for accepted@example.org)" \
    'decision=accept direction=inbound connector=partner\.example .*reason=ok' \
    "decision accept by the generated connector"

send othername --tls-cert "$PKI/pother-chain.pem" --tls-key "$PKI/pother.key"
is "$(rcpt_code othername)" "550 5.7.1" "another certificate of the same intermediate: 550"
like "$(decision_for othername@example.org)" 'reason=cert_name_mismatch' \
    "reason cert_name_mismatch"

send otherca --tls-cert "$PKI/pleaf2-chain.pem" --tls-key "$PKI/pleaf2.key"
is "$(rcpt_code otherca)" "550 5.7.1" "the same name from another intermediate: 550"
like "$(decision_for otherca@example.org)" 'reason=cert_issuer_mismatch' \
    "reason cert_issuer_mismatch"

send nocert
is "$(rcpt_code nocert)" "550 5.7.1" "TLS without a certificate: 550"

unlike "$(grep -E 'AddressSanitizer|LeakSanitizer|runtime error:' "$MILTER_LOG" \
    "$E2E_DIR"/*.err | head -n 3)" . "no sanitizer report"

done_testing
