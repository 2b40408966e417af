# sendmail_lib.sh - a real sendmail 8.17 as a throwaway test MTA (bash).
#
# Sourced after lib.sh (it uses $E2E_DIR, $PKI, $SMTP_PORT, $MILTER_PORT,
# diag, bail_out, skip_all, track_pid, wait_line, port_open, wait_gone,
# pid_alive, child_pids). Provides:
#   require_sendmail_prereqs   skip unless unshare/m4/dpkg/apt-get work
#   sendmail_install_cleanup   make lib.sh's EXIT trap stop sendmail too
#   sendmail_fetch             unpack Debian's sendmail-bin once (cached in
#                              $SENDMAIL_CACHE or $top_builddir/tests/sendmail-cache)
#   start_sendmail VARIANT     "stock" or "extended" milter macro lists; sets
#                              SM_PID, SM_DIR, SM_SYSLOG (sendmail's syslog)
#   stop_sendmail              stop it by PID
#   sendmail_listening         its listening TCP sockets, from /proc
#
# How: sendmail-bin conflicts with the installed Postfix, so the packages are
# fetched with `apt-get download` and unpacked with `dpkg -x` into a cache
# directory; the daemon runs from there with LD_LIBRARY_PATH (set-gid bit
# cleared, or the loader would ignore it). It runs in the foreground (-bD)
# inside a private UTS + mount namespace (`unshare --uts --mount`): a dotted
# host name (an unqualified one costs a 60 s sleep at start-up), private
# /etc/hosts, /etc/nsswitch.conf and /etc/resolv.conf (no DNS query ever
# leaves the machine), and a private /dev with /dev/log bound to a listener
# socket of ours, so that sendmail's syslog lines land in $SM_DIR/syslog.log.
#
# Must not: install packages, touch /etc/mail or /var/spool/mqueue, listen
# outside 127.0.0.0/8, deliver mail, or stop processes by name. Everything
# is stopped by PID (the unshare child execs sendmail, so $! is the daemon;
# its pid file must agree).

SM_PACKAGES=(sendmail-bin sendmail-cf libwrap0)
SM_HOSTNAME=sm.lab.test
SM_ROOT=
SM_BIN=
SM_PID=
SM_LOG_PID=
SM_DIR=

# --- fetching the packages -------------------------------------------------

# Print the cache directory: $SENDMAIL_CACHE, else under $top_builddir.
sendmail_cache_dir() {
    echo "${SENDMAIL_CACHE:-$top_builddir/tests/sendmail-cache}"
}

# Print the directory holding the unpacked libwrap.so.0 of tree $1.
sendmail_libdir() {
    local f
    for f in "$1"/usr/lib/*/libwrap.so.0 "$1"/lib/*/libwrap.so.0; do
        [ -e "$f" ] && { dirname "$f"; return 0; }
    done
    return 1
}

# True when the unpacked tree at $1 is complete.
sendmail_tree_ok() {
    [ -x "$1/usr/libexec/sendmail/sendmail" ] &&
        [ -f "$1/usr/share/sendmail/cf/m4/cf.m4" ] &&
        sendmail_libdir "$1" >/dev/null
}

# apt-get download the packages into directory $1 (log in $1/apt.log).
sendmail_download() {
    ( cd "$1" && apt-get -q download "${SM_PACKAGES[@]}" ) >>"$1/apt.log" 2>&1
}

# Fetch and unpack sendmail once; set SM_ROOT and SM_BIN. The cache is
# filled in a temporary directory and renamed into place, so parallel
# test scripts never see half an unpacked tree.
sendmail_fetch() {
    local cache tmp deb
    cache=$(sendmail_cache_dir)
    if [ ! -d "$cache/root" ] || ! sendmail_tree_ok "$cache/root"; then
        mkdir -p "$(dirname "$cache")" 2>/dev/null || cache=$E2E_DIR/sendmail-cache
        tmp=$(mktemp -d "$(dirname "$cache")/.sendmail-cache.XXXXXX" 2>/dev/null) || {
            cache=$E2E_DIR/sendmail-cache
            tmp=$(mktemp -d "$E2E_DIR/.sendmail-cache.XXXXXX") || bail_out "mktemp failed"
        }
        chmod 755 "$tmp"
        mkdir -p "$tmp/debs" "$tmp/root"
        # apt drops to user _apt to download; let it write here.
        chown _apt "$tmp/debs" 2>/dev/null
        if ! sendmail_download "$tmp/debs"; then
            # No package lists yet (a fresh container): update once, retry.
            apt-get update -qq >>"$tmp/debs/apt.log" 2>&1
            if ! sendmail_download "$tmp/debs"; then
                diag "$(tail -n 5 "$tmp/debs/apt.log")"
                rm -rf "$tmp"
                skip_all "apt-get download ${SM_PACKAGES[*]} failed"
            fi
        fi
        for deb in "$tmp"/debs/*.deb; do
            dpkg -x "$deb" "$tmp/root" || { rm -rf "$tmp"; bail_out "dpkg -x $deb failed"; }
        done
        # A set-gid binary ignores LD_LIBRARY_PATH (it needs the unpacked libwrap).
        chmod g-s "$tmp/root/usr/libexec/sendmail/sendmail"
        deb=$(ls "$tmp"/debs/sendmail-bin_*.deb)
        deb=${deb##*/sendmail-bin_}
        echo "${deb%%_*}" >"$tmp/version"
        rm -f "$tmp"/debs/*.deb
        if [ -d "$cache/root" ] && sendmail_tree_ok "$cache/root"; then
            rm -rf "$tmp"               # another script won the race
        else
            rm -rf "$cache"
            # -T: never move into a directory another script just created.
            mv -T "$tmp" "$cache" 2>/dev/null || rm -rf "$tmp"
        fi
    fi
    sendmail_tree_ok "$cache/root" || bail_out "no usable sendmail under $cache/root"
    SM_ROOT=$cache/root
    SM_BIN=$SM_ROOT/usr/libexec/sendmail/sendmail
    SM_LIBPATH=$(sendmail_libdir "$SM_ROOT")
    # shellcheck disable=SC2034  # for the test scripts' diagnostics
    SM_VERSION=$(cat "$cache/version" 2>/dev/null)
}

# --- configuration -----------------------------------------------------------

# sendmail_write_mc VARIANT: $SM_DIR/test.mc for the stock or extended
# milter macro lists.
sendmail_write_mc() {
    local d=$SM_DIR extra=
    if [ "$1" = extended ]; then
        # The append idiom of cf/README: keep the defaults, add the TLS macros.
        extra="define(\`confMILTER_MACROS_ENVFROM', confMILTER_MACROS_ENVFROM\`, {verify}, {cn_subject}, {cn_issuer}, {tls_version}, {cipher}, {cipher_bits}')dnl
define(\`confMILTER_MACROS_ENVRCPT', confMILTER_MACROS_ENVRCPT\`, {verify}, {cn_subject}, {cn_issuer}, {tls_version}, {cipher}, {cipher_bits}')dnl"
    fi
    cat >"$d/test.mc" <<EOF
divert(-1)
# forcetls e2e: throwaway sendmail ($1 milter macros), generated by
# tests/e2e/sendmail_lib.sh. Loopback only; nothing is delivered (deferred
# delivery mode and no queue run; the local mailer is /bin/true); no DNS.
divert(0)dnl
VERSIONID(\`forcetls e2e $1')dnl
define(\`PROCMAIL_MAILER_PATH', \`/bin/true')dnl
OSTYPE(\`linux')dnl
undefine(\`ALIAS_FILE')dnl
define(\`confDONT_BLAME_SENDMAIL', \`TrustStickyBit')dnl
define(\`QUEUE_DIR', \`$d/queue')dnl
define(\`STATUS_FILE', \`$d/statistics')dnl
define(\`confPID_FILE', \`$d/sendmail.pid')dnl
define(\`confHOSTS_FILE', \`$d/hosts')dnl
define(\`confDEF_USER_ID', \`65534:65534')dnl
define(\`confDOMAIN_NAME', \`mx.example.org')dnl
define(\`confSMTP_LOGIN_MSG', \`\$j forcetls-e2e')dnl
define(\`confDELIVERY_MODE', \`deferred')dnl
define(\`confBIND_OPTS', \`-DNSRCH -DEFNAMES')dnl
define(\`confDONT_PROBE_INTERFACES', \`True')dnl
define(\`confTO_IDENT', \`0')dnl
define(\`confQUEUE_LA', \`999')dnl
define(\`confREFUSE_LA', \`999')dnl
define(\`confDELAY_LA', \`0')dnl
define(\`confMAX_DAEMON_CHILDREN', \`0')dnl
define(\`confCONNECTION_RATE_THROTTLE', \`0')dnl
define(\`confMIN_FREE_BLOCKS', \`0')dnl
define(\`confLOG_LEVEL', \`9')dnl
define(\`confMILTER_LOG_LEVEL', \`9')dnl
define(\`confSERVER_CERT', \`$d/server.crt')dnl
define(\`confSERVER_KEY', \`$d/server.key')dnl
define(\`confCACERT', \`$d/cacerts.pem')dnl
define(\`confCACERT_PATH', \`$d/cacerts')dnl
FEATURE(\`no_default_msa')dnl
FEATURE(\`nocanonify')dnl
FEATURE(\`accept_unresolvable_domains')dnl
DAEMON_OPTIONS(\`Port=$SMTP_PORT, Addr=127.0.0.1, Name=MTA')dnl
dnl The recipients' domain and the loopback clients may relay (Postfix: mynetworks).
RELAY_DOMAIN(\`example.org')dnl
RELAY_DOMAIN(\`127')dnl
INPUT_MAIL_FILTER(\`forcetls', \`S=inet:$MILTER_PORT@127.0.0.1, F=T, T=S:30s;R:30s;E:1m')dnl
$extra
MAILER(\`local')dnl
MAILER(\`smtp')dnl
EOF
}

# Write the private files of the namespace: hosts, nsswitch.conf,
# resolv.conf, service.switch, helpfile.
sendmail_write_env() {
    local d=$SM_DIR
    cat >"$d/hosts" <<EOF
127.0.0.1	$SM_HOSTNAME ${SM_HOSTNAME%%.*} localhost
127.0.0.1	mx.example.org
EOF
    printf 'passwd: files\ngroup: files\nshadow: files\nhosts: files\nservices: files\n' \
        >"$d/nsswitch.conf"
    # No name server: any query fails at once on loopback (nothing listens on 53).
    printf 'nameserver 127.0.0.1\noptions attempts:1 timeout:1\n' >"$d/resolv.conf"
    printf 'hosts files\naliases files\n' >"$d/service.switch"
    cp "$SM_ROOT/etc/mail/helpfile" "$d/helpfile" 2>/dev/null || : >"$d/helpfile"
}

# Copy the test PKI: server key mode 0600 (else STARTTLS silently stays off),
# the trusted partner CAs as a file and as a hashed directory.
sendmail_write_pki() {
    local d=$SM_DIR c
    cp "$PKI/server.crt" "$d/server.crt"
    (umask 077 && cp "$PKI/server.key" "$d/server.key")
    chmod 600 "$d/server.key"
    cp "$PKI/trusted-cas.pem" "$d/cacerts.pem"
    mkdir -p "$d/cacerts"
    for c in lab ca2; do cp "$PKI/$c.crt" "$d/cacerts/$c.pem"; done
    openssl rehash "$d/cacerts" >>"$d/openssl.log" 2>&1 ||
        bail_out "openssl rehash $d/cacerts failed"
}

# --- /dev/log ------------------------------------------------------------------

# Start a unix-datagram syslog listener on $SM_DIR/log.sock writing
# $SM_DIR/syslog.log; sendmail's /dev/log is bound to it in the namespace.
sendmail_start_syslog() {
    local sock=$SM_DIR/log.sock
    [ ${#sock} -lt 100 ] || bail_out "socket path too long for AF_UNIX: $sock"
    perl -MIO::Socket::UNIX -MSocket -e '
        my ($path, $out) = @ARGV;
        unlink $path;
        my $s = IO::Socket::UNIX->new(Type => SOCK_DGRAM, Local => $path)
            or die "bind $path: $!\n";
        chmod 0666, $path;
        open(my $fh, ">>", $out) or die "$out: $!\n";
        $fh->autoflush(1);
        $SIG{TERM} = sub { exit 0 };
        print STDOUT "ready\n"; close STDOUT;
        while (defined $s->recv(my $msg, 65536)) {
            $msg =~ s/\0+$//; $msg =~ s/[\r\n]+$//;
            print $fh "$msg\n";
        }' "$sock" "$SM_DIR/syslog.log" >"$SM_DIR/syslog.ready" 2>>"$SM_DIR/syslog.err" &
    SM_LOG_PID=$!
    echo "$SM_LOG_PID" >"$SM_DIR/syslog.pid"
    track_pid "$SM_LOG_PID"
    wait_line "$SM_DIR/syslog.ready" '^ready' 5 ||
        bail_out "syslog listener did not start: $(cat "$SM_DIR/syslog.err")"
}

# --- start and stop ----------------------------------------------------------------

# Stop what a killed earlier run left behind: for every pid file of a
# sendmail of ours ($TMPDIR/forcetls-e2e-*/sendmail-*/) whose test script
# (the owner file) is gone, TERM the daemon if /proc/PID/exe is an unpacked
# sendmail of a forcetls cache, and the syslog listener if its command line
# names that directory's log.sock. Never by name.
sendmail_reap_leftovers() {
    local d owner p exe
    for d in "${TMPDIR:-/tmp}"/forcetls-e2e-*/sendmail-*/; do
        d=${d%/}
        [ -f "$d/owner" ] || continue
        owner=$(cat "$d/owner" 2>/dev/null)
        [[ $owner =~ ^[0-9]+$ ]] && kill -0 "$owner" 2>/dev/null && continue
        p=$(head -n 1 "$d/sendmail.pid" 2>/dev/null)
        if [[ $p =~ ^[0-9]+$ ]]; then
            exe=$(readlink "/proc/$p/exe" 2>/dev/null)
            [[ $exe == */sendmail-cache/root/usr/libexec/sendmail/sendmail ]] &&
                kill -TERM "$p" 2>/dev/null
        fi
        p=$(cat "$d/syslog.pid" 2>/dev/null)
        if [[ $p =~ ^[0-9]+$ ]] &&
           tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -qF "$d/log.sock"; then
            kill -TERM "$p" 2>/dev/null
        fi
        rm -f "$d/owner"
    done
}

# Write the script that runs inside the namespace and execs sendmail.
sendmail_write_inner() {
    local d=$SM_DIR
    cat >"$d/inner.sh" <<EOF
#!/bin/sh
# Runs as the unshare child in a private UTS + mount namespace; execs sendmail.
set -e
hostname $SM_HOSTNAME
mount --bind $d/hosts /etc/hosts
mount --bind $d/nsswitch.conf /etc/nsswitch.conf
mount --bind $d/resolv.conf /etc/resolv.conf
mount -t tmpfs -o mode=755,size=1m tmpfs /dev
mknod -m 666 /dev/null c 1 3
mknod -m 666 /dev/zero c 1 5
mknod -m 666 /dev/random c 1 8
mknod -m 666 /dev/urandom c 1 9
ln -s /proc/self/fd /dev/fd
: >/dev/log
mount --bind $d/log.sock /dev/log
export LD_LIBRARY_PATH=$SM_LIBPATH
exec $SM_BIN -C $d/test.cf -bD -L sm-forcetls
EOF
    chmod 755 "$d/inner.sh"
}

# start_sendmail VARIANT: configure and start sendmail on 127.0.0.1:$SMTP_PORT
# with the milter on $MILTER_PORT; wait until it listens. Sets SM_PID.
start_sendmail() {
    local variant=$1 i pidf
    case $variant in stock | extended) ;; *) bail_out "start_sendmail: unknown variant $variant" ;; esac
    [ -n "$SM_BIN" ] || sendmail_fetch
    sendmail_reap_leftovers
    SM_DIR=$E2E_DIR/sendmail-$variant
    rm -rf "$SM_DIR"
    mkdir -p "$SM_DIR/queue"
    echo $$ >"$SM_DIR/owner"
    chmod 755 "$SM_DIR"
    chmod 700 "$SM_DIR/queue"
    SM_SYSLOG=$SM_DIR/syslog.log
    : >"$SM_SYSLOG"
    sendmail_write_env
    sendmail_write_pki
    sendmail_write_mc "$variant"
    m4 -D "MAIL_SETTINGS_DIR=$SM_DIR/" "$SM_ROOT/usr/share/sendmail/cf/m4/cf.m4" \
        "$SM_DIR/test.mc" >"$SM_DIR/test.cf" 2>"$SM_DIR/m4.log" ||
        bail_out "m4 failed: $(cat "$SM_DIR/m4.log")"
    sendmail_start_syslog
    sendmail_write_inner
    unshare --uts --mount /bin/sh "$SM_DIR/inner.sh" \
        >"$SM_DIR/stdout.log" 2>"$SM_DIR/stderr.log" </dev/null &
    SM_PID=$!
    pidf=$SM_DIR/sendmail.pid
    for ((i = 0; i < 300; i++)); do
        port_open "$SMTP_PORT" && break
        pid_alive "$SM_PID" || break
        sleep 0.05
    done
    if ! port_open "$SMTP_PORT"; then
        diag "$(cat "$SM_DIR/stderr.log")" "$(tail -n 20 "$SM_SYSLOG")"
        bail_out "sendmail ($variant) does not listen on 127.0.0.1:$SMTP_PORT"
    fi
    # The pid file's first line must name the process we started.
    wait_line "$pidf" '^[0-9]+$' 5
    if [ "$(head -n 1 "$pidf" 2>/dev/null)" != "$SM_PID" ]; then
        diag "pid file: $(head -n 1 "$pidf" 2>/dev/null), unshare child: $SM_PID"
    fi
}

# Stop our sendmail: SIGTERM to the daemon (and the PID in its pid file if it
# differs), bounded wait, then its connection children; then the listener.
stop_sendmail() {
    local pids=() p kids=() pidf
    [ -n "$SM_PID" ] && pids+=("$SM_PID")
    pidf=${SM_DIR:+$SM_DIR/sendmail.pid}
    if [ -n "$pidf" ] && [ -s "$pidf" ]; then
        p=$(head -n 1 "$pidf")
        # Only a sendmail of ours: its executable is our unpacked binary.
        if [[ $p =~ ^[0-9]+$ ]] && [ "$p" != "${SM_PID:-}" ] &&
           [ "$(readlink "/proc/$p/exe" 2>/dev/null)" = "$SM_BIN" ]; then
            pids+=("$p")
        fi
    fi
    for p in "${pids[@]}"; do
        mapfile -t -O "${#kids[@]}" kids < <(child_pids "$p")
        kill -TERM "$p" 2>/dev/null
    done
    for p in "${pids[@]}"; do
        wait_gone "$p" 10 || kill -KILL "$p" 2>/dev/null
        [ "$p" = "${SM_PID:-}" ] && wait "$p" 2>/dev/null
    done
    for p in "${kids[@]}"; do
        wait_gone "$p" 5 || kill -KILL "$p" 2>/dev/null
    done
    SM_PID=
    if [ -n "$SM_LOG_PID" ]; then
        kill -TERM "$SM_LOG_PID" 2>/dev/null
        wait "$SM_LOG_PID" 2>/dev/null
        SM_LOG_PID=
    fi
    return 0
}

# Print the TCP listening sockets of our sendmail daemon, one ADDR:PORT a
# line (IPv6 ones as [HEX]:PORT), from /proc: no ss/netstat needed.
sendmail_listening() {
    local f l inodes=" " addr st inode hex port
    [ -n "$SM_PID" ] || return 1
    for f in /proc/"$SM_PID"/fd/*; do
        l=$(readlink "$f" 2>/dev/null) || continue
        [[ $l =~ ^socket:\[([0-9]+)\]$ ]] && inodes+="${BASH_REMATCH[1]} "
    done
    for f in /proc/net/tcp /proc/net/tcp6; do
        [ -r "$f" ] || continue
        # Fields: sl local_address rem_address st ... inode (the 10th).
        while read -r _ addr _ st _ _ _ _ _ inode _; do
            [ "$st" = 0A ] || continue
            [[ $inodes == *" $inode "* ]] || continue
            hex=${addr%:*}
            port=$((16#${addr#*:}))
            if [ ${#hex} -eq 8 ]; then
                echo "$((16#${hex:6:2})).$((16#${hex:4:2})).$((16#${hex:2:2})).$((16#${hex:0:2})):$port"
            else
                echo "[$hex]:$port"
            fi
        done < <(tail -n +2 "$f")
    done | sort -u
}

# Make the EXIT trap of lib.sh stop sendmail first (keeping the exit status).
sendmail_install_cleanup() {
    # shellcheck disable=SC2154  # sm_rc is assigned inside the trap string
    trap 'sm_rc=$?; stop_sendmail; (exit $sm_rc); e2e_cleanup' EXIT
}

# Prerequisites beyond lib.sh's: unshare, m4, dpkg, apt-get; the namespace.
require_sendmail_prereqs() {
    local t
    for t in unshare m4 dpkg apt-get mount mknod; do
        command -v "$t" >/dev/null 2>&1 || skip_all "$t is not installed"
    done
    unshare --uts --mount /bin/sh -c "hostname $SM_HOSTNAME" 2>/dev/null ||
        skip_all "unshare --uts --mount does not work here"
}
