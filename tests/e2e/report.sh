#!/bin/sh
# report.sh - the `forcetls report` golden test (issue 11). The decision log
# is made by the end-to-end run itself, never written by hand: a known set
# of mails through a real Postfix AND a real sendmail 8.17 (both on
# loopback, one milter under test running with -f, log_all = true), plus a
# few sessions spoken to the same milter straight over the milter protocol
# (perl, Postfix's macro dialect) for what no MTA passes on: a 4 KB client
# certificate CN (the daemon cuts it and ends it in "..."), a CN with CR,
# LF, quotes, '=' and a control byte, and an unparsable sender
# (reason=internal). The daemon's stderr lines ("forcetls-milter[PID]: ...")
# are then copied, byte for byte, behind the prefixes report reads: RFC 3164,
# RFC 5424 (fractions, an offset), journalctl short-iso and -o cat, with
# timestamps the script assigns (one second apart). Hostile lines follow:
# foreign programs (Postfix's own maillog), a line of another program that
# quotes a forcetls-milter line, a decision line cut in the middle (twice),
# a line over 64 KiB, other programs whose message is a whole decision line.
# The connectors: contoso (a partner on TLS 1.3 with a certificate, rotating
# from issuer CA-A to CA-B, both identities windowed), fabrikam (TLSv1 and
# TLSv1.1, allowed by its own floor), tailspin (action monitor, failing),
# staged (monitor_until: decision=monitor would=reject) and outpartner
# (outbound, require_session_tls); unmatched senders: verified.example
# (always a verified certificate), plain.example (never TLS) and <>.
# `forcetls report --json` is compared field by field with what the script
# sent (lines read/decisions/skipped/internal, per connector recipients,
# decisions, reasons, would, tls_versions, ciphers, cert_names, issuers,
# clients, first/last seen; unmatched domains), the same numbers from
# stdin, "-", and several files, --since/--until on the RFC 5424 copy (and
# as YYYY-MM-DD), the year of RFC 3164 lines dated ahead of now. The text
# form: its call-outs (the TLSv1/1.1 partner, monitor failures that would
# be refused, -c with the running configuration: a rotation in progress,
# -c with the configuration after the rotation: an issuer no identity
# lists, without -c: the issuer not seen before, the candidate unmatched
# domain), hostile values on one line. The README's example report is
# $E2E_DIR/readme-report.txt (KEEP=1 keeps it) and must equal the one in
# README.md, times aside. Runs in about 40 s.
# TAP output.
# shellcheck disable=SC2046  # $(ccert NAME) expands to four swaks words
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# The RFC 3164 copies carry UTC times (gmtime below); the report reads such
# stamps in the reader's local time, so the reader's zone is UTC here.
export TZ=UTC
. "$(dirname "${BASH_SOURCE[0]}")/sendmail_lib.sh"

# Month names of RFC 3164 prefixes in English, whatever the locale.
export LC_ALL=C
require_prereqs
require_sendmail_prereqs
command -v jq >/dev/null 2>&1 || skip_all "jq is not installed (install-deps.sh --test)"
# The tool: $FORCETLS_TOOL (make check sets it), else beside the daemon.
[ -n "${FORCETLS_TOOL:-}" ] || FORCETLS_TOOL=$(dirname "$FORCETLS_MILTER")/forcetls
[ -x "$FORCETLS_TOOL" ] || skip_all "forcetls (the tool) is not built: $FORCETLS_TOOL"
e2e_init
sendmail_install_cleanup
T0=$SECONDS

CA_A="Contoso Demo Root CA"
CA_B="Contoso Demo Issuing CA B"
EVIL_CN='mail.contoso.example" decision=accept x="'
# The longest CN the openssl CLI writes (ub-common-name, 64 bytes).
LONG_CN="$(printf '%*s' 48 '' | tr ' ' m).contoso.example"
# shellcheck disable=SC2034  # read by make_pki
E2E_ISSUING_CAS=("issuing_b|ca2|$CA_B")
# shellcheck disable=SC2034  # read by make_pki
E2E_EXTRA_CERTS=(
    "rot_new|issuing_b|/O=Contoso/CN=mail.contoso.example"
    "tailspin|lab|/O=Tailspin/CN=mail.tailspin.example"
    "verified|lab|/O=Verified/CN=mx.verified.example"
    "evil|lab|/O=Contoso/CN=$EVIL_CN"
    "long64|lab|/O=Contoso/CN=$LONG_CN"
)

alloc_port PF_PORT
alloc_port SM_PORT
alloc_port MILTER_PORT
make_pki

# TLS 1.0 and 1.1 need OpenSSL's security level 0 on both ends (OpenSSL 3
# refuses them at level 1). A private OpenSSL configuration for this run:
# swaks and sendmail inherit OPENSSL_CONF, Postfix imports it.
cat >"$E2E_DIR/openssl-legacy.cnf" <<'EOF'
# forcetls e2e (report.sh): allow TLSv1 and TLSv1.1 on loopback
openssl_conf = openssl_init
[openssl_init]
ssl_conf = ssl_sect
[ssl_sect]
system_default = system_default_sect
[system_default_sect]
MinProtocol = TLSv1
CipherString = DEFAULT:@SECLEVEL=0
EOF
export OPENSSL_CONF=$E2E_DIR/openssl-legacy.cnf
# shellcheck disable=SC2034  # read by postfix_write_conf
PF_EXTRA_MAIN="import_environment = MAIL_CONFIG MAIL_DEBUG MAIL_LOGTAG TZ LANG=C OPENSSL_CONF=$OPENSSL_CONF
smtpd_tls_protocols = >=TLSv1"

# Sendmail clears its environment: it gets the security level in its own
# CipherList option (the generated .mc of sendmail_lib.sh plus one line).
eval "$(declare -f sendmail_write_mc | sed '1s/^sendmail_write_mc/report_sendmail_write_mc/')"
sendmail_write_mc() {
    report_sendmail_write_mc "$@"
    sed -i "s/^MAILER(\`local')dnl\$/define(\`confCIPHER_LIST', \`DEFAULT:@SECLEVEL=0')dnl\n&/" \
        "$SM_DIR/test.mc"
}

SMTP_PORT=$PF_PORT
start_postfix
sendmail_fetch
# shellcheck disable=SC2034  # read by start_sendmail
SMTP_PORT=$SM_PORT
start_sendmail stock
diag "Postfix on 127.0.0.1:$PF_PORT, sendmail $SM_VERSION on 127.0.0.1:$SM_PORT," \
    "set up in $((SECONDS - T0)) s; the tool: $FORCETLS_TOOL"

# conf FILE ROTATED: the configuration; ROTATED=1 is the one after the
# rotation (contoso lists only its new issuer, no windows).
conf() {
    local ids
    if [ "$2" = 1 ]; then
        ids="{ names = [ \"mail.contoso.example\" ]; issuers = [ \"$CA_B\" ]; }"
    else
        ids="{ names = [ \"mail.contoso.example\" ]; issuers = [ \"$CA_A\" ];
        valid_until = \"2099-01-01\"; },
      { names = [ \"mail.contoso.example\" ]; issuers = [ \"$CA_B\" ];
        valid_from = \"2020-01-01\"; }"
    fi
    cat >"$1" <<EOF
# forcetls e2e: report golden cases (tests/e2e/report.sh)
default_action = "reject";
min_tls_version = "TLSv1.2";
log_all = true;
inbound = (
  { name = "contoso";
    sender_domains = [ "contoso.example" ];
    certificates = (
      $ids
    );
    action = "reject";
  },
  { name = "fabrikam";
    sender_domains = [ "fabrikam.example" ];
    min_tls_version = "TLSv1";
    action = "reject";
  },
  { name = "tailspin";
    sender_domains = [ "tailspin.example" ];
    tls_sender_certificate_names = [ "mail.tailspin.example" ];
    action = "monitor";
  },
  { name = "staged";
    sender_domains = [ "staged.example" ];
    require_tls = true;
    action = "reject";
    monitor_until = "2099-01-01";
  }
);
outbound = (
  { name = "outpartner";
    recipient_domains = [ "outpartner.example" ];
    tls_settings = "encryption-only";
    require_session_tls = true;
    action = "reject";
  }
);
EOF
}
CONF=$E2E_DIR/report.conf
ROTATED=$E2E_DIR/rotated.conf
conf "$CONF" 0
conf "$ROTATED" 1
for c in "$CONF" "$ROTATED"; do
    "$FORCETLS_MILTER" -n -c "$c" >"$E2E_DIR/check.out" 2>&1 ||
        bail_out "test configuration refused: $(cat "$E2E_DIR/check.out")"
done
E2E_MILTER_DEBUG=0 start_milter "$CONF"

# --- the mails, and what the script expects from them -------------------------

# EXP[KEY] = count. Keys: CONN|recipients, CONN|decisions|accept,
# CONN|MAP|VALUE (MAP: reasons would tls_versions cert_names issuers
# clients); CONN is "inbound/NAME", "outbound/NAME" or "unmatched/DOMAIN".
declare -A EXP=()
CONNS=()          # connectors and unmatched domains, in order of first line
NDEC=0            # decision lines the daemon logged (counted by us)
NINTERNAL=0
n=0
TLS13=(--tls)
TLS10=(--tls --tls-protocol tlsv1 --tls-cipher 'ECDHE-RSA-AES128-SHA:@SECLEVEL=0')
TLS11=(--tls --tls-protocol tlsv1_1 --tls-cipher 'ECDHE-RSA-AES256-SHA:@SECLEVEL=0')

# The cipher each TLS version gets here (forced by swaks for 1.0 and 1.1;
# both MTAs and the raw sessions prefer this one for 1.3).
declare -A CIPHER_OF=([none]=none [TLSv1]=ECDHE-RSA-AES128-SHA
    [TLSv1.1]=ECDHE-RSA-AES256-SHA [TLSv1.3]=TLS_AES_256_GCM_SHA384)

# bump KEY [N]: add N (default 1) to EXP[KEY].
bump() { EXP[$1]=$(( ${EXP[$1]:-0} + ${2:-1} )); }

# expect CONN DECISION WOULD REASON TLS CERT ISSUER CLIENT: one recipient.
expect() {
    local c=$1
    [ -n "${EXP[$c|recipients]:-}" ] || CONNS+=("$c")
    bump "$c|recipients"
    bump "$c|decisions|$2"
    bump "$c|tls_versions|$5"
    bump "$c|cert_names|$6"
    [ "$6" = none ] || bump "$c|issuers|$7"
    if [[ $c != unmatched/* ]]; then
        bump "$c|reasons|$4"
        [ "$3" = - ] || bump "$c|would|$3"
        bump "$c|clients|$8"
        bump "$c|ciphers|${CIPHER_OF[$5]}"
    fi
    NDEC=$((NDEC + 1))
}

# m MTA CONN DECISION WOULD REASON TLS CERT ISSUER NRCPT [swaks options]: one
# session through MTA with NRCPT fresh recipients (in CONN's domain when
# CONN is outbound); waits for their decision lines and checks the
# decision and reason the daemon logged (a wrong one is a failed test
# point: the report's expectations would be wrong too).
m() {
    local mta=$1 c=$2 dec=$3 would=$4 reason=$5 tls=$6 cert=$7 issuer=$8 k=$9
    local port=$PF_PORT dom=example.org to=() i r line got problems=()
    shift 9
    [ "$mta" = sendmail ] && port=$SM_PORT
    [[ $c == outbound/* ]] && dom="${c#outbound/}.example"
    n=$((n + 1))
    for ((i = 1; i <= k; i++)); do to+=("r$n-$i@$dom"); done
    timeout 60 swaks --server "127.0.0.1:$port" --helo client.example --timeout 30 \
        --to "$(IFS=,; echo "${to[*]}")" --quit-after RCPT "$@" \
        >"$E2E_DIR/smtp/c$n.out" 2>&1
    for r in "${to[@]}"; do
        if ! wait_milter_log "$DECISION_RE.* rcpt=<$(ere_quote "$r")>" 10; then
            problems+=("no decision line for <$r>")
            continue
        fi
        line=$(decision_for "$r")
        got="$(logfield "$line" decision) $(logfield "$line" would || echo -)"
        got+=" $(logfield "$line" reason) $(logfield "$line" tls)"
        got+=" $(logfield "$line" direction)/$(logfield "$line" connector)"
        [ "$got" = "$dec $would $reason $tls ${c/unmatched\/*/none/none}" ] ||
            problems+=("got '$got'," "want '$dec $would $reason $tls ${c/unmatched\/*/none/none}'")
        expect "$c" "$dec" "$would" "$reason" "$tls" "$cert" "$issuer" 127.0.0.1
    done
    if [ ${#problems[@]} -eq 0 ]; then
        [ "$would" = - ] || dec+=" would=$would"
        pass "[$mta] c$n: $c $dec $reason over $tls: logged as sent"
    else
        fail "[$mta] c$n: $c $dec $reason over $tls: logged as sent" "${problems[@]}" \
            "$(tail -n 3 "$E2E_DIR/smtp/c$n.out")"
    fi
}

C=alice@contoso.example
IN=inbound
# mails MTA: the set of sessions through MTA (the same for both MTAs).
mails() {
    local x=$1 CM=mail.contoso.example
    m "$x" $IN/contoso accept - ok TLSv1.3 $CM "$CA_A" 2 "${TLS13[@]}" $(ccert partner) --from "$C"
    m "$x" $IN/contoso accept - ok TLSv1.3 $CM "$CA_A" 1 "${TLS13[@]}" $(ccert partner) --from "$C"
    m "$x" $IN/contoso reject - no_tls none none - 1 --from "$C"
    m "$x" $IN/contoso accept - ok TLSv1.3 $CM "$CA_B" 2 "${TLS13[@]}" $(ccert rot_new) --from "$C"
    m "$x" $IN/fabrikam accept - ok TLSv1 none - 2 "${TLS10[@]}" --from f@fabrikam.example
    m "$x" $IN/fabrikam accept - ok TLSv1.1 none - 1 "${TLS11[@]}" --from f@fabrikam.example
    m "$x" $IN/fabrikam accept - ok TLSv1.3 none - 1 "${TLS13[@]}" --from f@fabrikam.example
    m "$x" $IN/tailspin monitor - no_tls none none - 2 --from t@tailspin.example
    m "$x" $IN/tailspin monitor - no_client_cert TLSv1.3 none - 1 "${TLS13[@]}" \
        --from t@tailspin.example
    m "$x" $IN/tailspin accept - ok TLSv1.3 mail.tailspin.example "$CA_A" 1 "${TLS13[@]}" \
        $(ccert tailspin) --from t@tailspin.example
    m "$x" $IN/staged monitor reject no_tls none none - 3 --from s@staged.example
    m "$x" $IN/staged accept - ok TLSv1.3 none - 1 "${TLS13[@]}" --from s@staged.example
    m "$x" outbound/outpartner reject - no_tls none none - 2 --from app@example.org
    m "$x" outbound/outpartner accept - ok TLSv1.3 none - 1 "${TLS13[@]}" --from app@example.org
    m "$x" unmatched/verified.example accept - ok TLSv1.3 mx.verified.example "$CA_A" 2 \
        "${TLS13[@]}" $(ccert verified) --from v@Verified.Example
    m "$x" unmatched/verified.example accept - ok TLSv1.2 mx.verified.example "$CA_A" 1 \
        --tls --tls-protocol tlsv1_2 $(ccert verified) --from v@verified.example
    m "$x" unmatched/plain.example accept - ok none none - 2 --from p@plain.example
    m "$x" unmatched/ accept - ok none none - 1 --from '<>'
}

# hostile_mails MTA: a quoted sender with '=', a certificate CN with quotes,
# one of 64 bytes.
hostile_mails() {
    m "$1" $IN/contoso reject - no_tls none none - 1 --from '"a b=c"@contoso.example'
    m "$1" $IN/contoso reject - cert_name_mismatch TLSv1.3 "$EVIL_CN" "$CA_A" 1 \
        "${TLS13[@]}" $(ccert evil) --from "$C"
    m "$1" $IN/contoso reject - cert_name_mismatch TLSv1.3 "$LONG_CN" "$CA_A" 1 \
        "${TLS13[@]}" $(ccert long64) --from "$C"
}

for MTA in postfix sendmail; do
    t1=$SECONDS
    mails "$MTA"
    diag "[$MTA] $((SECONDS - t1)) s"
done
# The lines so far: the README's example report ends here (--until).
NCLEAN=$(wc -l <"$MILTER_LOG")
for MTA in postfix sendmail; do hostile_mails "$MTA"; done

# --- what no MTA passes on: the milter protocol spoken directly ---------------

# rawmilter.pl PORT SENDER CERT_CN ISSUER RCPT: one session from 192.0.2.7
# in Postfix's dialect (macro v, {tls_version} ... {cert_subject} at MAIL).
cat >"$E2E_DIR/rawmilter.pl" <<'EOF'
use strict; use warnings; use IO::Socket::INET;
my ($port, $sender, $cn, $issuer, $rcpt) = @ARGV;
my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                              Timeout => 10) or die "connect: $!";
sub put { my ($cmd, $data) = @_; print $s pack('N', 1 + length $data), $cmd, $data; }
sub take_n {
    my ($n, $buf) = ($_[0], '');
    while (length $buf < $n) {
        my $got = sysread($s, $buf, $n - length $buf, length $buf);
        die "eof from the milter\n" unless $got;
    }
    return $buf;
}
sub take { my $b = take_n(unpack('N', take_n(4))); return (substr($b, 0, 1), substr($b, 1)); }
$s->autoflush(1);
put('O', pack('NNN', 6, 0x1ff, 0)); take();
put('D', "C" . "v\0" . "Postfix 3.7.11\0");
put('C', "client.example\0" . '4' . pack('n', 25) . "192.0.2.7\0"); take();
put('D', "M" . join('', map { "$_\0" } '{tls_version}', 'TLSv1.3',
    '{cipher}', 'TLS_AES_256_GCM_SHA384', '{cipher_bits}', '256',
    '{cert_subject}', $cn, '{cert_issuer}', $issuer));
put('M', "$sender\0"); take();
put('R', "$rcpt\0");
my ($cmd, $text) = take();
print "reply $cmd\n";
put('Q', '');
EOF
BIG_CN="$(printf '%*s' 4080 '' | tr ' ' x).contoso.example"
CRLF_CN=$'evil\r\nname="x" cert=none\x01\xc3\xa9'
# raw DESC SENDER CN ISSUER RCPT: one raw session, and its decision line.
raw() {
    timeout 30 perl "$E2E_DIR/rawmilter.pl" "$MILTER_PORT" "$2" "$3" "$4" "<$5>" \
        >"$E2E_DIR/raw.out" 2>&1 || diag "rawmilter: $(cat "$E2E_DIR/raw.out")"
    if wait_milter_log "$DECISION_RE.* rcpt=<$(ere_quote "$5")>" 10; then
        RAW_LINE=$(decision_for "$5")
        pass "$1: logged"
    else
        RAW_LINE=
        fail "$1: logged" "no decision line for <$5>"
    fi
}
raw "a 4 KB certificate CN" "<a@contoso.example>" "$BIG_CN" "$CA_A" raw1@example.org
got=$(logfield "$RAW_LINE" cert)
BIG_CUT=$got
if [[ $got == *... ]] && [ ${#got} -lt 300 ] && [ "${BIG_CN:0:$(( ${#got} - 3 ))}" = "${got%...}" ]; then
    pass "the daemon cut the 4 KB CN and marked it (${#got} bytes, ending in ...)"
else
    fail "the daemon cut the 4 KB CN and marked it" "got cert=${got:0:80}... (${#got} bytes)"
fi
expect $IN/contoso reject - cert_name_mismatch TLSv1.3 "$BIG_CUT" "$CA_A" 192.0.2.7
raw "a CN with CR, LF, quotes, = and \\x01" "<a@contoso.example>" "$CRLF_CN" "$CA_A" raw2@example.org
like "$RAW_LINE" ' cert="evil\\r\\nname=\\"x\\" cert=none\\x01\\xc3\\xa9" issuer=' \
    "the hostile CN is one escaped value in one line"
expect $IN/contoso reject - cert_name_mismatch TLSv1.3 "$CRLF_CN" "$CA_A" 192.0.2.7
raw "an unparsable sender" "<bad sender@@x>" "$CA_A" "$CA_A" raw3@example.org
like "$RAW_LINE" 'decision=tempfail direction=none connector=none stage=rcpt reason=internal ' \
    "an unparsable sender: reason=internal"
NDEC=$((NDEC + 1))
NINTERNAL=$((NINTERNAL + 1))

# A sender whose local part is longer than the daemon logs a value (Postfix
# passes it on): the logged sender is cut before its '@'. This line is set
# aside for one check of its own (below), the copies have all the others.
LONG_FROM="$(printf '%*s' 300 '' | tr ' ' l)@longlocal.example"
timeout 60 swaks --server "127.0.0.1:$PF_PORT" --helo client.example --timeout 30 \
    --to cut1@example.org --quit-after RCPT --from "$LONG_FROM" >"$E2E_DIR/smtp/cut.out" 2>&1
wait_milter_log "$DECISION_RE.* rcpt=<cut1@example\.org>" 10
CUT_LINE=$(decision_for cut1@example.org)
like "$CUT_LINE" 'connector=none .* sender=<l{200,}\.\.\. rcpt=<cut1@example\.org> ' \
    "[postfix] a 300-byte local part: the daemon logs the sender cut before its '@'"

stop_milter
is "$(grep -Ec -- "$DECISION_RE" "$MILTER_LOG")" "$((NDEC + 1))" \
    "the daemon logged one decision line per recipient sent ($((NDEC + 1)))"
is "$(grep -Evc '^forcetls-milter\[[0-9]+\]: ' "$MILTER_LOG")" 0 \
    "every line of the daemon's stderr is one forcetls-milter line"

# --- the log copies ------------------------------------------------------------

LOGS=$E2E_DIR/logs
mkdir -p "$LOGS"
SRC=$LOGS/stderr.log
grep -vxF -- "$CUT_LINE" "$MILTER_LOG" >"$SRC"
NLOG=$(wc -l <"$SRC")
# Timestamps: line i (from 0) at BASE + i seconds; BASE two hours ago.
BASE=$(( $(date +%s) - 7200 ))
# wrap FORMAT: the daemon's lines behind a prefix (the line stays as it is).
wrap() {
    perl -e '
        use POSIX qw(strftime);
        my ($fmt, $t) = @ARGV;
        while (my $l = <STDIN>) {
            chomp $l;
            my ($pid, $msg) = $l =~ /^forcetls-milter\[(\d+)\]: (.*)$/s or die "bad line";
            my @g = gmtime($t);
            if ($fmt eq "rfc3164") {
                my $d = strftime("%b %e %H:%M:%S", @g);
                print "$d mx forcetls-milter\[$pid\]: $msg\n";
            } elsif ($fmt eq "rfc5424") {
                # local time at +01:00, with a fraction
                my $d = strftime("%Y-%m-%dT%H:%M:%S", gmtime($t + 3600));
                print "<22>1 $d.123456+01:00 mx forcetls-milter $pid - - $msg\n";
            } elsif ($fmt eq "isoz") {
                my $d = strftime("%Y-%m-%dT%H:%M:%S", gmtime($t - 5400));
                print "$d-0130 mx forcetls-milter\[$pid\]: $msg\n";
            } elsif ($fmt eq "cat") {
                print "$msg\n";
            }
            $t++;
        }' "$1" "$BASE" <"$SRC"
}
for f in rfc3164 rfc5424 isoz cat; do wrap "$f" >"$LOGS/$f.log"; done
is "$(wc -l <"$LOGS/rfc5424.log")" "$NLOG" "the RFC 5424 copy has every line ($NLOG)"

# utc EPOCH: the TIME form of report (and the configuration's date form).
utc() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
# Index (from 0) of the first and last decision lines.
FIRST_I=$(grep -En -- "$DECISION_RE" "$SRC" | head -n 1 | cut -d: -f1)
LAST_I=$(grep -En -- "$DECISION_RE" "$SRC" | tail -n 1 | cut -d: -f1)
FIRST_I=$((FIRST_I - 1)); LAST_I=$((LAST_I - 1))

# The hostile file: the RFC 3164 copy, then foreign and broken lines.
HOSTILE=$LOGS/hostile.log
cp "$LOGS/rfc3164.log" "$HOSTILE"
NFOREIGN=$(grep -c . "$MAILLOG")
cat "$MAILLOG" >>"$HOSTILE"      # Postfix's own lines: foreign programs
some=$(grep -E -- "$DECISION_RE" "$MILTER_LOG" | grep -F ' cert="mail.contoso.example\"' | head -n 1)
msg=${some#*]: }
{
    # Another program quoting a decision line: foreign, never counted.
    echo "$(date -u -d "@$BASE" '+%b %e %H:%M:%S') mx postfix/smtpd[4242]: warning: forcetls-milter[1]: $msg"
    echo "<22>1 $(utc "$BASE") mx sshd 77 - - forcetls-milter[1]: $msg"
    # Other programs whose message is a whole decision line: foreign too.
    echo "$(date -u -d "@$BASE" '+%b %e %H:%M:%S') mx forcetls-milterx[5]: $msg"
    echo "<22>1 $(utc "$BASE") mx forcetls 5 - - $msg"
    echo "$(date -u -d "@$BASE" '+%Y-%m-%dT%H:%M:%S+0000') mx forcetls-milter-old[5]: $msg"
    # A decision line cut in a quoted value, and one cut before reason=.
    echo "${some:0:$(( ${#some} - 12 ))}"
    echo "${some%% stage=*}"
    # Longer than 64 KiB.
    printf 'forcetls-milter[1]: %s cert="%s"\n' "$msg" "$(printf '%*s' 70000 '' | tr ' ' y)"
} >>"$HOSTILE"
NHOSTILE=$(wc -l <"$HOSTILE")

diag "the mails and the log copies: $((SECONDS - T0)) s"

# --- report --json, field by field -------------------------------------------------

# report OUT ARGS...: run the tool (bounded); REPORT_RC its exit status.
report() {
    local out=$1
    shift
    timeout 60 "$FORCETLS_TOOL" report "$@" >"$out" 2>"$out.err"
    REPORT_RC=$?
}

# jget FILE JQ [ARGS]: a jq expression on FILE.
jget() { local f=$1; shift; jq -r "$@" "$f" 2>&1; }

# map_got FILE CONN MAP: "json-key<TAB>count" lines of the report, sorted.
map_got() {
    local c=$2 sel
    if [[ $c == unmatched/* ]]; then
        sel='.unmatched[] | select(.sender_domain == $n)'
    else
        sel='.connectors[] | select(.direction == $d and .name == $n)'
    fi
    jq -r --arg d "${c%%/*}" --arg n "${c#*/}" \
        "$sel | .\"$3\" | to_entries[] | \"\\(.key | @json)\\t\\(.value)\"" "$1" | LC_ALL=C sort
}

# fill_want: WANT[CONN|MAP|] = the "json-key<TAB>count" lines EXP expects,
# sorted (once, outside any subshell: EXP is final by now).
declare -A WANT=()
fill_want() {
    local c mp k p
    for c in "${CONNS[@]}"; do
        for mp in tls_versions cert_names issuers reasons would clients ciphers; do
            p="$c|$mp|"
            WANT[$p]=$(for k in "${!EXP[@]}"; do
                [[ $k == "$p"* ]] || continue
                printf '%s\t%s\n' "$(jq -rn --arg k "${k#"$p"}" '$k | @json')" "${EXP[$k]}"
            done | LC_ALL=C sort)
        done
    done
}
fill_want

# map_want CONN MAP: the expected lines of map MAP of CONN.
map_want() { printf '%s\n' "${WANT[$1|$2|]}"; }

# check_json FILE LABEL TOTAL_LINES: every field of the report against EXP.
check_json() {
    local f=$1 lab=$2 c mp problems=() got want sel
    got=$(jget "$f" '"\(.lines.read) \(.lines.decisions) \(.lines.skipped) \(.lines.internal)"')
    is "$got" "$3 $NDEC $(($3 - NDEC)) $NINTERNAL" \
        "$lab: lines read, decisions, skipped, internal"
    got=$(jget "$f" '[.connectors[] | "\(.direction)/\(.name)"] | sort | join(" ")')
    want=$(printf '%s\n' "${CONNS[@]}" | grep -v '^unmatched/' | LC_ALL=C sort | tr '\n' ' ')
    is "$got " "$want" "$lab: the connectors"
    got=$(jget "$f" '[.unmatched[] | .sender_domain | @json] | sort | join(" ")')
    want=$(for c in "${CONNS[@]}"; do [[ $c == unmatched/* ]] && jq -rn --arg k "${c#unmatched/}" '$k|@json'; done |
        LC_ALL=C sort | tr '\n' ' ')
    is "$got " "$want" "$lab: the unmatched domains (lower case, <> as \"\")"
    for c in "${CONNS[@]}"; do
        problems=()
        if [[ $c == unmatched/* ]]; then
            sel='.unmatched[] | select(.sender_domain == $n)'
        else
            sel='.connectors[] | select(.direction == $d and .name == $n)'
        fi
        got=$(jq -r --arg d "${c%%/*}" --arg n "${c#*/}" "$sel | .recipients" "$f")
        [ "$got" = "${EXP[$c|recipients]}" ] ||
            problems+=("recipients: got $got, want ${EXP[$c|recipients]}")
        got=$(jq -r --arg d "${c%%/*}" --arg n "${c#*/}" \
            "$sel | .decisions | \"\\(.accept) \\(.reject) \\(.tempfail) \\(.monitor)\"" "$f")
        want="${EXP[$c|decisions|accept]:-0} ${EXP[$c|decisions|reject]:-0}"
        want+=" ${EXP[$c|decisions|tempfail]:-0} ${EXP[$c|decisions|monitor]:-0}"
        [ "$got" = "$want" ] || problems+=("decisions: got $got, want $want")
        for mp in tls_versions cert_names issuers; do
            got=$(map_got "$f" "$c" $mp)
            want=$(map_want "$c" $mp)
            [ "$got" = "$want" ] || problems+=("$mp: got" "$got" "want" "$want")
        done
        if [[ $c != unmatched/* ]]; then
            for mp in reasons would clients ciphers; do
                got=$(map_got "$f" "$c" $mp)
                want=$(map_want "$c" $mp)
                [ "$got" = "$want" ] || problems+=("$mp: got" "$got" "want" "$want")
            done
        fi
        got=$(jq -r --arg d "${c%%/*}" --arg n "${c#*/}" "$sel | \"\\(.first_seen) \\(.last_seen)\"" "$f")
        if [ -n "${4:-}" ]; then
            [[ $got =~ ^([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z)\ ([0-9-]{10}T[0-9:]{8}Z)$ ]] &&
                ! [[ ${BASH_REMATCH[1]} > ${BASH_REMATCH[2]} ]] ||
                problems+=("first_seen last_seen: got '$got', want two TIMEs, in order")
        else
            [ "$got" = " " ] || problems+=("first_seen last_seen: got '$got', want empty (no timestamps)")
        fi
        if [ ${#problems[@]} -eq 0 ]; then pass "$lab: $c, every field"
        else fail "$lab: $c, every field" "${problems[@]}"; fi
    done
}

report "$E2E_DIR/json-hostile" --json "$HOSTILE"
is "$REPORT_RC" 0 "report --json on the hostile RFC 3164 file: exit 0"
jq -e . "$E2E_DIR/json-hostile" >/dev/null 2>&1 ||
    bail_out "report --json is not one JSON object: $(head -c 400 "$E2E_DIR/json-hostile") $(cat "$E2E_DIR/json-hostile.err")"
check_json "$E2E_DIR/json-hostile" "RFC 3164 + hostile lines" "$NHOSTILE" times
is "$(jget "$E2E_DIR/json-hostile" '"\(.from) \(.to)"')" \
    "$(utc $((BASE + FIRST_I))) $(utc $((BASE + LAST_I)))" \
    "RFC 3164: from and to are the first and last decision lines' times (UTC)"
got=$(jq -r --arg p "${BIG_CN:0:64}" \
    '.connectors[] | select(.name == "contoso") | .cert_names | to_entries[] |
     select(.key | startswith($p)) | "\(.key | length) \(.value) \(.key | endswith("..."))"' \
    "$E2E_DIR/json-hostile")
is "$got" "${#BIG_CUT} 1 true" "the CN the daemon cut is kept as it is, with its ..."

report "$E2E_DIR/json-rfc5424" --json "$LOGS/rfc5424.log"
check_json "$E2E_DIR/json-rfc5424" "RFC 5424 (+01:00, fractions)" "$NLOG" times
is "$(jget "$E2E_DIR/json-rfc5424" '"\(.from) \(.to)"')" \
    "$(utc $((BASE + FIRST_I))) $(utc $((BASE + LAST_I)))" "RFC 5424: from and to in UTC"
report "$E2E_DIR/json-isoz" --json "$LOGS/isoz.log"
check_json "$E2E_DIR/json-isoz" "short-iso (-0130)" "$NLOG" times
is "$(jget "$E2E_DIR/json-isoz" '"\(.from) \(.to)"')" \
    "$(utc $((BASE + FIRST_I))) $(utc $((BASE + LAST_I)))" "short-iso: from and to in UTC"
report "$E2E_DIR/json-stderr" --json "$LOGS/stderr.log"
check_json "$E2E_DIR/json-stderr" "the daemon's -f stderr" "$NLOG"
is "$(jget "$E2E_DIR/json-stderr" '"\(.from)|\(.to)"')" "|" "no timestamps: from and to are empty"

# Stdin, "-" and several files give the sums.
timeout 60 "$FORCETLS_TOOL" report --json <"$LOGS/cat.log" >"$E2E_DIR/json-stdin" 2>&1
check_json "$E2E_DIR/json-stdin" "journalctl -o cat on stdin" "$NLOG"
timeout 60 "$FORCETLS_TOOL" report --json - <"$LOGS/cat.log" >"$E2E_DIR/json-dash" 2>&1
is "$(cat "$E2E_DIR/json-dash")" "$(cat "$E2E_DIR/json-stdin")" '"-" reads stdin: the same object'
report "$E2E_DIR/json-two" --json "$LOGS/stderr.log" "$LOGS/rfc5424.log"
sum='"\(.lines.read) \(.lines.decisions) \(.lines.skipped) \(.lines.internal)"
     + " " + ([.connectors[] | "\(.name)=\(.recipients)"] | join(","))
     + " " + ([.unmatched[] | "\(.sender_domain)=\(.recipients)"] | join(","))'
want=$(jq -r -s '.[0] as $a | .[1] as $b |
    "\($a.lines.read + $b.lines.read) \($a.lines.decisions + $b.lines.decisions) \($a.lines.skipped + $b.lines.skipped) \($a.lines.internal + $b.lines.internal)"
    + " " + ([$a.connectors[] | "\(.name)=\(.recipients * 2)"] | join(","))
    + " " + ([$a.unmatched[] | "\(.sender_domain)=\(.recipients * 2)"] | join(","))' \
    "$E2E_DIR/json-stderr" "$E2E_DIR/json-rfc5424")
is "$(jget "$E2E_DIR/json-two" "$sum")" "$want" "two files: every count is the sum"
cat "$LOGS/stderr.log" "$LOGS/rfc5424.log" |
    timeout 60 "$FORCETLS_TOOL" report --json >"$E2E_DIR/json-pipe" 2>&1
is "$(cat "$E2E_DIR/json-pipe")" "$(cat "$E2E_DIR/json-two")" \
    "the two files through a pipe: the same object"

# --- --since / --until on the RFC 5424 copy -----------------------------------------

# The decision lines of the daemon's copy, their times: the middle third.
mapfile -t DEC_I < <(grep -En -- "$DECISION_RE" "$SRC" | cut -d: -f1)
lo=${DEC_I[$(( ${#DEC_I[@]} / 3 ))]}
hi=${DEC_I[$(( 2 * ${#DEC_I[@]} / 3 ))]}
SINCE=$((BASE + lo - 1)); UNTIL=$((BASE + hi - 1))   # [lo, hi) in line numbers from 1
want_in=0
for i in "${DEC_I[@]}"; do
    [ "$i" -ge "$lo" ] && [ "$i" -lt "$hi" ] && want_in=$((want_in + 1))
done
# The recipients of that window per connector, from the daemon's lines.
want_conn=$(awk -v lo="$lo" -v hi="$hi" 'NR >= lo && NR < hi && / s=[^ ]+ decision=/ {
        d = ""; c = ""
        for (i = 1; i <= NF; i++) {
            if ($i ~ /^direction=/) d = substr($i, 11)
            if ($i ~ /^connector=/) c = substr($i, 11)
        }
        if (c != "none") n[d "/" c]++
    } END { for (k in n) print k "=" n[k] }' "$SRC" | LC_ALL=C sort | tr '\n' ' ')
report "$E2E_DIR/json-window" --json --since "$(utc "$SINCE")" --until "$(utc "$UNTIL")" \
    "$LOGS/rfc5424.log"
is "$(jget "$E2E_DIR/json-window" '"\(.lines.read) \(.lines.decisions) \(.lines.skipped)"')" \
    "$NLOG $want_in $((NLOG - want_in))" \
    "--since/--until (RFC 5424): $want_in decision lines in the window"
got=$(jget "$E2E_DIR/json-window" '.connectors[] | "\(.direction)/\(.name)=\(.recipients)"' |
    LC_ALL=C sort | tr '\n' ' ')
is "$got" "$want_conn" "--since/--until: the connectors' recipients of the window"
got=$(jget "$E2E_DIR/json-window" '"\(.from) \(.to)"')
is "$got" "$(utc $((BASE + lo - 1))) $(utc $((BASE + ${DEC_I[$(( 2 * ${#DEC_I[@]} / 3 - 1 ))]} - 1)))" \
    "--since/--until: from and to are the window's first and last lines"
report "$E2E_DIR/text-notime" --since "$(utc "$SINCE")" "$LOGS/cat.log"
like "$(cat "$E2E_DIR/text-notime")" "skipped: $NDEC without a timestamp" \
    "--since on lines without timestamps: the text says how many it could not judge"

# The short date form, and RFC 3164's year: a line more than a day in the
# future is last year's, one less than a day ahead this year's.
report "$E2E_DIR/json-day" --json --since "$(date -u -d "@$BASE" +%Y-%m-%d)" \
    --until "$(date -u -d "@$((BASE + 2 * 86400))" +%Y-%m-%d)" "$LOGS/rfc5424.log"
is "$(jget "$E2E_DIR/json-day" '.lines.decisions')" "$NDEC" \
    "--since/--until as YYYY-MM-DD (midnight UTC): the whole day"
some=$(grep -E -- "$DECISION_RE" "$MILTER_LOG" | head -n 1)
now=$(date +%s)
for ahead in $((2 * 86400)) $((12 * 3600)); do
    perl -e '
        use POSIX qw(strftime);
        my ($t, $line) = @ARGV;
        my ($pid, $msg) = $line =~ /^forcetls-milter\[(\d+)\]: (.*)$/s;
        print strftime("%b %e %H:%M:%S", gmtime($t)), " mx forcetls-milter[$pid]: $msg\n";
    ' "$((now + ahead))" "$some" >"$LOGS/ahead.log"
    # Want: that month, day and time in this UTC year, or the previous one
    # when that is more than a day after now.
    want=$(perl -e '
        use POSIX qw(strftime); use Time::Local qw(timegm);
        my ($t, $now) = @ARGV;
        my @g = gmtime($t); my $y = (gmtime($now))[5] + 1900;
        my $c = timegm($g[0], $g[1], $g[2], $g[3], $g[4], $y);
        $c = timegm($g[0], $g[1], $g[2], $g[3], $g[4], $y - 1) if $c > $now + 86400;
        print strftime("%Y-%m-%dT%H:%M:%SZ", gmtime($c));
    ' "$((now + ahead))" "$now")
    report "$E2E_DIR/json-ahead" --json "$LOGS/ahead.log"
    is "$(jget "$E2E_DIR/json-ahead" '.from')" "$want" \
        "RFC 3164, a line dated $((ahead / 3600)) h ahead: the year is guessed ($want)"
done

# The set-aside line: a sender cut before its '@' has no domain to count it
# under; it must not pass for the null sender, which the contract writes "",
# and is counted under "(cut)".
{ grep -E -- "$DECISION_RE" "$SRC" | grep -F ' sender=<> '; echo "$CUT_LINE"; } \
    >"$LOGS/cutsender.log"
report "$E2E_DIR/json-cut" --json "$LOGS/cutsender.log"
is "$(jget "$E2E_DIR/json-cut" \
    '[.unmatched[] | select(.sender_domain == "") | .recipients] | add // 0')" \
    "${EXP[unmatched/|recipients]}" \
    "a sender cut before its '@' is not counted as the null sender (\"\")"
is "$(jget "$E2E_DIR/json-cut" \
    '[.unmatched[] | select(.sender_domain == "(cut)") | .recipients] | add // 0')" \
    1 "a sender cut before its '@' is counted under \"(cut)\""
is "$(jget "$E2E_DIR/json-cut" '[.unmatched[] | .recipients] | add')" \
    "$(( ${EXP[unmatched/|recipients]} + 1 ))" "the cut sender's recipient is counted once"

# --- the text form and its call-outs -------------------------------------------------

# grep_text FILE ERE DESC: the text report FILE has a line matching ERE.
grep_text() {
    if grep -Eq -- "$2" "$1"; then pass "$3"
    else fail "$3" "no line matching /$2/ in:" "$(cat "$1")"; fi
}

report "$E2E_DIR/report.txt" -c "$CONF" "$LOGS/rfc3164.log"
is "$REPORT_RC" 0 "report -c (text): exit 0"
T=$E2E_DIR/report.txt
fab=${EXP[inbound/fabrikam|recipients]}
old=$(( ${EXP[inbound/fabrikam|tls_versions|TLSv1]} + ${EXP[inbound/fabrikam|tls_versions|TLSv1.1]} ))
grep_text "$T" "^    inbound connector fabrikam: $old of $fab recipients \(TLSv1 ${EXP[inbound/fabrikam|tls_versions|TLSv1]}, TLSv1\.1 ${EXP[inbound/fabrikam|tls_versions|TLSv1.1]}\)" \
    "call-out: the partner on TLSv1/TLSv1.1, named with its counts"
is "$(sed -n '/older than 1.2/,/^  [A-Z]/p' "$T" | grep -c 'connector')" 1 \
    "call-out: only fabrikam is on old TLS"
grep_text "$T" "^    inbound connector staged: ${EXP[inbound/staged|decisions|monitor]} recipients .*reject ${EXP[inbound/staged|would|reject]}.*reasons: no_tls ${EXP[inbound/staged|decisions|monitor]}" \
    "call-out: the staged connector's failures that would be refused"
grep_text "$T" "^    inbound connector tailspin: ${EXP[inbound/tailspin|decisions|monitor]} recipients .*reasons: no_tls ${EXP[inbound/tailspin|reasons|no_tls]}, no_client_cert ${EXP[inbound/tailspin|reasons|no_client_cert]}" \
    "call-out: the monitor-mode connector's failures, by reason"
grep_text "$T" "inbound connector contoso: issuer \"$CA_B\" .*a rotation in progress: listed by the identit(y|ies) of line [0-9]+,? \\(?valid from 2020-01-01T00:00:00Z" \
    "call-out (-c, running configuration): the new issuer, a rotation in progress"
grep_text "$T" "^    verified\.example: ${EXP[unmatched/verified.example|recipients]} recipients; cert names: mx\.verified\.example" \
    "call-out: the unmatched domain with verified TLS is a candidate"
unlike "$(sed -n '/candidates/,/^$/p' "$T")" 'plain\.example' \
    "call-out: the domain without TLS is no candidate"
grep_text "$T" '^  cert names .*"evil\\r\\nname=\\"x\\" cert=none\\x01\\xc3\\xa9"' \
    "the hostile CN is printed escaped, on one line"
is "$(grep -Evc '^$|^ |^[A-Z][a-z-]+|^(inbound|outbound) connector ' "$T")" 0 \
    "no line of the text form starts inside a value"

# The README's example ("Rolling out a partner"): the mails without the
# hostile ones, with the running configuration.
report "$E2E_DIR/readme-report.txt" -c "$CONF" --until "$(utc $((BASE + NCLEAN)))" \
    "$LOGS/rfc3164.log"
like "$REPORT_RC:$(grep -c 'fabrikam: ' "$E2E_DIR/readme-report.txt")" '^0:[1-9]' \
    "the README's example report (-c, --until before the hostile mails)"
# The README shows this report (times aside): copy it there when it changes.
untimed() { sed -E 's/[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z/TIME/g'; }
# shellcheck disable=SC2154  # top_srcdir: set by lib.sh
readme_block=$(awk '/^A real report: `tests\/e2e\/report.sh`/ { r = 1 }
    r && /^```$/ { if (in_block) exit; in_block = 1; next }
    in_block { print }' "$top_srcdir/README.md" | untimed)
if [ "$readme_block" = "$(untimed <"$E2E_DIR/readme-report.txt")" ]; then
    pass "README.md shows this run's report (times aside)"
else
    fail "README.md shows this run's report (times aside)" \
        "$(diff <(echo "$readme_block") <(untimed <"$E2E_DIR/readme-report.txt") | head -n 20)" \
        "copy $E2E_DIR/readme-report.txt into README.md (KEEP=1 keeps it)"
fi

report "$E2E_DIR/report-rotated.txt" -c "$ROTATED" "$LOGS/rfc3164.log"
grep_text "$E2E_DIR/report-rotated.txt" \
    "inbound connector contoso: issuer \"$CA_A\" \(${EXP[inbound/contoso|issuers|$CA_A]} recipients.*not listed by any identity" \
    "call-out (-c, after the rotation): the old issuer is in no identity"
unlike "$(grep -F "issuer \"$CA_B\"" "$E2E_DIR/report-rotated.txt")" . \
    "call-out (-c, after the rotation): the new issuer is listed, no call-out"

report "$E2E_DIR/report-nocfg.txt" "$LOGS/rfc3164.log"
grep_text "$E2E_DIR/report-nocfg.txt" \
    "inbound connector contoso: issuer \"$CA_B\" first seen [0-9T:-]+Z" \
    "call-out (no -c): the new issuer, not seen before"
unlike "$(grep -F "connector contoso: issuer \"$CA_A\" first seen" "$E2E_DIR/report-nocfg.txt")" . \
    "call-out (no -c): the issuer of the connector's first line is not new"

report "$E2E_DIR/report-hostile.txt" "$HOSTILE"
got=$(grep -Ec '^  skipped: ' "$E2E_DIR/report-hostile.txt")
like "$(cat "$E2E_DIR/report-hostile.txt")" "skipped: $((NFOREIGN + 5)) from other programs" \
    "the text form counts the foreign lines (Postfix's $NFOREIGN, 2 quoting the daemon, 3 forging)"
like "$(cat "$E2E_DIR/report-hostile.txt")" "skipped: 1 longer than 64 KiB" \
    "the text form counts the line over 64 KiB"
is "$(grep -c 'decision=accept x=' "$E2E_DIR/report-hostile.txt")" \
    "$(grep -c 'decision=accept x=' "$E2E_DIR/report-nocfg.txt")" "hostile lines add no row"

timeout 30 "$FORCETLS_TOOL" report --since 2026-13-01 "$HOSTILE" >/dev/null 2>"$E2E_DIR/bad.err"
is "$?:$(grep -c '^forcetls: ' "$E2E_DIR/bad.err")" 1:1 "a bad --since: exit 1 with a message"

unlike "$(grep -E 'AddressSanitizer|LeakSanitizer|ThreadSanitizer|runtime error:' \
    "$MILTER_LOG" "$E2E_DIR"/*.err | head -n 3)" . "no sanitizer report"
[ "${KEEP:-0}" = 1 ] && diag "the text reports: $T, $E2E_DIR/readme-report.txt"
diag "report: $((SECONDS - T0)) s"

done_testing
