#!/bin/sh
# bench_report.sh - speed and memory of forcetls report: 1,000,000 decision
# lines (about 280 MB, RFC 3164 prefix, from report_gen.awk) in a file of a
# temporary directory, then 10,000,000 lines through a pipe (never a 3 GB
# file). Prints lines, bytes, seconds, lines/s and the maximum RSS of each
# run; asserts nothing. Sizes: BENCH_REPORT_LINES (default 1000000) and
# BENCH_REPORT_PIPE_LINES (default 10000000; 0 skips the pipe run).
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
TOOL=${FORCETLS_TOOL:-${top_builddir:-.}/milter/forcetls}
N=${BENCH_REPORT_LINES:-1000000}
PIPE_N=${BENCH_REPORT_PIPE_LINES:-10000000}
GEN=$HERE/report_gen.awk
[ -x "$TOOL" ] || { echo "bench_report: no forcetls at $TOOL (build it first)"; exit 0; }
[ -x /usr/bin/time ] || { echo "bench_report: needs /usr/bin/time (GNU time) for the RSS"; exit 0; }
DIR=$(mktemp -d "${TMPDIR:-/tmp}/forcetls-bench-report.XXXXXX") || exit 1
trap 'rm -rf "$DIR"' EXIT

awk -v n="$N" -f "$GEN" >"$DIR/decisions.log" || exit 1
BYTES=$(wc -c <"$DIR/decisions.log")
# One warm-up read so that the page cache, not the disk, is measured.
cat "$DIR/decisions.log" >/dev/null

# figures LABEL LINES BYTES: print the figures of the last timed report.
figures() {
    read -r secs rss <"$DIR/time"
    awk -v l="$1" -v n="$2" -v b="$3" -v s="$secs" -v r="$rss" 'BEGIN {
        printf "report %-22s lines %9d  bytes %11s  seconds %6.2f  lines/s %9.0f  max RSS %6.1f MiB\n",
               l, n, b, s, (s > 0 ? n / s : 0), r / 1024 }'
    grep -o '"lines":{[^}]*}' "$DIR/out" | sed 's/^/        /'
}

# The report alone is timed (GNU time): its seconds and its RSS.
for form in --json text; do
    set -- "$DIR/decisions.log"
    [ "$form" = --json ] && set -- --json "$@"
    if /usr/bin/time -f '%e %M' -o "$DIR/time" "$TOOL" report "$@" >"$DIR/out" 2>"$DIR/err"; then
        figures "file, $form" "$N" "$BYTES"
    else
        echo "bench_report: the report failed:"; cat "$DIR/err"
    fi
done
if [ "$PIPE_N" -gt 0 ]; then
    # Its seconds include waiting for the generator on the other end.
    if awk -v n="$PIPE_N" -f "$GEN" |
        /usr/bin/time -f '%e %M' -o "$DIR/time" "$TOOL" report --json >"$DIR/out" 2>"$DIR/err"; then
        figures "pipe from awk, --json" "$PIPE_N" "~$((BYTES / N * PIPE_N))"
    else
        echo "bench_report: the report failed:"; cat "$DIR/err"
    fi
fi
exit 0
