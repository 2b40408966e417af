#!/bin/sh
# bench_postfix.sh - what forcetls costs a real Postfix, in messages and SMTP
# sessions per second, next to no milter and next to a do-nothing libmilter
# milter (tests/bench/null_milter.c). Prints figures; asserts nothing. Not
# part of make check: `make bench` runs it after building.
#
# A throwaway Postfix on loopback (tests/e2e/lib.sh) discards all mail. One
# smtpd listener per setup, each with its own smtpd_milters, so that
# switching setups needs no reload and the repetitions can be interleaved:
#   none          no milter
#   null/unix     null_milter on a unix socket
#   null/tcp      null_milter on 127.0.0.1 TCP
#   null+macros/unix  null_milter asking for forcetls's macro lists: what
#                 those macros cost Postfix, apart from forcetls's own work
#   forcetls/...  forcetls-milter with the shipped conf/forcetls.conf plus
#                 BENCH_CONNECTORS generated inbound connectors (domains and
#                 CIDRs), on a unix socket and on TCP, with an unmatched
#                 sender (no connector, no log line) and a matched one (a
#                 connector in monitor mode: the whole policy runs, one
#                 decision line is logged, the mail is accepted).
# Two loads per setup, with smtp-source (Postfix's load generator):
#   sess/s   one message per SMTP session (connect, EHLO, MAIL, RCPT, DATA,
#            QUIT): sessions per second, which here equal messages per second
#   msg/s    smtp-source -d: messages over BENCH_PARALLEL long sessions
# Each measurement is repeated BENCH_REPS times (interleaved, in rotating
# order), and every run waits until Postfix has discarded all its mail. The
# first table shows median rates, the spread (max-min)/median, and the change
# relative to no milter and to null_milter over the same socket. The second
# shows CPU time per message (whole machine, and the milter process alone)
# and how busy the CPUs were: a run far from 100% busy was bound by latency,
# and its rate says nothing about CPU cost. Then the forcetls processes'
# memory (shipped config, BENCH_CONNECTORS connectors) and the time
# forcetls-milter -n takes to load the big configuration.
#
# Needs root (a Postfix instance) and smtp-source; without them it says so
# and exits 0. Traffic goes to 127.0.0.1 only; every process is started and
# stopped by PID; everything lives in a temporary directory. Bounded: each
# smtp-source run is killed after BENCH_RUN_TIMEOUT seconds.
#
# Environment: FORCETLS_MILTER, NULL_MILTER (the programs), BENCH_MESSAGES
# (per run, default 2000), BENCH_PARALLEL (parallel sessions, 20),
# BENCH_REPS (3), BENCH_CONNECTORS (100000), BENCH_TMPDIR (where the Postfix
# queue and the sockets live, default /dev/shm), BENCH_EXTRA_MAIN (main.cf
# lines, default "in_flow_delay = 0s"), KEEP=1 keeps the directory.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi

bench_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SMTP_SOURCE=${SMTP_SOURCE:-/usr/sbin/smtp-source}
MESSAGES=${BENCH_MESSAGES:-2000}
PARALLEL=${BENCH_PARALLEL:-20}
REPS=${BENCH_REPS:-3}
CONNECTORS=${BENCH_CONNECTORS:-100000}
RUN_TIMEOUT=${BENCH_RUN_TIMEOUT:-60}
UNMATCHED=a@unrelated.example
MATCHED=a@c$((CONNECTORS / 2)).example
RCPT=b@example.org

# Say why the benchmark cannot run and stop without failing.
bench_skip() {
    echo "bench_postfix: skipped: $*"
    exit 0
}

[ "$(id -u)" -eq 0 ] || bench_skip "needs root to run a throwaway Postfix instance"
for t in postfix postconf openssl timeout awk; do
    command -v "$t" >/dev/null 2>&1 || bench_skip "$t is not installed"
done
[ -x "$SMTP_SOURCE" ] || bench_skip "no $SMTP_SOURCE (package postfix)"
id postfix >/dev/null 2>&1 || bench_skip "no postfix user"

# shellcheck source-path=SCRIPTDIR source=../e2e/lib.sh
. "$bench_here/../e2e/lib.sh"

find_milter || bench_skip "forcetls-milter is not built (set FORCETLS_MILTER)"
: "${NULL_MILTER:=$top_builddir/tests/bench/null_milter}"
[ -x "$NULL_MILTER" ] || bench_skip "no $NULL_MILTER (make tests/bench/null_milter)"
[ "$MATCHED" != "a@c0.example" ] || bench_skip "BENCH_CONNECTORS must be at least 2"

# The instance's queue on tmpfs when there is one: the runs then measure CPU
# (the milters' cost), not the disk's fsync latency.
: "${BENCH_TMPDIR:=/dev/shm}"
[ -d "$BENCH_TMPDIR" ] && [ -w "$BENCH_TMPDIR" ] || BENCH_TMPDIR=${TMPDIR:-/tmp}
TMPDIR=$BENCH_TMPDIR e2e_init
bench_forcetls_pids=()

# EXIT trap: stop our forcetls instances (parent and worker, by PID), then
# lib.sh's cleanup (null_milter, Postfix, ports, directory).
bench_cleanup() {
    local rc=$? pid
    for pid in "${bench_forcetls_pids[@]}"; do
        # shellcheck disable=SC2034 # read by lib.sh's stop_milter
        MILTER_PID=$pid
        stop_milter
    done
    (exit "$rc")
    e2e_cleanup
}
trap bench_cleanup EXIT

# --- helpers ---------------------------------------------------------------------

# Monotonic-enough wall clock in seconds with nanoseconds.
now() { date +%s.%N; }

# median DECIMALS NUMBER...: the median, rounded.
median() {
    local d=$1
    shift
    printf '%s\n' "$@" | sort -g | awk -v d="$d" '{ v[NR] = $1 } END {
        m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
        printf "%.*f\n", d, m }'
}

# Spread of the numbers, (max - min) / median, in percent.
spread() {
    local med
    med=$(median 3 "$@")
    printf '%s\n' "$@" | awk -v m="$med" 'NR == 1 { lo = hi = $1 }
        { if ($1 < lo) lo = $1; if ($1 > hi) hi = $1 }
        END { printf "%.0f%%\n", (m > 0 ? 100 * (hi - lo) / m : 0) }'
}

# Percent change of $1 relative to $2 (negative: slower).
change() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%+.1f%%\n", (b > 0 ? 100 * (a - b) / b : 0) }'; }

# Busy jiffies of the whole machine (all CPUs, from /proc/stat).
machine_busy() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat; }

# User plus system jiffies of process PID (all its threads).
proc_cpu() {
    local stat
    read -r stat 2>/dev/null <"/proc/$1/stat" || { echo 0; return; }
    # shellcheck disable=SC2086 # the fields after "(comm) ", split on purpose
    set -- ${stat##*) }
    echo $(( ${12} + ${13} ))
}

# VmRSS of PID in kB.
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }

# Pss of PID in kB (pages shared with the other process count half).
pss_kb() { awk '/^Pss:/ { print $2; exit }' "/proc/$1/smaps_rollup" 2>/dev/null; }

# The forcetls worker of supervisor PID $1 (its only child).
worker_of() { child_pids "$1" | head -n 1; }

# start_null NAME SOCKET [macros]: start null_milter, wait until it listens;
# sets NULL_PID.
start_null() {
    local log=$E2E_DIR/$1.log pid
    "$NULL_MILTER" "${@:2}" >"$log" 2>&1 &
    pid=$!
    NULL_PID=$pid
    track_pid "$pid"
    wait_line "$log" '^null_milter: listening' 10 || {
        diag "$(cat "$log")"
        bail_out "null_milter $1 did not start"
    }
}

# start_forcetls NAME CONF SOCKET: start forcetls-milter in the foreground
# (no debug lines), wait until its worker serves; sets FT_PID.
start_forcetls() {
    local log=$E2E_DIR/$1.log
    "$FORCETLS_MILTER" -f -c "$2" -p "$3" >"$log" 2>&1 &
    FT_PID=$!
    bench_forcetls_pids+=("$FT_PID")
    wait_line "$log" 'serving on' 120 || {
        diag "$(tail -n 20 "$log")"
        bail_out "forcetls-milter $1 did not start"
    }
}

# stop_forcetls PID: graceful stop of one instance (lib.sh's stop_milter).
stop_forcetls() {
    local pid=$1 p keep=()
    # shellcheck disable=SC2034 # read by lib.sh's stop_milter
    MILTER_PID=$pid
    stop_milter
    for p in "${bench_forcetls_pids[@]}"; do
        [ "$p" = "$pid" ] || keep+=("$p")
    done
    bench_forcetls_pids=("${keep[@]}")
}

# --- configurations ------------------------------------------------------------

# The shipped file without its pidfile (it names /run/forcetls) and its user
# (the packages create it; a build tree has none); the socket is given with
# -p, outside the setgid directory that gives it the group postfix when
# installed, so the group is set here.
SHIPPED=$E2E_DIR/shipped.conf
sed -e '/^pidfile[[:space:]]*=/d' -e '/^[[:space:]]*user[[:space:]]*=/d' \
    -e '1i socket_group = "postfix";' \
    "$top_srcdir/conf/forcetls.conf" >"$SHIPPED" ||
    bail_out "cannot copy conf/forcetls.conf"

# Print N generated inbound connectors, each preceded by a comma so that they
# follow the shipped ones. Connector i: sender domains ci.example and
# *.ci.example; even i: TLS required, action monitor (mail from its domains is
# accepted and logged); odd i: also an IPv4 prefix (/24, /28 or /32 in 10/8)
# and an IPv6 /48 that 127.0.0.1 is not in, action reject.
gen_connectors() {
    awk -v n="$1" 'BEGIN {
        split("24 28 32", len, " "); split("0 16 1", host, " ")
        for (i = 0; i < n; i++) {
            printf ",\n  { name = \"gen%d\";\n", i
            printf "    sender_domains = [ \"c%d.example\", \"*.c%d.example\" ];\n", i, i
            if (i % 2) {
                j = int(i / 2); k = j % 3 + 1
                printf "    sender_ips = [ \"10.%d.%d.%d/%d\", \"2001:db8:%x::/48\" ];\n",
                    int(j / 256) % 256, j % 256, host[k], len[k], j
                printf "    require_tls = true;\n    action = \"reject\";\n  }"
            } else {
                printf "    require_tls = true;\n    action = \"monitor\";\n  }"
            }
        }
        printf "\n"
    }'
}

# The shipped file with the generated connectors appended to its inbound list.
BIG=$E2E_DIR/big.conf
gen_connectors "$CONNECTORS" >"$E2E_DIR/generated.part"
awk -v part="$E2E_DIR/generated.part" '
    /^inbound[[:space:]]*=/ { in_list = 1 }
    in_list && /^\);/ { while ((getline l < part) > 0) print l; in_list = 0 }
    { print }' "$SHIPPED" >"$BIG"
grep -q 'name = "gen0"' "$BIG" || bail_out "could not add the generated connectors"

for conf in "$SHIPPED" "$BIG"; do
    "$FORCETLS_MILTER" -n -c "$conf" >"$E2E_DIR/check.out" 2>&1 ||
        bail_out "$conf rejected: $(head -n 3 "$E2E_DIR/check.out")"
done

# --- configuration load time and memory ---------------------------------------------

# Seconds that forcetls-milter -n takes on FILE (median of 3).
load_seconds() {
    local i t0 t1 times=()
    for i in 1 2 3; do
        t0=$(now)
        "$FORCETLS_MILTER" -n -c "$1" >/dev/null 2>&1
        t1=$(now)
        times+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')")
    done
    median 3 "${times[@]}"
}

LOAD_SHIPPED=$(load_seconds "$SHIPPED")
LOAD_BIG=$(load_seconds "$BIG")

# RSS of a forcetls instance with the shipped configuration, idle.
start_forcetls ft-shipped "$SHIPPED" "unix:$E2E_DIR/ft-shipped.sock"
sleep 0.5
w=$(worker_of "$FT_PID")
RSS_SHIPPED_WORKER=$(rss_kb "$w")
PSS_SHIPPED_WORKER=$(pss_kb "$w")
RSS_SHIPPED_PARENT=$(rss_kb "$FT_PID")
PSS_SHIPPED_PARENT=$(pss_kb "$FT_PID")
stop_forcetls "$FT_PID"

# --- the Postfix instance and the milters ---------------------------------------

alloc_port SMTP_PORT
alloc_port NULL_TCP_PORT
alloc_port FT_TCP_PORT
NULL_SOCK=$E2E_DIR/null.sock
FT_SOCK=$E2E_DIR/ft.sock

start_null null-unix "unix:$NULL_SOCK"
NULL_UNIX_PID=$NULL_PID
start_null null-tcp "inet:$NULL_TCP_PORT@127.0.0.1"
NULL_TCP_PID=$NULL_PID
start_null null-macros "unix:$E2E_DIR/null-macros.sock" macros
NULL_MACROS_PID=$NULL_PID
start_forcetls ft-unix "$BIG" "unix:$FT_SOCK"
FT_UNIX_PID=$FT_PID
start_forcetls ft-tcp "$BIG" "inet:$FT_TCP_PORT@127.0.0.1"
FT_TCP_PID=$FT_PID
sleep 0.5
RSS_BIG_WORKER_IDLE=$(rss_kb "$(worker_of "$FT_UNIX_PID")")
PSS_BIG_WORKER_IDLE=$(pss_kb "$(worker_of "$FT_UNIX_PID")")
RSS_BIG_PARENT=$(rss_kb "$FT_UNIX_PID")
PSS_BIG_PARENT=$(pss_kb "$FT_UNIX_PID")

make_pki
# shellcheck disable=SC2034 # PF_* are read by lib.sh's postfix_write_conf
PF_MILTERS=
# No in-flow throttling: cleanup's waits for queue manager tokens (up to 1 s)
# would dominate runs this short. Each run waits for the queue to empty
# instead, and its CPU figures include the deliveries.
# shellcheck disable=SC2034
PF_EXTRA_MAIN=${BENCH_EXTRA_MAIN-in_flow_delay = 0s}
start_postfix

# One extra smtpd listener per milter setup.
declare -A PORT_OF
PORT_OF[none]=$SMTP_PORT
add_listener() {
    local setup=$1 milter=$2 port
    alloc_port port
    PORT_OF[$setup]=$port
    echo "127.0.0.1:$port inet n - n - - smtpd -o smtpd_milters=$milter" \
        >>"$PF_DIR/conf/master.cf"
}
add_listener null/unix "unix:$NULL_SOCK"
add_listener null/tcp "inet:127.0.0.1:$NULL_TCP_PORT"
add_listener null+macros/unix "unix:$E2E_DIR/null-macros.sock"
add_listener forcetls/unix "unix:$FT_SOCK"
add_listener forcetls/tcp "inet:127.0.0.1:$FT_TCP_PORT"
postfix -c "$PF_DIR/conf" reload >>"$PF_DIR/start.log" 2>&1 ||
    bail_out "postfix reload failed"
for s in "${!PORT_OF[@]}"; do
    wait_port "${PORT_OF[$s]}" 10 || bail_out "no smtpd listener for $s"
done

# --- measurements --------------------------------------------------------------------

# Rows of the table: "name listener sender".
ROWS=(
    "none none $UNMATCHED"
    "null/unix null/unix $UNMATCHED"
    "null/tcp null/tcp $UNMATCHED"
    "null+macros/unix null+macros/unix $UNMATCHED"
    "forcetls/unix/unmatched forcetls/unix $UNMATCHED"
    "forcetls/unix/matched forcetls/unix $MATCHED"
    "forcetls/tcp/unmatched forcetls/tcp $UNMATCHED"
    "forcetls/tcp/matched forcetls/tcp $MATCHED"
)
LOADS=(sess msg)
declare -A MILTER_OF=(
    [none]=""
    [null/unix]=$NULL_UNIX_PID
    [null/tcp]=$NULL_TCP_PID
    [null+macros/unix]=$NULL_MACROS_PID
    [forcetls/unix]=$(worker_of "$FT_UNIX_PID")
    [forcetls/tcp]=$(worker_of "$FT_TCP_PID")
)
declare -A RATES MACHINE_J MILTER_J ELAPSED

# Wait (up to 60 s) until Postfix has delivered (discarded) every message, so
# that no run pays for the backlog of another.
wait_queue_empty() {
    local i q=$PF_DIR/queue
    for ((i = 0; i < 1200; i++)); do
        [ -z "$(find "$q/maildrop" "$q/incoming" "$q/active" "$q/deferred" \
            -type f -print -quit 2>/dev/null)" ] && return 0
        sleep 0.05
    done
    echo "bench_postfix: the queue did not drain: $(find "$q" -type f | wc -l) files" >&2
    return 1
}

# run_load LOAD LISTENER SENDER COUNT: one smtp-source run; sets RUN_RATE
# (messages/s while smtp-source ran), RUN_ELAPSED (s), and RUN_MACHINE and
# RUN_MILTER: CPU jiffies until the queue was empty again (delivery included),
# RUN_WALL (s) that time.
run_load() {
    local load=$1 port=${PORT_OF[$2]} milter=${MILTER_OF[$2]} sender=$3 count=$4
    local opt=() t0 t1 m0 m1 p0=0 p1=0 rc
    [ "$load" = msg ] && opt=(-d)
    [ -n "$milter" ] && p0=$(proc_cpu "$milter")
    m0=$(machine_busy)
    t0=$(now)
    timeout -k 5 "$RUN_TIMEOUT" "$SMTP_SOURCE" "${opt[@]}" -s "$PARALLEL" -m "$count" \
        -M client.example -f "$sender" -t "$RCPT" "127.0.0.1:$port" \
        >>"$E2E_DIR/smtp-source.log" 2>&1
    rc=$?
    t1=$(now)
    [ "$rc" -eq 0 ] || return 1
    wait_queue_empty || return 1
    m1=$(machine_busy)
    [ -n "$milter" ] && p1=$(proc_cpu "$milter")
    RUN_WALL=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.3f\n", b - a }')
    RUN_ELAPSED=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", b - a }')
    RUN_RATE=$(awk -v n="$count" -v e="$RUN_ELAPSED" 'BEGIN { printf "%.1f\n", n / e }')
    RUN_MACHINE=$((m1 - m0))
    RUN_MILTER=$((p1 - p0))
}

# Warm up every listener (smtpd processes, milter threads, caches).
for row in "${ROWS[@]}"; do
    read -r name listener sender <<<"$row"
    run_load sess "$listener" "$sender" 200 ||
        bail_out "warm-up of $name failed: $(tail -n 3 "$E2E_DIR/smtp-source.log")"
done

echo "bench_postfix: $MESSAGES messages per run, $PARALLEL parallel sessions," \
    "$REPS repetitions, $CONNECTORS generated connectors, $(nproc) CPUs"
T_START=$(now)
for ((rep = 0; rep < REPS; rep++)); do
    for load in "${LOADS[@]}"; do
        n=${#ROWS[@]}
        for ((k = 0; k < n; k++)); do
            read -r name listener sender <<<"${ROWS[$(((k + rep) % n))]}"
            run_load "$load" "$listener" "$sender" "$MESSAGES" ||
                bail_out "$name/$load failed: $(tail -n 3 "$E2E_DIR/smtp-source.log")"
            RATES[$name,$load]+="$RUN_RATE "
            MACHINE_J[$name,$load]=$(( ${MACHINE_J[$name,$load]:-0} + RUN_MACHINE ))
            MILTER_J[$name,$load]=$(( ${MILTER_J[$name,$load]:-0} + RUN_MILTER ))
            ELAPSED[$name,$load]=$(awk -v a="${ELAPSED[$name,$load]:-0}" \
                -v b="$RUN_WALL" 'BEGIN { print a + b }')
        done
    done
    echo "bench_postfix: repetition $((rep + 1)) of $REPS done"
done
T_RUNS=$(awk -v a="$T_START" -v b="$(now)" 'BEGIN { printf "%.0f\n", b - a }')

RSS_BIG_WORKER_LOADED=$(rss_kb "${MILTER_OF[forcetls/unix]}")
RSS_BIG_WORKER_TCP=$(rss_kb "${MILTER_OF[forcetls/tcp]}")
DECISIONS=$(cat "$E2E_DIR/ft-unix.log" "$E2E_DIR/ft-tcp.log" |
    grep -c 'decision=monitor .*connector=gen')
MILTER_TROUBLE=$(grep -c -i 'milter.*\(error\|timeout\|fail\)' "$MAILLOG")

# --- report --------------------------------------------------------------------------

# The baseline row for forcetls row $1: null_milter over the same socket.
null_of() {
    case $1 in
    forcetls/unix/* | null+macros/*) echo null/unix ;;
    forcetls/tcp/*) echo null/tcp ;;
    esac
}

# Microseconds of CPU per message from a jiffy total over REPS runs.
per_msg_us() { awk -v j="$1" -v n="$((REPS * MESSAGES))" -v hz="$(getconf CLK_TCK)" \
    'BEGIN { printf "%.0f\n", j * 1e6 / hz / n }'; }

# Share of the machine's CPUs that were busy, in percent.
busy_pct() { awk -v j="$1" -v e="$2" -v c="$(nproc)" -v hz="$(getconf CLK_TCK)" \
    'BEGIN { printf "%.0f%%\n", (e > 0 ? 100 * j / hz / e / c : 0) }'; }

declare -A MED
for row in "${ROWS[@]}"; do
    read -r name _ _ <<<"$row"
    for load in "${LOADS[@]}"; do
        # shellcheck disable=SC2086
        MED[$name,$load]=$(median 1 ${RATES[$name,$load]})
    done
done

echo
echo "Throughput: messages/second, median of $REPS runs; spread = (max-min)/median."
echo "sess = one message per SMTP session (so also sessions/s); msg = smtp-source -d,"
echo "messages over $PARALLEL long sessions. vs null: against null_milter on the same socket."
printf '%-24s|%8s %6s %8s %8s |%8s %6s %8s %8s\n' setup sess/s spread "vs none" "vs null" \
    msg/s spread "vs none" "vs null"
for row in "${ROWS[@]}"; do
    read -r name _ _ <<<"$row"
    line=$(printf '%-24s' "$name")
    for load in "${LOADS[@]}"; do
        m=${MED[$name,$load]}
        vs_none=-
        [ "$name" = none ] || vs_none=$(change "$m" "${MED[none,$load]}")
        vs_null=-
        base=$(null_of "$name")
        [ -n "$base" ] && vs_null=$(change "$m" "${MED[$base,$load]}")
        # shellcheck disable=SC2086
        line+=$(printf '|%8s %6s %8s %8s ' "$m" "$(spread ${RATES[$name,$load]})" \
            "$vs_none" "$vs_null")
    done
    echo "$line"
done

echo
echo "CPU: microseconds per message of the whole machine and of the milter process"
echo "(all threads), over all runs, each until Postfix had discarded every message;"
echo "busy = share of the $(nproc) CPUs in use over that time; where it is well under 100%"
echo "the run was bound by latency (e.g. the milter's TCP round trips), not by CPU."
printf '%-24s|%9s %9s %6s |%9s %9s %6s\n' setup "sess:all" milter busy "msg:all" milter busy
for row in "${ROWS[@]}"; do
    read -r name _ _ <<<"$row"
    line=$(printf '%-24s' "$name")
    for load in "${LOADS[@]}"; do
        mil=-
        [ "$name" = none ] || mil=$(per_msg_us "${MILTER_J[$name,$load]}")
        line+=$(printf '|%9s %9s %6s ' "$(per_msg_us "${MACHINE_J[$name,$load]}")" "$mil" \
            "$(busy_pct "${MACHINE_J[$name,$load]}" "${ELAPSED[$name,$load]}")")
    done
    echo "$line"
done

echo
echo "Raw messages/second per run:"
for row in "${ROWS[@]}"; do
    read -r name _ _ <<<"$row"
    printf '  %-24s sess: %-22s msg: %s\n' "$name" "${RATES[$name,sess]}" "${RATES[$name,msg]}"
done

echo
echo "forcetls memory in kB. The supervisor keeps the startup snapshot, which the worker"
echo "shares copy-on-write: Pss counts each shared page half in each process."
printf '  %-36s worker VmRSS %7s Pss %7s   supervisor VmRSS %7s Pss %7s\n' \
    "shipped config, idle" "$RSS_SHIPPED_WORKER" "$PSS_SHIPPED_WORKER" \
    "$RSS_SHIPPED_PARENT" "$PSS_SHIPPED_PARENT" \
    "$CONNECTORS connectors, idle" "$RSS_BIG_WORKER_IDLE" "$PSS_BIG_WORKER_IDLE" \
    "$RSS_BIG_PARENT" "$PSS_BIG_PARENT"
printf '  %-36s worker VmRSS %7s (unix), %s (tcp)\n' \
    "$CONNECTORS connectors, after the runs" "$RSS_BIG_WORKER_LOADED" "$RSS_BIG_WORKER_TCP"
echo
echo "Configuration load, forcetls-milter -n (median of 3): shipped ${LOAD_SHIPPED} s;" \
    "$CONNECTORS connectors ${LOAD_BIG} s ($(wc -c <"$BIG") bytes)."
echo "Checks: $DECISIONS decision lines from generated connectors for" \
    "$((2 * (2 * REPS * MESSAGES + 200))) matched messages (warm-up included);" \
    "$MILTER_TROUBLE milter errors in the Postfix log; the runs took ${T_RUNS} s."
