#!/bin/sh
# milter-macros.sh - the milter protocol straight from miltertest (no MTA):
#  - TLS and certificate macros sent only at RCPT (Sendmail's
#    confMILTER_MACROS_ENVRCPT fallback) are used, fill what MAIL lacked,
#    and never replace or weaken what MAIL gave;
#  - every session sends macro v at CONNECT as the MTA does (Sendmail
#    "8.17.1", Postfix "Postfix 3.7.11"): a session without it cannot be
#    told apart, trusts no certificate, and the daemon says once what to
#    set (mta = ...); mta = "postfix" trusts a renamed Postfix, refuses a
#    macro v naming Sendmail with one warning per loaded configuration;
#  - a recipient forcetls cannot judge (CR/LF, NUL, a 10 KB address, an
#    unbalanced '<', an unparsable sender) gets one decision line,
#    decision=tempfail reason=internal, with the raw address escaped, and a
#    tempfail reply;
#  - session ids (s=) stay unique when the worker is killed and restarted
#    (the worker's generation is part of the id) and differ between two
#    runs of the daemon (a key drawn per daemon).
# TAP output. Needs miltertest (Debian package miltertest) and the daemon;
# no root, no Postfix.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

for tool in miltertest perl timeout; do
    command -v "$tool" >/dev/null 2>&1 || skip_all "$tool is not installed"
done
find_milter || skip_all "forcetls-milter is not built (FORCETLS_MILTER unset)"
e2e_init
alloc_port MILTER_PORT
SOCK="inet:$MILTER_PORT@127.0.0.1"

CONF=$E2E_DIR/forcetls.conf
cat >"$CONF" <<'EOF'
default_action = "reject";
min_tls_version = "TLSv1.2";
inbound = (
  { name = "sm"; sender_domains = [ "sm.example" ];
    tls_sender_certificate_names = [ "mx.sm.example" ]; }
);
EOF
start_milter "$CONF"

# The Lua helpers every scenario shares.
cat >"$E2E_DIR/lib.lua" <<'EOF'
function check(err, what)
  if err ~= nil then error(what .. ": " .. tostring(err)) end
end
-- A new session from 192.0.2.7, MTA version v (Sendmail by default;
-- false: no macro v at all, like an MTA that does not send it).
function session(v)
  local conn = mt.connect(sock, 100, 0.1)
  if conn == nil then error("mt.connect failed") end
  check(mt.negotiate(conn, nil, nil, nil), "negotiate")
  if v ~= false then
    check(mt.macro(conn, SMFIC_CONNECT, "v", v or "8.17.1"), "macro v")
  end
  check(mt.conninfo(conn, "client.example", "192.0.2.7"), "conninfo")
  return conn
end
-- RCPT TO addr; print "reply TAG WHAT" for the shell.
function rcpt(conn, tag, addr)
  check(mt.rcptto(conn, addr), "rcptto " .. tag)
  local r, w = mt.getreply(conn), "other"
  if r == SMFIR_CONTINUE then w = "continue"
  elseif r == SMFIR_REPLYCODE then w = "replycode"
  elseif r == SMFIR_TEMPFAIL then w = "tempfail"
  elseif r == SMFIR_REJECT then w = "reject" end
  mt.echo("reply " .. tag .. " " .. w)
end
SM_TLS13 = { "{tls_version}", "TLSv1.3", "{cipher}", "TLS_AES_256_GCM_SHA384",
             "{cipher_bits}", "256" }
SM_CERT = { "{verify}", "OK", "{cn_subject}", "mx.sm.example",
            "{cn_issuer}", "Lab+20CA" }
function macros(conn, stage, ...)
  local args = {}
  for _, list in ipairs({...}) do
    for _, x in ipairs(list) do table.insert(args, x) end
  end
  check(mt.macro(conn, stage, (table.unpack or unpack)(args)), "macro")
end
EOF

# mt NAME: run the Lua body on stdin after the helpers; output in $E2E_DIR/NAME.out.
mt() {
    local name=$1
    { cat "$E2E_DIR/lib.lua"; cat; } >"$E2E_DIR/$name.lua"
    timeout 60 miltertest -D "sock=$SOCK" -s "$E2E_DIR/$name.lua" \
        >"$E2E_DIR/$name.out" 2>&1
}

# reply_of NAME TAG: what the milter answered to recipient TAG.
reply_of() { sed -n "s/^reply $2 //p" "$E2E_DIR/$1.out" | tail -n 1; }

# --- TLS macros only at RCPT -------------------------------------------------------

mt rcptmacros <<'EOF'
-- A: everything only at RCPT
local c = session()
check(mt.mailfrom(c, "<a@sm.example>"), "mail")
macros(c, SMFIC_RCPT, SM_TLS13, SM_CERT)
rcpt(c, "a", "<rcpt-only@example.org>")
mt.disconnect(c)
-- B: no TLS macros at all (control)
c = session()
check(mt.mailfrom(c, "<a@sm.example>"), "mail")
rcpt(c, "b", "<no-macros@example.org>")
mt.disconnect(c)
-- C: TLS at MAIL, the certificate only at RCPT
c = session()
macros(c, SMFIC_MAIL, { "{tls_version}", "TLSv1.2", "{cipher}",
       "ECDHE-RSA-AES128-GCM-SHA256", "{cipher_bits}", "128" })
check(mt.mailfrom(c, "<a@sm.example>"), "mail")
macros(c, SMFIC_RCPT, { "{tls_version}", "TLSv1.2" }, SM_CERT)
rcpt(c, "c", "<cert-at-rcpt@example.org>")
mt.disconnect(c)
-- D: TLSv1 at MAIL is not replaced by TLSv1.3 at RCPT
c = session()
macros(c, SMFIC_MAIL, { "{tls_version}", "TLSv1", "{cipher}",
       "ECDHE-RSA-AES128-SHA", "{cipher_bits}", "128" })
check(mt.mailfrom(c, "<a@sm.example>"), "mail")
macros(c, SMFIC_RCPT, SM_TLS13, SM_CERT)
rcpt(c, "d", "<old-at-mail@example.org>")
mt.disconnect(c)
-- E: a verified certificate at MAIL is not undone by {verify}=FAIL at RCPT
c = session()
macros(c, SMFIC_MAIL, SM_TLS13, SM_CERT)
check(mt.mailfrom(c, "<a@sm.example>"), "mail")
macros(c, SMFIC_RCPT, { "{verify}", "FAIL", "{cn_subject}", "evil.example" })
rcpt(c, "e", "<cert-at-mail@example.org>")
mt.disconnect(c)
-- F: malformed RCPT macros are no TLS: empty {tls_version}
c = session()
check(mt.mailfrom(c, "<a@sm.example>"), "mail")
macros(c, SMFIC_RCPT, { "{tls_version}", "", "{cipher}", "AES256-SHA",
       "{cipher_bits}", "256" }, SM_CERT)
rcpt(c, "f", "<empty-version@example.org>")
mt.disconnect(c)
-- G: Postfix dialect, macros only at RCPT
c = session("Postfix 3.7.11")
check(mt.mailfrom(c, "<a@sm.example>"), "mail")
macros(c, SMFIC_RCPT, { "{tls_version}", "TLSv1.3", "{cipher}",
       "TLS_AES_256_GCM_SHA384", "{cipher_bits}", "256",
       "{cert_subject}", "mx.sm.example", "{cert_issuer}", "Lab CA" })
rcpt(c, "g", "<postfix-rcpt@example.org>")
mt.disconnect(c)
-- H, I: no macro v: Sendmail's certificate macros are not trusted (twice:
-- the warning comes once)
for _, tag in ipairs({ "h", "i" }) do
  c = session(false)
  macros(c, SMFIC_MAIL, SM_TLS13, SM_CERT)
  check(mt.mailfrom(c, "<a@sm.example>"), "mail")
  rcpt(c, tag, "<no-v-" .. tag .. "@example.org>")
  mt.disconnect(c)
end
EOF
rc=$?
[ "$rc" -eq 0 ] || diag "miltertest exit $rc: $(cat "$E2E_DIR/rcptmacros.out")"

# expect TAG RCPT DECISION REASON TLS CERT REPLY DESC
expect() {
    local line
    wait_milter_log " rcpt=<$2> " 5
    line=$(decision_for "$2")
    if [ -z "$line" ]; then
        fail "$8" "no decision line for $2"; return
    fi
    is "$(logfield "$line" decision)/$(logfield "$line" reason)/$(logfield "$line" tls)/$(logfield "$line" cert)/$(reply_of "${EXPECT_MT:-rcptmacros}" "$1")" \
        "$3/$4/$5/$6/$7" "$8"
}
expect a rcpt-only@example.org accept ok TLSv1.3 mx.sm.example continue \
    "macros only at RCPT are read (Sendmail confMILTER_MACROS_ENVRCPT)"
expect b no-macros@example.org reject no_tls none none replycode \
    "no TLS macros at any stage: no_tls"
expect c cert-at-rcpt@example.org accept ok TLSv1.2 mx.sm.example continue \
    "a certificate first seen at RCPT fills what MAIL lacked"
expect d old-at-mail@example.org reject tls_version TLSv1 none replycode \
    "TLSv1 read at MAIL is not replaced by TLSv1.3 at RCPT"
expect e cert-at-mail@example.org accept ok TLSv1.3 mx.sm.example continue \
    "a certificate verified at MAIL is not undone at RCPT"
expect f empty-version@example.org reject no_tls none none replycode \
    "an empty {tls_version} at RCPT is no TLS, whatever {verify} says"
expect g postfix-rcpt@example.org accept ok TLSv1.3 mx.sm.example continue \
    "Postfix dialect: {cert_subject} at RCPT is read"
expect h no-v-h@example.org reject no_client_cert TLSv1.3 none replycode \
    "no macro v: {verify}=OK is not trusted (the MTA cannot be told apart)"
expect i no-v-i@example.org reject no_client_cert TLSv1.3 none replycode \
    "no macro v, second session: still no certificate"
is "$(grep -Fc 'cannot tell the MTA from macro v="": no client certificate is trusted; set mta = "postfix" or mta = "sendmail" in '"$CONF" "$MILTER_LOG")" 1 \
    "no macro v: one warning per configuration saying what to set"

# --- recipients forcetls cannot judge ------------------------------------------

mt internal <<'EOF'
local c = session()
check(mt.mailfrom(c, "<a@other.example>"), "mail")
rcpt(c, "crlf", "<crlf\r\ndecision=accept@example.org>")
rcpt(c, "nul", "<nul\0tail@example.org>")
rcpt(c, "unbalanced", "<unbalanced@example.org")
rcpt(c, "fine", "<fine@example.org>")
mt.disconnect(c)
c = session()
check(mt.mailfrom(c, "<bad sender@@x>"), "mail")
rcpt(c, "badsender", "<after-bad-sender@example.org>")
mt.disconnect(c)
EOF
rc=$?
[ "$rc" -eq 0 ] || diag "miltertest exit $rc: $(cat "$E2E_DIR/internal.out")"
wait_milter_log 'rcpt=<after-bad-sender@example.org>' 5

INTERNAL_RE="$DECISION_RE"'tempfail direction=none connector=none stage=rcpt reason=internal client=192\.0\.2\.7 '

# internal TAG ERE DESC: one internal decision line matching ERE, and a tempfail.
internal() {
    local n
    n=$(grep -E -- "$INTERNAL_RE" "$MILTER_LOG" | grep -Ec -- "$2")
    if [ "$n" -ne 1 ] || [ "$(reply_of internal "$1")" != replycode ]; then
        fail "$3" "got $n internal decision lines matching /$2/ and reply" \
            "'$(reply_of internal "$1")', want 1 and replycode" \
            "$(grep -E -- "$DECISION_RE" "$MILTER_LOG" | cut -c1-300)"
    else
        pass "$3"
    fi
}
internal crlf 'sender=<a@other\.example> rcpt="<crlf\\r\\ndecision=accept@example\.org>" tls=none' \
    "CR LF in RCPT TO: reason=internal, escaped, one line"
internal nul 'rcpt=<nul tls=none' \
    "NUL in RCPT TO: reason=internal with what the milter received"
internal unbalanced 'rcpt=<unbalanced@example\.org tls=none' \
    "unbalanced '<': reason=internal, the raw address as it came"
internal badsender 'sender="<bad sender@@x>" rcpt=<after-bad-sender@example\.org>' \
    "unparsable MAIL FROM: reason=internal for its recipient, raw sender"
is "$(reply_of internal fine)" continue \
    "a good recipient after bad ones is judged (no match: accepted)"
# Every line of the log is a line of the daemon: nothing forged a line.
bad=$(grep -Evc '^forcetls-milter\[[0-9]+\]: ' "$MILTER_LOG")
is "$bad" 0 "no log line was broken or forged by CR/LF in an address"

# miltertest cannot send addresses of more than about 2 KB: speak the milter
# protocol directly (perl) for a 10 KB address, and read the reply text.
cat >"$E2E_DIR/rawmilter.pl" <<'EOF'
use strict; use warnings; use IO::Socket::INET;
my ($port, $sender, @rcpts) = @ARGV;
my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                              Timeout => 10) or die "connect: $!";
# One milter packet: length, command, data.
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
# Macro v at CONNECT, as Sendmail sends it (a macro packet has no reply).
put('D', "C" . "v\0" . "8.17.1\0");
put('C', "client.example\0" . '4' . pack('n', 25) . "192.0.2.7\0"); take();
put('M', "$sender\0"); take();
for my $r (@rcpts) {
    put('R', "$r\0");
    my ($cmd, $text) = take();
    $text =~ s/\0.*//s;
    print "reply $cmd $text\n";
}
put('Q', '');
EOF
BIG="<big$(printf '%*s' 10240 '' | tr ' ' x)@example.org>"
raw=$(timeout 30 perl "$E2E_DIR/rawmilter.pl" "$MILTER_PORT" '<a@other.example>' \
      "$BIG" '<raw-fine@example.org>' 2>&1)
wait_milter_log 'rcpt=<bigx{252}\.\.\. ' 5
is "$(sed -n 1p <<<"$raw")" "reply y 451 4.7.1 temporary policy failure, try again later" \
    "10 KB RCPT TO: reply 451 4.7.1"
is "$(sed -n 2p <<<"$raw")" "reply c " "the next recipient of that session is judged"
n=$(grep -E -- "$INTERNAL_RE" "$MILTER_LOG" | grep -Ec 'rcpt=<bigx{252}\.\.\. tls=none')
is "$n" 1 "10 KB RCPT TO: one reason=internal line, the address cut and marked with ..."
is "$(grep -Fc 'recipient tempfailed: unparsable recipient address' "$MILTER_LOG")" 4 \
    "each internal decision comes with one line saying why"

# --- session ids across worker restarts ------------------------------------------

# ids NAME: run one session and print the ids of all connect lines so far.
ids_now() { sed -n 's/.*: s=\([^ ]*\) debug=connect .*/\1/p' "$MILTER_LOG"; }

worker_restart() {
    local old new i
    old=$(milter_children)
    [ -n "$old" ] || return 1
    kill -KILL $old
    for ((i = 0; i < 200; i++)); do
        new=$(milter_children)
        [ -n "$new" ] && [ "$new" != "$old" ] && return 0
        sleep 0.05
    done
    return 1
}

mt ids1 <<'EOF'
for i = 1, 3 do
  local c = session()
  check(mt.mailfrom(c, "<a@other.example>"), "mail")
  rcpt(c, "x" .. i, "<ids@example.org>")
  mt.disconnect(c)
end
EOF
first=$(ids_now)
ok "worker killed with SIGKILL is restarted" worker_restart
mt ids2 <<'EOF'
local c = session()
check(mt.mailfrom(c, "<a@other.example>"), "mail")
rcpt(c, "y", "<ids2@example.org>")
mt.disconnect(c)
EOF
ok "worker killed again at once is restarted" worker_restart
mt ids3 <<'EOF'
local c = session()
check(mt.mailfrom(c, "<a@other.example>"), "mail")
rcpt(c, "z", "<ids3@example.org>")
mt.disconnect(c)
EOF
all=$(ids_now)
diag "session ids: $(echo $all)"
is "$(wc -l <<<"$all")" "$(( $(wc -l <<<"$first") + 2 ))" \
    "one connect line per session (3 + 1 + 1)"
is "$(sort <<<"$all" | uniq -d | tr '\n' ' ')" "" \
    "session ids are unique across three worker processes"
is "$(grep -Evc '^[0-9a-v]{12}$' <<<"$all")" 0 "session ids are 12 base32hex digits"
# An id is (generation << 36 | counter) xor the daemon's key, 5 bits a
# digit: the first session of each worker (counter 0) keeps the last 7
# digits and changes in the first 5, by construction, not by chance.
id1=$(head -n 1 <<<"$all") id2=$(tail -n 2 <<<"$all" | head -n 1) id3=$(tail -n 1 <<<"$all")
is "${id2:5} ${id3:5}" "${id1:5} ${id1:5}" \
    "first sessions of three workers: the same last 7 digits (counter 0, one key per daemon)"
is "$(printf '%s\n' "${id1:0:5}" "${id2:0:5}" "${id3:0:5}" | sort -u | wc -l)" 3 \
    "first sessions of three workers: three different generation digits"

# The daemon started again draws another key: its first id is not the
# first daemon's first id (same generation 0 and counter 0).
stop_milter
start_milter "$CONF"
mt ids4 <<'EOF'
local c = session()
check(mt.mailfrom(c, "<a@other.example>"), "mail")
rcpt(c, "w", "<ids4@example.org>")
mt.disconnect(c)
EOF
id4=$(ids_now | tail -n 1)
diag "first id of the first daemon: $id1, of the second: $id4"
ok "a second daemon's ids differ from the first's (another key)" \
    test -n "$id4" -a "$id4" != "$id1"

# --- the mta setting ---------------------------------------------------------------

stop_milter
CONF_MTA=$E2E_DIR/forcetls-mta.conf
cat >"$CONF_MTA" <<'EOF'
default_action = "reject";
min_tls_version = "TLSv1.2";
mta = "postfix";
inbound = (
  { name = "sm"; sender_domains = [ "sm.example" ];
    tls_sender_certificate_names = [ "mx.sm.example" ]; }
);
EOF
start_milter "$CONF_MTA"
PF_CERT='{ "{tls_version}", "TLSv1.3", "{cipher}", "TLS_AES_256_GCM_SHA384",
       "{cipher_bits}", "256", "{cert_subject}", "mx.sm.example",
       "{cert_issuer}", "Lab CA" }'
# mta_sessions SUFFIX: a renamed Postfix (J), then Sendmail's macro v (K).
mta_sessions() {
    mt "mta$1" <<EOF
-- J: a Postfix whose macro v was changed, trusted with mta = "postfix"
local c = session("Foo 3.7.11")
check(mt.mailfrom(c, "<a@sm.example>"), "mail")
macros(c, SMFIC_RCPT, $PF_CERT)
rcpt(c, "j", "<renamed-postfix$1@example.org>")
mt.disconnect(c)
-- K: macro v names Sendmail, contradicting mta = "postfix": no certificate
c = session("8.17.1")
macros(c, SMFIC_MAIL, SM_TLS13, SM_CERT)
check(mt.mailfrom(c, "<a@sm.example>"), "mail")
rcpt(c, "k", "<contradiction$1@example.org>")
mt.disconnect(c)
EOF
}
CONTRADICTION='mta = "postfix" in '"$CONF_MTA"':3 but macro v="8.17.1" names Sendmail: no client certificate is trusted'
mta_sessions 1
EXPECT_MT=mta1 expect j renamed-postfix1@example.org accept ok TLSv1.3 mx.sm.example \
    continue 'mta = "postfix": a Postfix with another macro v is trusted'
EXPECT_MT=mta1 expect k contradiction1@example.org reject no_client_cert TLSv1.3 none \
    replycode 'mta = "postfix", macro v of Sendmail: no certificate is trusted'
mta_sessions 2
wait_milter_log ' rcpt=<contradiction2@example.org> ' 5
is "$(grep -Fc "$CONTRADICTION" "$MILTER_LOG")" 1 \
    "the contradiction is logged once, with FILE:LINE of mta (two sessions)"
ok "the configuration reloads" signal_reload HUP "$MILTER_PID"
mta_sessions 3
EXPECT_MT=mta3 expect k contradiction3@example.org reject no_client_cert TLSv1.3 none \
    replycode "after a reload: still no certificate for the contradiction"
is "$(grep -Fc "$CONTRADICTION" "$MILTER_LOG")" 2 \
    "a reloaded configuration logs the contradiction once more"
is "$(grep -Fc 'cannot tell the MTA' "$MILTER_LOG")" 1 \
    "macro v that names an MTA never says it cannot tell"

stop_milter
done_testing

