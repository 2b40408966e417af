#!/bin/sh
# policyservice.sh - the policy service (socketmap on a unix socket) stays
# available to well-behaved clients under hostile ones: idle connections
# past the slot count, one-byte-per-second clients, pipelined requests in
# one write, malformed netstrings and a huge length prefix; and Postfix's
# own socketmap client (postmap -q) answered during the load. Prints the
# well-behaved latency (min/median/max) under each load and replies vs
# requests; asserts only answers and generous "answered within" bounds.
#
# Sizes: FORCETLS_STRESS=full (make stress) runs it bigger; each size can
# also be set on its own (PS_IDLE, PS_SLOW, PS_PIPE, PS_PIPE_BIG,
# PS_LOOKUPS, and PS_SLOW_SECONDS: how long the slow clients run before the
# lookups start). TAP output.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_prereqs
command -v postmap >/dev/null 2>&1 || skip_all "postmap is not installed"
command -v timeout >/dev/null 2>&1 || skip_all "timeout is not installed"
e2e_init

if [ "${FORCETLS_STRESS:-}" = full ]; then
    : "${PS_IDLE:=1000}" "${PS_SLOW:=1000}" "${PS_PIPE:=1000}" "${PS_PIPE_BIG:=20000}"
    : "${PS_LOOKUPS:=50}" "${PS_SLOW_SECONDS:=10}"
else
    : "${PS_IDLE:=300}" "${PS_SLOW:=300}" "${PS_PIPE:=150}" "${PS_PIPE_BIG:=1000}"
    : "${PS_LOOKUPS:=5}" "${PS_SLOW_SECONDS:=3}"
fi
LOOKUP_BOUND=10     # seconds: "answered", generously (postmap: twice); latency is printed
echo "# sizes: idle=$PS_IDLE slow=$PS_SLOW pipelined=$PS_PIPE,$PS_PIPE_BIG lookups=$PS_LOOKUPS"

alloc_port MILTER_PORT
SOCK=$E2E_DIR/policy.sock
CONF=$E2E_DIR/policyservice.conf
cat >"$CONF" <<EOF
# forcetls e2e: the policy service under hostile clients
socket = "inet:$MILTER_PORT@127.0.0.1";
policy_socket = "unix:$SOCK";
min_tls_version = "TLSv1.2";
outbound = (
  { name = "fabrikam"; recipient_domains = [ "fabrikam.com" ];
    tls_settings = "domain-validation"; tls_domain = "mx.fabrikam.com"; },
  { name = "contoso"; recipient_domains = [ "contoso.com" ];
    tls_settings = "encryption-only"; }
);
EOF
"$FORCETLS_MILTER" -n -c "$CONF" >"$E2E_DIR/check.out" 2>&1 ||
    bail_out "test configuration rejected: $(cat "$E2E_DIR/check.out")"
E2E_MILTER_DEBUG=0 start_milter "$CONF"
for ((i = 0; i < 100; i++)); do [ -S "$SOCK" ] && break; sleep 0.1; done
[ -S "$SOCK" ] || bail_out "no policy socket at $SOCK"
MILTER_WORKER=$(milter_children)

# Postfix's socketmap client reads main.cf: a minimal one of our own.
mkdir -p "$E2E_DIR/pf"
echo 'compatibility_level = 3.6' >"$E2E_DIR/pf/main.cf"

# The client: MODE and arguments; every mode ends by itself (alarm).
CLIENT=$E2E_DIR/client.pl
cat >"$CLIENT" <<'PERL'
use strict; use warnings;
use IO::Socket::UNIX; use IO::Select; use Time::HiRes qw(time sleep);
use Socket qw(SOCK_STREAM);
$SIG{PIPE} = 'IGNORE';
my ($path, $mode, @arg) = @ARGV;
alarm(120);
sub ns { my $s = shift; return length($s) . ":$s,"; }
sub conn { return IO::Socket::UNIX->new(Type => SOCK_STREAM, Peer => $path, Timeout => 10); }
my @keys = ("fabrikam.com", "contoso.com", "unknown.example");
# Read one netstring from $s within $t seconds; undef on EOF or timeout.
sub get_reply {
    my ($s, $buf, $t) = @_;
    my $sel = IO::Select->new($s); my $end = time + $t;
    while (1) {
        if ($$buf =~ /^(\d+):/ && length($$buf) >= length($1) + $1 + 2) {
            my $r = substr($$buf, length($1) + 1, $1);
            substr($$buf, 0, length($1) + $1 + 2) = "";
            return $r;
        }
        my $left = $end - time; return undef if $left <= 0;
        return undef unless $sel->can_read($left);
        my $n = sysread($s, $$buf, 65536, length $$buf);
        return undef unless $n;
    }
}
if ($mode eq 'lookup') {          # N sequential lookups, each on a new connection
    my ($n, $bound) = @arg; my @lat; my $ok = 0;
    for my $i (1 .. $n) {
        my $t0 = time; my $s = conn();
        my ($r, $b) = (undef, "");
        if ($s) { syswrite($s, ns("tlspolicy fabrikam.com")); $r = get_reply($s, \$b, $bound); }
        my $dt = time - $t0; push @lat, $dt;
        $ok++ if defined $r && $r =~ /^OK secure match=mx\.fabrikam\.com/;
        printf STDERR "lookup %d: %s (%.3f s)\n", $i, defined $r ? $r : "no answer", $dt;
    }
    @lat = sort { $a <=> $b } @lat;
    printf "answered=%d of %d min=%.3f median=%.3f max=%.3f\n", $ok, $n, $lat[0],
        $lat[int($#lat / 2)], $lat[-1];
} elsif ($mode eq 'idle' || $mode eq 'slow') {   # N clients until TERM; reconnect when closed
    my ($n, $secs, $ready) = @arg; my @c; my $end = time + $secs;
    my ($opened, $closed) = (0, 0);
    $SIG{TERM} = sub { $end = 0; };
    my $req = ns("tlspolicy fabrikam.com");
    for (1 .. $n) { my $s = conn(); push @c, { s => $s, off => 0 }; $opened++ if $s; }
    if ($ready) { open(my $f, '>', $ready); close $f; }
    while (time < $end) {
        my $sel = IO::Select->new(map { $_->{s} } grep { $_->{s} } @c);
        for my $s ($sel->can_read(0)) {   # readable: closed by the server (or a reply)
            my $n = sysread($s, my $b, 4096);
            next if $n;
            for my $x (grep { $_->{s} && $_->{s} == $s } @c) {
                close $s; $x->{s} = undef; $closed++;
            }
        }
        for my $x (@c) {
            if (!$x->{s}) { $x->{s} = conn(); $x->{off} = 0; $opened++ if $x->{s}; next; }
            next if $mode eq 'idle';
            if (!defined syswrite($x->{s}, substr($req, $x->{off} % length($req), 1))) {
                close $x->{s}; $x->{s} = undef; $closed++; next;
            }
            $x->{off}++;
        }
        sleep 1 if $end;
    }
    print "opened=$opened closed_by_server=$closed\n";
} elsif ($mode eq 'pipeline') {   # N requests in one write buffer; count replies in order
    my ($n) = @arg; my $s = conn() or die "connect: $!";
    my (@want, $out);
    my %ans = ("fabrikam.com" => qr/^OK secure /, "contoso.com" => qr/^OK encrypt /,
               "unknown.example" => qr/^NOTFOUND/);
    for my $i (0 .. $n - 1) {
        my $k = $keys[$i % 3]; $out .= ns("tlspolicy $k"); push @want, $ans{$k};
    }
    $s->blocking(0);
    my ($got, $inorder, $buf, $woff, $eof) = (0, 0, "", 0, 0); my $end = time + 60;
    my $sel = IO::Select->new($s);
    while ($got < $n && !$eof && time < $end) {
        if ($woff < length $out) {
            my $w = syswrite($s, $out, length($out) - $woff, $woff); $woff += $w if $w;
        }
        if ($sel->can_read(0.2)) {
            my $r = sysread($s, $buf, 65536, length $buf);
            $eof = 1 if defined $r && $r == 0;
            while ($buf =~ /^(\d+):/ && length($buf) >= length($1) + $1 + 2) {
                my $rep = substr($buf, length($1) + 1, $1);
                substr($buf, 0, length($1) + $1 + 2) = "";
                $inorder++ if $got < $n && $rep =~ $want[$got];
                $got++;
            }
        }
    }
    print "requests=$n replies=$got in_order=$inorder eof=$eof\n";
} elsif ($mode eq 'trickle') {   # one client: a byte a second (or none) until closed
    my ($bytes, $max) = @arg; my $s = conn() or die "connect: $!";
    my $req = ns("tlspolicy fabrikam.com"); my ($t0, $i, $out) = (time, 0, "");
    my $sel = IO::Select->new($s);
    while (time < $t0 + $max) {
        syswrite($s, substr($req, $i++ % length($req), 1)) if $bytes;
        next unless $sel->can_read(1);
        my $n = sysread($s, my $b, 4096);
        if (!$n) { printf "closed after %.1f s, %d bytes sent, reply '%s'\n", time - $t0,
                       $bytes ? $i : 0, $out; exit 0; }
        $out .= $b;
    }
    printf "open after %.1f s\n", time - $t0;
} elsif ($mode eq 'raw') {   # send BYTES, then up to JUNK more; print replies, <EOF>
    my ($bytes, $junk) = @arg; my $s = conn() or die "connect: $!";
    syswrite($s, $bytes); my $t0 = time;
    if ($junk) {
        $s->blocking(0); my $chunk = "7" x 65536; my $sent = 0;
        while ($sent < $junk && time < $t0 + 3) {
            my $w = syswrite($s, $chunk);
            last if !defined $w && !$!{EAGAIN};
            if ($w) { $sent += $w; } else { sleep 0.01; }
        }
        $s->blocking(1);
    }
    my $sel = IO::Select->new($s); my $out = "";
    while ($sel->can_read(2)) {
        my $n = sysread($s, my $b, 65536);
        if (!$n) { $out .= "<EOF>"; last; }
        $out .= $b;
    }
    print $out;
}
PERL

# client MODE ARGS...: run the client, bounded in time, with room for its sockets.
client() { (ulimit -n 8192 2>/dev/null; timeout 150 perl "$CLIENT" "$SOCK" "$@"); }
ns() { printf '%d:%s,' "${#1}" "$1"; }

# lookups NAME: PS_LOOKUPS well-behaved lookups; a test line with the figures.
lookups() {
    local out
    out=$(client lookup "$PS_LOOKUPS" "$LOOKUP_BOUND" 2>"$E2E_DIR/lookups-$2.err")
    echo "# well-behaved latency $1: $out"
    like "$out" "^answered=$PS_LOOKUPS of $PS_LOOKUPS " \
        "$1: every well-behaved lookup answered within $LOOKUP_BOUND s"
    [[ $out == answered=$PS_LOOKUPS* ]] || diag "$(cat "$E2E_DIR/lookups-$2.err")"
}

# hostile MODE N: start N hostile clients (until stop_hostile, at most 130 s);
# wait until they are connected.
hostile() {
    local ready=$E2E_DIR/$1.ready
    rm -f "$ready"
    (ulimit -n 8192 2>/dev/null; exec timeout 150 perl "$CLIENT" "$SOCK" "$1" "$2" 130 "$ready") \
        >"$E2E_DIR/$1.out" 2>&1 &
    HOSTILE_PID=$!
    track_pid "$HOSTILE_PID"
    for ((i = 0; i < 300; i++)); do [ -e "$ready" ] && break; sleep 0.1; done
    [ -e "$ready" ] || diag "the $1 clients did not all connect within 30 s"
}
stop_hostile() { kill -TERM "$HOSTILE_PID" 2>/dev/null; wait "$HOSTILE_PID" 2>/dev/null; }

# elapsed T0: seconds since T0 (date +%s.%N).
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.3f", b - a }'; }

postmap_q() {
    timeout "$((2 * LOOKUP_BOUND))" \
        postmap -c "$E2E_DIR/pf" -q "$1" "socketmap:unix:$SOCK:tlspolicy" 2>&1
}
WANT_FAB="secure match=mx.fabrikam.com protocols=>=TLSv1.2"

# --- baseline -----------------------------------------------------------------
lookups "without load" base
is "$(postmap_q fabrikam.com)" "$WANT_FAB" "postmap -q through the socketmap, without load"

# --- idle connections beyond the slots -------------------------------------------
hostile idle "$PS_IDLE"
lookups "with $PS_IDLE idle connections" idle
t0=$(date +%s.%N)
is "$(postmap_q fabrikam.com)" "$WANT_FAB" "postmap -q answered with $PS_IDLE idle connections"
echo "# postmap -q with $PS_IDLE idle connections: $(elapsed "$t0") s"
stop_hostile
echo "# idle clients: $(cat "$E2E_DIR/idle.out")"

# --- one byte per second ----------------------------------------------------------
hostile slow "$PS_SLOW"
sleep "$PS_SLOW_SECONDS"    # every slot holds a request in progress
lookups "with $PS_SLOW one-byte-per-second clients" slow
t0=$(date +%s.%N)
is "$(postmap_q fabrikam.com)" "$WANT_FAB" \
    "postmap -q answered with $PS_SLOW one-byte-per-second clients"
echo "# postmap -q with $PS_SLOW slow clients: $(elapsed "$t0") s"
stop_hostile
echo "# slow clients: $(cat "$E2E_DIR/slow.out")"
like "$(cat "$E2E_DIR/slow.out")" "closed_by_server=[1-9]" \
    "slow clients are closed by the request deadline or evicted"

# --- one slow client alone: the request deadline, not reset by each byte ----------
client trickle 1 20 >"$E2E_DIR/trickle.out" 2>&1 &
TRICKLE_PID=$!
track_pid "$TRICKLE_PID"

# --- pipelining -------------------------------------------------------------------
for n in "$PS_PIPE" "$PS_PIPE_BIG"; do
    out=$(client pipeline "$n")
    echo "# pipelined: $out"
    like "$out" "^requests=$n replies=$n in_order=$n eof=0" \
        "$n pipelined requests in one write: $n replies, in order, connection kept"
done

# --- malformed input --------------------------------------------------------------
is "$(client raw 'x:tlspolicy fabrikam.com,')" "$(ns 'PERM malformed netstring length')<EOF>" \
    "a malformed netstring gets PERM and the connection is closed"
t0=$(date +%s.%N)
is "$(client raw '99999999999:' 8388608)" "$(ns 'PERM netstring longer than the maximum')<EOF>" \
    "a 99999999999: length prefix (then 8 MB) gets PERM and the connection is closed"
echo "# huge prefix answered and closed in $(elapsed "$t0") s"
is "$(client raw "$(ns 'tlspolicy contoso.com')3:abcd")" \
    "$(ns 'OK encrypt protocols=>=TLSv1.2')$(ns "PERM netstring not terminated by ','")<EOF>" \
    "a good request then a bad terminator: the answer, PERM, close"
lookups "after malformed input" after

wait "$TRICKLE_PID" 2>/dev/null
echo "# one byte a second, alone: $(cat "$E2E_DIR/trickle.out")"
like "$(cat "$E2E_DIR/trickle.out")" "^closed after [0-9.]+ s, [0-9]+ bytes sent, reply ''" \
    "a client sending a byte a second is closed by the request deadline, unanswered"
if [ "${FORCETLS_STRESS:-}" = full ]; then
    out=$(client trickle 0 60)
    echo "# a silent client, alone: $out"
    like "$out" "^closed after" "a silent client is closed by the idle limit"
else
    skip "a silent client is closed by the idle limit" "30 s: FORCETLS_STRESS=full"
fi
is "$(postmap_q contoso.com)" "encrypt protocols=>=TLSv1.2" "postmap -q still answered at the end"

ok "the worker served it all without a restart" pid_alive "$MILTER_WORKER"
unlike "$(grep -E 'AddressSanitizer|LeakSanitizer|runtime error:' "$MILTER_LOG" | head -n 3)" . \
    "no sanitizer report in the milter log"
diag "milter log: $(grep -c 'policy service' "$MILTER_LOG") policy service lines, the last:" \
    "$(grep 'policy service: since' "$MILTER_LOG" | tail -n 1 | sed 's/.*: policy/policy/')"

done_testing
