#!/bin/sh
# bench_memory.sh - memory and timing of the daemon with a large
# configuration (default 100,000 inbound + 20,000 outbound connectors):
# VmRSS and Pss of the supervisor and the worker idle after start, after 3
# reloads and after a worker restart; start-up time (launch to "serving
# on"); reload time (SIGHUP to "reload ok"); restart time (SIGKILL of the
# worker to the new worker's "serving on"). Prints figures, asserts nothing.
# Needs no root and no Postfix: the daemon runs with -f on a loopback port.
# Sizes: BENCH_INBOUND, BENCH_OUTBOUND.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -u

MILTER=${FORCETLS_MILTER:-${top_builddir:-.}/milter/forcetls-milter}
IN=${BENCH_INBOUND:-100000}
OUT=${BENCH_OUTBOUND:-20000}
[ -x "$MILTER" ] || { echo "bench_memory: no daemon at $MILTER (build it first)"; exit 0; }
DIR=$(mktemp -d "${TMPDIR:-/tmp}/forcetls-bench-mem.XXXXXX") || exit 1
PID=
cleanup() {
    if [ -n "$PID" ]; then
        kill -TERM "$PID" 2>/dev/null
        for _ in $(seq 100); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$PID" 2>/dev/null
    fi
    rm -rf "$DIR"
}
trap cleanup EXIT

for _ in $(seq 50); do
    PORT=$((20000 + RANDOM % 12000))   # below the ephemeral range
    (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null || break
done
CONF=$DIR/forcetls.conf
LOG=$DIR/milter.log
awk -v n="$IN" -v m="$OUT" -v port="$PORT" 'BEGIN {
    printf "socket = \"inet:%d@127.0.0.1\";\ndefault_action = \"reject\";\ninbound = (\n", port
    for (i = 0; i < n; i++)
        printf "%s{ name = \"in%d\"; sender_domains = [ \"p%d.example\", \"*.p%d.example\" ]; " \
               "sender_ips = [ \"10.%d.%d.0/24\" ]; require_tls = true; " \
               "tls_sender_certificate_names = [ \"mx.p%d.example\" ]; }\n",
               i ? "," : "", i, i, i, int(i / 256) % 256, i % 256, i
    printf ");\noutbound = (\n"
    for (i = 0; i < m; i++)
        printf "%s{ name = \"out%d\"; recipient_domains = [ \"q%d.example\" ]; " \
               "tls_settings = \"domain-validation\"; tls_domain = \"mx.q%d.example\"; " \
               "smart_hosts = [ \"[relay.q%d.example]:25\" ]; }\n", i ? "," : "", i, i, i, i
    printf ");\n"
}' >"$CONF"
"$MILTER" -n -c "$CONF" >/dev/null 2>&1 || { echo "bench_memory: generated configuration invalid:";
    "$MILTER" -n -c "$CONF" 2>&1 | head -n 3; exit 0; }

now() { echo "$EPOCHREALTIME"; }
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }'; }
count() { grep -Ec -- "$1" "$LOG"; }
# wait_more ERE N: until more than N lines match (at most 60 s).
wait_more() {
    for _ in $(seq 1200); do
        [ "$(count "$1")" -gt "$2" ] && return 0
        kill -0 "$PID" 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}
TICK=$(getconf CLK_TCK 2>/dev/null || echo 100)
# cpu PID: user+system CPU seconds of PID so far.
cpu() {
    local s
    read -r s <"/proc/$1/stat" 2>/dev/null || { echo 0; return; }
    s=${s##*) }; set -- $s
    awk -v u="${12}" -v k="${13}" -v t="$TICK" 'BEGIN { printf "%.2f", (u + k) / t }'
}
# cpus A B: B - A
cpus() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
kib() { awk -v k="$1" '/^'"$1"':/ { print $2 }' "$2" 2>/dev/null; }
worker() {
    local f
    for f in /proc/[0-9]*/stat; do
        { read -r s <"$f"; } 2>/dev/null || continue
        s=${s##*) }; set -- $s
        [ "$2" = "$PID" ] && { f=${f#/proc/}; echo "${f%/stat}"; return; }
    done
}
# mem LABEL: VmRSS and Pss (MB) of supervisor and worker, and their sum.
mem() {
    local w s_rss s_pss w_rss w_pss
    w=$(worker)
    s_rss=$(kib VmRSS "/proc/$PID/status"); s_pss=$(kib Pss "/proc/$PID/smaps_rollup")
    w_rss=$(kib VmRSS "/proc/$w/status"); w_pss=$(kib Pss "/proc/$w/smaps_rollup")
    awk -v l="$1" -v a="${s_rss:-0}" -v b="${s_pss:-0}" -v c="${w_rss:-0}" -v d="${w_pss:-0}" \
        'BEGIN { printf "%-26s supervisor RSS %7.1f MB Pss %7.1f MB | worker RSS %7.1f MB Pss %7.1f MB | sum RSS %7.1f MB Pss %7.1f MB\n",
                 l, a/1024, b/1024, c/1024, d/1024, (a+c)/1024, (b+d)/1024 }'
}

echo "bench_memory: $IN inbound + $OUT outbound connectors, $(wc -c <"$CONF") bytes of configuration"
t=$(now)
"$MILTER" -f -c "$CONF" >>"$LOG" 2>&1 &
PID=$!
wait_more 'serving on' 0 || { echo "no worker served in 60 s"; tail -n 5 "$LOG"; exit 0; }
W=$(worker)
echo "start-up (launch to 'serving on'):  $(since "$t") s wall; CPU: supervisor (parses in main) $(cpu "$PID") s, worker $(cpu "$W") s; load average $(cut -d' ' -f1 /proc/loadavg)"
sleep 2
mem "idle after start"
for r in 1 2 3; do
    n=$(count 'reload ok')
    W=$(worker) sc=$(cpu "$PID") wc=$(cpu "$W")
    t=$(now)
    kill -HUP "$PID"
    wait_more 'reload ok' "$n" || { echo "reload $r: no 'reload ok' in 60 s"; tail -n 3 "$LOG"; exit 0; }
    echo "reload $r (SIGHUP to 'reload ok'):   $(since "$t") s wall; CPU: supervisor $(cpus "$sc" "$(cpu "$PID")") s, worker $(cpus "$wc" "$(cpu "$W")") s (incl. publish); load average $(cut -d' ' -f1 /proc/loadavg)"
done
sleep 2
mem "idle after 3 reloads"
n=$(count 'serving on')
t=$(now)
kill -KILL "$(worker)"
wait_more 'serving on' "$n" || { echo "no new worker in 60 s"; exit 0; }
echo "restart (SIGKILL to 'serving on'):  $(since "$t") s wall; CPU of the new worker $(cpu "$(worker)") s"
sleep 2
mem "idle after a restart"
echo "(the sealed bytes in force, $(wc -c <"$CONF") bytes, live in a memfd: shared memory in neither RSS)"
