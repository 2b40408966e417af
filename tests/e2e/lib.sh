# lib.sh - shared helpers for the forcetls end-to-end tests (bash).
#
# Sourced by every test script in tests/e2e. Provides TAP output, a
# private temporary directory, free loopback ports, a test PKI made with the
# openssl CLI, a throwaway Postfix instance, the milter under test, swaks
# wrappers and log helpers.
#
# Must not: touch the system Postfix (/etc/postfix, /var/spool/postfix),
# listen outside 127.0.0.0/8, or stop processes by name. Everything it starts
# is remembered by PID and stopped by the EXIT trap. Scripts that source it
# may run in parallel (make -j2 check): all state lives in $E2E_DIR and ports
# are reserved atomically.

e2e_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${top_srcdir:=$(cd "$e2e_here/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
E2E_NAME=$(basename "$0" .sh)
E2E_DIR=
E2E_PORT_LOCKS="${TMPDIR:-/tmp}/forcetls-e2e-ports"
e2e_reserved_ports=()
e2e_bg_pids=()
E2E_ISSUING_CAS=()
MILTER_PID=
PF_MASTER_PID=

# --- TAP ---------------------------------------------------------------------

tap_n=0
tap_failed=0
tap_planned=
TAP_PREFIX=     # put before every test point's description, e.g. "[stock] "

# Print the plan up front.
plan() { tap_planned=$1; echo "1..$1"; }

# Print each line of the arguments as a TAP comment.
diag() {
    local line
    for line in "$@"; do
        while IFS= read -r l; do printf '# %s\n' "$l"; done <<<"$line"
    done
}

# Record a passing test point.
pass() { tap_n=$((tap_n + 1)); echo "ok $tap_n - $TAP_PREFIX$1"; }

# Record a failing test point; further arguments are diagnostics.
fail() {
    tap_n=$((tap_n + 1)); tap_failed=$((tap_failed + 1))
    echo "not ok $tap_n - $TAP_PREFIX$1"; shift
    [ $# -gt 0 ] && diag "$@"
    return 0
}

# ok DESC CMD...: passes when CMD exits 0.
ok() {
    local desc=$1; shift
    if "$@"; then pass "$desc"; else fail "$desc" "command failed: $*"; fi
}

# is GOT WANT DESC: string equality.
is() {
    if [ "$1" = "$2" ]; then pass "$3"; else fail "$3" "got $1, want $2"; fi
}

# like GOT ERE DESC: extended regular expression match.
like() {
    if [[ $1 =~ $2 ]]; then pass "$3"; else fail "$3" "got $1, want match of /$2/"; fi
}

# unlike GOT ERE DESC: the expression must not match.
unlike() {
    if [[ $1 =~ $2 ]]; then fail "$3" "got $1, want no match of /$2/"; else pass "$3"; fi
}

# skip DESC REASON: a skipped test point.
skip() { tap_n=$((tap_n + 1)); echo "ok $tap_n - $TAP_PREFIX$1 # SKIP $2"; }

# Print the trailing plan if none was given, and set the exit status.
done_testing() {
    if [ -z "$tap_planned" ]; then
        echo "1..$tap_n"
    elif [ "$tap_planned" -ne "$tap_n" ]; then
        diag "planned $tap_planned tests but ran $tap_n"
        tap_failed=$((tap_failed + 1))
    fi
    [ "$tap_failed" -eq 0 ] && exit 0
    diag "$tap_failed of $tap_n tests failed"
    exit 1
}

# Stop the whole script: something the tests depend on did not work.
bail_out() {
    echo "Bail out! $*"
    exit 99
}

# Skip the whole script, except under CI where missing pieces are failures.
skip_all() {
    if [ -n "${CI:-}" ]; then
        echo "1..1"
        echo "not ok 1 - prerequisites (CI is set, so this is not a skip): $*"
        exit 1
    fi
    echo "1..0 # SKIP $*"
    exit 0
}

# --- prerequisites -----------------------------------------------------------

# Find the daemon: $FORCETLS_MILTER, the build tree, the current directory.
find_milter() {
    local c
    for c in "${FORCETLS_MILTER:-}" "$top_builddir/milter/forcetls-milter" \
             "$PWD/milter/forcetls-milter" "$top_srcdir/milter/forcetls-milter"; do
        if [ -n "$c" ] && [ -x "$c" ]; then FORCETLS_MILTER=$c; return 0; fi
    done
    return 1
}

# True when the daemon was built with ./configure --enable-test-hooks
# (FORCETLS_TEST_HANG_FROM, FORCETLS_START_TIMEOUT); make check says so.
test_hooks_built() { [ "${FORCETLS_TEST_HOOKS:-no}" = yes ]; }

# Root, Postfix, swaks, openssl and the daemon, or skip_all (fail under CI).
require_prereqs() {
    local t
    [ "$(id -u)" -eq 0 ] || skip_all "needs root to run a Postfix instance"
    for t in postfix postconf swaks openssl perl; do
        command -v "$t" >/dev/null 2>&1 || skip_all "$t is not installed"
    done
    id postfix >/dev/null 2>&1 || skip_all "no postfix user"
    find_milter || skip_all "forcetls-milter is not built (FORCETLS_MILTER unset)"
}

# --- temporary directory and cleanup ---------------------------------------

# Create $E2E_DIR and install the cleanup trap.
e2e_init() {
    E2E_DIR=$(mktemp -d "${TMPDIR:-/tmp}/forcetls-e2e-$E2E_NAME.XXXXXX") ||
        bail_out "mktemp failed"
    # Postfix daemons run as the postfix user below this directory.
    chmod 755 "$E2E_DIR"
    mkdir -p "$E2E_DIR/smtp"
    MILTER_LOG=$E2E_DIR/milter.log
    : >"$MILTER_LOG"
    trap e2e_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

# EXIT trap: stop what we started (by PID), release ports, remove $E2E_DIR.
e2e_cleanup() {
    local rc=$? pid p
    trap - EXIT INT TERM
    for pid in "${e2e_bg_pids[@]}"; do
        kill -TERM "$pid" 2>/dev/null
    done
    for pid in "${e2e_bg_pids[@]}"; do
        wait "$pid" 2>/dev/null
    done
    stop_milter
    stop_postfix
    for p in "${e2e_reserved_ports[@]}"; do
        rm -rf "${E2E_PORT_LOCKS:?}/$p"
    done
    if [ -n "$E2E_DIR" ] && [ -d "$E2E_DIR" ]; then
        if [ "${KEEP:-0}" = 1 ]; then
            echo "# KEEP=1: kept $E2E_DIR"
        else
            rm -rf "$E2E_DIR"
        fi
    fi
    exit "$rc"
}

# Remember a background PID so that cleanup stops it.
track_pid() { e2e_bg_pids+=("$1"); }

# True while PID exists and is not a zombie.
pid_alive() {
    local state
    kill -0 "$1" 2>/dev/null || return 1
    state=$(awk '{ sub(/^.*\) /, ""); print $1 }' "/proc/$1/stat" 2>/dev/null)
    [ -n "$state" ] && [ "$state" != Z ]
}

# Print the PIDs whose parent is $1 (read from /proc, no procps needed).
child_pids() {
    local f stat
    for f in /proc/[0-9]*/stat; do
        read -r stat 2>/dev/null <"$f" || continue
        stat=${stat##*) }
        set -- "$1" $stat
        [ "$3" = "$1" ] && { f=${f#/proc/}; echo "${f%/stat}"; }
    done
}

# Wait up to $2 seconds (default 10) for PID $1 to go away.
wait_gone() {
    local i n=$(( ${2:-10} * 20 ))
    for ((i = 0; i < n; i++)); do
        pid_alive "$1" || return 0
        sleep 0.05
    done
    return 1
}

# --- ports ---------------------------------------------------------------------

# True when something accepts connections on 127.0.0.1:$1.
port_open() { (exec 3<>"/dev/tcp/${2:-127.0.0.1}/$1") 2>/dev/null; }

# Print a free loopback port and reserve it for this script (atomic mkdir).
free_port() {
    local i p owner
    mkdir -p "$E2E_PORT_LOCKS" 2>/dev/null
    for ((i = 0; i < 200; i++)); do
        p=$((20000 + RANDOM % 12000))
        if ! mkdir "$E2E_PORT_LOCKS/$p" 2>/dev/null; then
            owner=$(cat "$E2E_PORT_LOCKS/$p/pid" 2>/dev/null)
            [ -n "$owner" ] && kill -0 "$owner" 2>/dev/null && continue
            rm -rf "${E2E_PORT_LOCKS:?}/$p"
            mkdir "$E2E_PORT_LOCKS/$p" 2>/dev/null || continue
        fi
        echo $$ >"$E2E_PORT_LOCKS/$p/pid"
        if port_open "$p"; then
            rm -rf "${E2E_PORT_LOCKS:?}/$p"
            continue
        fi
        echo "$p"
        return 0
    done
    return 1
}

# Reserve a port into the variable named $1 (keeps the reservation list).
alloc_port() {
    local p
    p=$(free_port) || bail_out "no free loopback port"
    e2e_reserved_ports+=("$p")
    printf -v "$1" '%s' "$p"
}

# Wait up to $2 seconds for 127.0.0.1:$1 to accept connections.
wait_port() {
    local i n=$(( ${2:-10} * 20 ))
    for ((i = 0; i < n; i++)); do
        port_open "$1" && return 0
        sleep 0.05
    done
    return 1
}

# --- PKI -------------------------------------------------------------------------

# Write the openssl configuration used for every certificate.
pki_conf() {
    cat >"$PKI/openssl.cnf" <<'EOF'
[req]
distinguished_name = dn
prompt = no
utf8 = yes
string_mask = utf8only
[dn]
CN = unused
[v3_ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[v3_server]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:mx.example.org
[v3_client]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth,serverAuth
EOF
}

# pki_ca NAME CN: a self-signed CA, $PKI/NAME.crt and $PKI/NAME.key.
pki_ca() {
    openssl req -x509 -new -config "$PKI/openssl.cnf" -extensions v3_ca \
        -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
        -subj "/O=Contoso Demo/CN=$2" -keyout "$PKI/$1.key" -out "$PKI/$1.crt" \
        >>"$PKI/openssl.log" 2>&1 || bail_out "openssl: CA $1 failed"
}

# pki_cert NAME CA SUBJECT EXT [KEYSPEC]: a certificate signed by CA.
pki_cert() {
    local keyspec=${5:-ec}
    local -a keyopt=(-newkey ec -pkeyopt ec_paramgen_curve:P-256)
    [ "$keyspec" = rsa ] && keyopt=(-newkey rsa:2048)
    openssl req -new -config "$PKI/openssl.cnf" "${keyopt[@]}" -nodes \
        -subj "$3" -keyout "$PKI/$1.key" -out "$PKI/$1.csr" \
        >>"$PKI/openssl.log" 2>&1 &&
    openssl x509 -req -in "$PKI/$1.csr" -CA "$PKI/$2.crt" -CAkey "$PKI/$2.key" \
        -set_serial "0x$(openssl rand -hex 8)" -days 30 \
        -extfile "$PKI/openssl.cnf" -extensions "$4" -out "$PKI/$1.crt" \
        >>"$PKI/openssl.log" 2>&1 || bail_out "openssl: certificate $1 failed"
}

# pki_subca NAME PARENT CN: an issuing (intermediate) CA signed by CA PARENT,
# $PKI/NAME.crt and $PKI/NAME.key.
pki_subca() {
    openssl req -new -config "$PKI/openssl.cnf" \
        -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -subj "/O=Contoso Demo/CN=$3" -keyout "$PKI/$1.key" -out "$PKI/$1.csr" \
        >>"$PKI/openssl.log" 2>&1 &&
    openssl x509 -req -in "$PKI/$1.csr" -CA "$PKI/$2.crt" -CAkey "$PKI/$2.key" \
        -set_serial "0x$(openssl rand -hex 8)" -days 30 \
        -extfile "$PKI/openssl.cnf" -extensions v3_ca -out "$PKI/$1.crt" \
        >>"$PKI/openssl.log" 2>&1 || bail_out "openssl: issuing CA $1 failed"
}

# Build the test PKI in $PKI. Postfix trusts lab and ca2 (trusted-cas.pem);
# the rogue CA has the lab CA's name but another key and is not trusted.
# E2E_ISSUING_CAS ("name|parent CA|CN" each) adds issuing CAs below lab or
# ca2, made before E2E_EXTRA_CERTS (which may name them as their CA) and
# appended to trusted-cas.pem after the roots: the MTA then builds the chain
# itself, the client presents only its own certificate, and the issuer CN the
# MTA passes is the issuing CA's, not the root's.
make_pki() {
    PKI=$E2E_DIR/pki
    mkdir -p "$PKI"
    pki_conf
    pki_ca lab "Contoso Demo Root CA"
    pki_ca ca2 "Contoso Demo Root CA 2"
    pki_ca rogue "Contoso Demo Root CA"
    pki_cert server lab "/O=Example Org/CN=mx.example.org" v3_server rsa
    pki_cert partner lab "/O=Contoso/CN=mail.contoso.example" v3_client
    pki_cert partner2 ca2 "/O=Contoso/CN=mail2.contoso.example" v3_client
    pki_cert other lab "/O=Contoso/CN=other.contoso.example" v3_client
    pki_cert roguecert rogue "/O=Contoso/CN=mail.contoso.example" v3_client
    local c f
    for c in "${E2E_ISSUING_CAS[@]}"; do
        IFS='|' read -r -a f <<<"$c"
        pki_subca "${f[0]}" "${f[1]}" "${f[2]}"
    done
    for c in "${E2E_EXTRA_CERTS[@]}"; do
        # "name|ca|subject"
        IFS='|' read -r -a f <<<"$c"
        pki_cert "${f[0]}" "${f[1]}" "${f[2]}" v3_client
    done
    cat "$PKI/lab.crt" "$PKI/ca2.crt" >"$PKI/trusted-cas.pem"
    for c in "${E2E_ISSUING_CAS[@]}"; do
        cat "$PKI/${c%%|*}.crt" >>"$PKI/trusted-cas.pem"
    done
    chmod 644 "$PKI"/*.key
}

# Print swaks options presenting certificate NAME.
ccert() { echo "--tls-cert $PKI/$1.crt --tls-key $PKI/$1.key"; }

# --- Postfix -------------------------------------------------------------------

# Write main.cf and master.cf for a loopback-only instance that delivers
# everything to discard:, with the milter on $MILTER_PORT.
postfix_write_conf() {
    local d=$PF_DIR
    cat >"$d/conf/main.cf" <<EOF
# forcetls e2e: throwaway instance, generated by tests/e2e/lib.sh
compatibility_level = 3.6
queue_directory = $d/queue
data_directory = $d/data
mail_owner = postfix
myhostname = mx.example.org
mydomain = example.org
myorigin = \$myhostname
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mydestination =
relay_domains =
mynetworks = 127.0.0.0/8
alias_maps =
alias_database =
local_recipient_maps =
default_transport = discard
relay_transport = discard
local_transport = discard
smtp_dns_support_level = disabled
disable_dns_lookups = yes
smtpd_peername_lookup = no
smtpd_relay_restrictions = permit_mynetworks, reject
smtpd_recipient_restrictions =
smtpd_banner = \$myhostname ESMTP forcetls-e2e
maillog_file = $d/maillog
maillog_file_prefixes = $d
smtpd_tls_security_level = may
smtpd_tls_cert_file = $PKI/server.crt
smtpd_tls_key_file = $PKI/server.key
smtpd_tls_CAfile = $PKI/trusted-cas.pem
smtpd_tls_ask_ccert = yes
smtpd_tls_loglevel = 1
smtpd_tls_received_header = yes
smtpd_milters = ${PF_MILTERS-inet:127.0.0.1:$MILTER_PORT}
milter_default_action = tempfail
milter_protocol = 6
milter_connect_timeout = 10s
milter_command_timeout = 20s
${PF_EXTRA_MAIN:-}
EOF
    cat >"$d/conf/master.cf" <<EOF
# forcetls e2e: no chroot, loopback smtpd only
127.0.0.1:$SMTP_PORT inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
}

# Start a Postfix instance from its own configuration directory. Running as
# root, "postfix -c DIR" needs no alternate_config_directories entry in the
# default main.cf (that check applies to set-gid programs only).
start_postfix() {
    PF_DIR=$E2E_DIR/postfix
    MAILLOG=$PF_DIR/maillog
    mkdir -p "$PF_DIR/conf" "$PF_DIR/queue" "$PF_DIR/data"
    chown postfix "$PF_DIR/data"
    : >"$MAILLOG"
    postfix_write_conf
    if ! postfix -c "$PF_DIR/conf" start >"$PF_DIR/start.log" 2>&1; then
        diag "$(cat "$PF_DIR/start.log")" "$(tail -n 20 "$MAILLOG")"
        bail_out "postfix -c $PF_DIR/conf start failed"
    fi
    PF_MASTER_PID=$(tr -d ' \n' <"$PF_DIR/queue/pid/master.pid" 2>/dev/null)
    [ -n "$PF_MASTER_PID" ] || bail_out "no Postfix master pid file"
    wait_port "$SMTP_PORT" 10 || {
        diag "$(tail -n 20 "$MAILLOG")"
        bail_out "Postfix does not listen on 127.0.0.1:$SMTP_PORT"
    }
}

# Stop our Postfix: SIGTERM to the master PID, then wait for its process
# group (the master is a session leader; its daemons share the group).
stop_postfix() {
    local pid=$PF_MASTER_PID i
    [ -n "$pid" ] || return 0
    PF_MASTER_PID=
    kill -TERM "$pid" 2>/dev/null
    wait_gone "$pid" 10 || kill -KILL "$pid" 2>/dev/null
    for ((i = 0; i < 100; i++)); do
        kill -0 -- "-$pid" 2>/dev/null || return 0
        sleep 0.05
    done
    kill -KILL -- "-$pid" 2>/dev/null
    return 0
}

# --- the milter ------------------------------------------------------------------

# start_milter CONF [extra options]: start the daemon in the foreground with
# debug lines (unless E2E_MILTER_DEBUG=0), socket inet:$MILTER_PORT@127.0.0.1, stderr to $MILTER_LOG.
start_milter() {
    local conf=$1 debug=-d; shift
    [ "${E2E_MILTER_DEBUG:-1}" = 1 ] || debug=
    "$FORCETLS_MILTER" -f $debug -c "$conf" -p "inet:$MILTER_PORT@127.0.0.1" "$@" \
        >>"$MILTER_LOG" 2>&1 &
    MILTER_PID=$!
    local i
    for ((i = 0; i < 200; i++)); do
        port_open "$MILTER_PORT" && return 0
        pid_alive "$MILTER_PID" || break
        sleep 0.05
    done
    diag "$(tail -n 20 "$MILTER_LOG")"
    bail_out "forcetls-milter did not start listening on 127.0.0.1:$MILTER_PORT"
}

# start_unix_milter SECONDS CONF SOCKET [ARGS...]: start the daemon in the
# foreground (-f ARGS -c CONF, logging to $MILTER_LOG) on the unix socket of
# its configuration, and wait up to SECONDS until it serves there.
start_unix_milter() {
    local tries=$(( $1 * 20 )) conf=$2 sock=$3 i
    shift 3
    "$FORCETLS_MILTER" -f "$@" -c "$conf" >>"$MILTER_LOG" 2>&1 &
    MILTER_PID=$!
    for ((i = 0; i < tries; i++)); do
        [ -S "$sock" ] && wait_milter_log 'serving on' 0 && return 0
        pid_alive "$MILTER_PID" || break
        sleep 0.05
    done
    diag "$(tail -n 20 "$MILTER_LOG")"
    bail_out "forcetls-milter did not create $sock"
}

# Print the worker PID(s) of the milter parent.
milter_children() { [ -n "$MILTER_PID" ] && child_pids "$MILTER_PID"; }

# Stop the milter: SIGTERM to the parent, bounded wait, then its children.
stop_milter() {
    local pid=$MILTER_PID kids c
    [ -n "$pid" ] || return 0
    MILTER_PID=
    kids=$(child_pids "$pid")
    kill -TERM "$pid" 2>/dev/null
    wait_gone "$pid" 10 || kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    for c in $kids; do
        wait_gone "$c" 5 || kill -KILL "$c" 2>/dev/null
    done
    return 0
}

# --- SMTP ----------------------------------------------------------------------

# smtp NAME [swaks options]: one session against our Postfix; the transcript
# goes to $E2E_DIR/smtp/NAME.out.
smtp() {
    local name=$1; shift
    swaks --server "127.0.0.1:$SMTP_PORT" --helo client.example --timeout 30 \
        "$@" >"$E2E_DIR/smtp/$name.out" 2>&1
    return 0
}

# A hand-driven SMTP session on fd 7, for steps that must happen between
# commands. SMTP_LINE holds the last reply line read.
smtp_open() { exec 7<>"/dev/tcp/127.0.0.1/$SMTP_PORT" && smtp_read; }

# Read one (possibly multi-line) reply into SMTP_LINE; false on timeout/EOF.
smtp_read() {
    local line
    SMTP_LINE=
    while IFS= read -r -t 30 line <&7; do
        SMTP_LINE=${line%$'\r'}
        [[ $SMTP_LINE =~ ^[0-9]{3}\  ]] && return 0
    done
    return 1
}

# Send one command and read its reply.
smtp_cmd() { printf '%s\r\n' "$1" >&7 && smtp_read; }

# Close the hand-driven session.
smtp_close() { exec 7>&-; }

# Print the final reply line of every RCPT TO in transcript NAME.
rcpt_replies() {
    awk '
        /^ *[-~*]+> RCPT TO/ { want = 1; next }
        /^ *[-~*]+> /        { want = 0 }
        want && /^<[-~*]+ +[0-9][0-9][0-9] / {
            line = $0; sub(/^<[-~*]+ +/, "", line); print line; want = 0
        }' "$E2E_DIR/smtp/$1.out"
}

# rcpt_reply NAME [N]: reply line of the Nth RCPT TO (default 1).
rcpt_reply() { rcpt_replies "$1" | sed -n "${2:-1}p"; }

# rcpt_code NAME [N]: "550 5.7.1" of the Nth RCPT reply.
rcpt_code() { rcpt_reply "$@" | awk '{ print $1, $2 }'; }

# Print the reply to the end of DATA in transcript NAME.
data_reply() {
    awk '
        /^ *[-~*]+> \.$/ { want = 1; next }
        want && /^<[-~*]+ +[0-9][0-9][0-9] / {
            line = $0; sub(/^<[-~*]+ +/, "", line); print line; exit
        }' "$E2E_DIR/smtp/$1.out"
}

# Print the queue id from "250 2.0.0 Ok: queued as ID" in transcript NAME.
queue_id() { data_reply "$1" | sed -n 's/.*queued as \([0-9A-Za-z]*\).*/\1/p'; }

# require_tls_conf FILE DOMAIN...: one require_tls connector per partner domain.
require_tls_conf() {
    local file=$1 d
    shift
    {
        echo 'default_action = "reject";'
        echo 'inbound = ('
        for d in "$@"; do
            [ "$d" = "$1" ] || echo ','
            printf '  { name = "%s"; sender_domains = [ "%s" ]; require_tls = true; }\n' \
                "${d%%.*}" "$d"
        done
        echo ');'
    } >"$file"
}

# --- logs ------------------------------------------------------------------------

# wait_line FILE ERE [SECONDS]: wait (default 5 s) for a matching line.
wait_line() {
    local i n=$(( ${3:-5} * 20 ))
    for ((i = 0; i <= n; i++)); do
        grep -Eq -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.05
    done
    return 1
}

# Wait for a line matching ERE in the milter log.
wait_milter_log() { wait_line "$MILTER_LOG" "$1" "${2:-5}"; }

# count ERE: matching lines in the milter log so far.
count() { grep -Ec -- "$1" "$MILTER_LOG"; }

# wait_count ERE N [SECONDS]: wait (default 5 s) until at least N lines match.
wait_count() {
    local i n=$(( ${3:-5} * 20 ))
    for ((i = 0; i <= n; i++)); do
        [ "$(count "$1")" -ge "$2" ] && return 0
        sleep 0.05
    done
    return 1
}

# The line of a successful reload (the contract's text).
RELOAD_OK='reload ok inbound=[0-9]+ outbound=[0-9]+'

# signal_reload SIGNAL PID [SECONDS]: send SIGNAL (HUP, USR1) to PID and wait
# (default 5 s) until one more "reload ok" line is in the milter log.
signal_reload() {
    local n
    n=$(count "$RELOAD_OK")
    kill -"$1" "$2" || return 1
    wait_count "$RELOAD_OK" $((n + 1)) "${3:-5}"
}

# Decision lines: "decision=" is the key right after "s=". Matching the key
# anywhere would also find it inside an escaped value of a debug line.
DECISION_RE=': s=[^ ]+ decision='

# Last decision line of recipient $1 (exact address, no brackets).
decision_for() {
    grep -F " rcpt=<$1>" "$MILTER_LOG" | grep -E -- "$DECISION_RE" | tail -n 1
}

# Last debug line of recipient $1.
debug_for() {
    grep -F " rcpt=<$1>" "$MILTER_LOG" | grep -F ' debug=rcpt' | tail -n 1
}

# logfield LINE KEY: the logfmt value of KEY, unquoted and unescaped.
logfield() {
    local line=" $1" key=$2 v
    local re=" $key=(\"([^\"\\\\]|\\\\.)*\"|[^ ]*)"
    [[ $line =~ $re ]] || return 1
    v=${BASH_REMATCH[1]}
    if [[ $v == \"* ]]; then
        v=${v:1:${#v}-2}
        v=${v//\\\"/\"}
        v=${v//\\\\/\\}
    fi
    printf '%s\n' "$v"
}

# Quote a string for use inside an ERE.
ere_quote() { sed 's/[][\.*^$+?(){}|/]/\\&/g' <<<"$1"; }

# check_debug RCPT KEY=VALUE...: wait for the debug line of RCPT and compare
# each pair with it. Sets DEBUG_LINE (the line) and DEBUG_PROBLEMS (one
# "got X, want Y" a mismatch); true when there is none.
check_debug() {
    local rcpt=$1 kv got
    shift
    DEBUG_PROBLEMS=()
    wait_milter_log "debug=rcpt .*rcpt=<$(ere_quote "$rcpt")>"
    DEBUG_LINE=$(debug_for "$rcpt")
    if [ -z "$DEBUG_LINE" ]; then
        DEBUG_PROBLEMS+=("no debug line for <$rcpt>")
    else
        for kv in "$@"; do
            got=$(logfield "$DEBUG_LINE" "${kv%%=*}")
            [ "$got" = "${kv#*=}" ] || DEBUG_PROBLEMS+=("got ${kv%%=*}=$got, want ${kv#*=}")
        done
    fi
    [ ${#DEBUG_PROBLEMS[@]} -eq 0 ]
}

# debug_has DESC RCPT KEY=VALUE...: one test point, the debug line of RCPT
# carries every pair.
debug_has() {
    local desc=$1 rcpt=$2
    shift 2
    if check_debug "$rcpt" "$@"; then pass "$desc"
    else fail "$desc" "${DEBUG_PROBLEMS[@]}" "line: $DEBUG_LINE"; fi
}

# wait (default 5 s) for a line matching ERE $1 in the Postfix maillog.
maillog_has() { wait_line "$MAILLOG" "$1" "${2:-5}"; }
