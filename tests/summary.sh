#!/bin/sh
# summary.sh - count test results.
#   summary.sh --trs DIR     print "PASS name" / "FAIL name" for every test
#                            case in the automake .trs files below DIR
#   summary.sh --final DIR   read DIR/cases and DIR/steps, list failures,
#                            and print the closing line "N passed, M failed"
set -u
case "${1:-}" in
--trs)
    find "$2" -name '*.trs' | sort | while read -r trs; do
        name=${trs#"$2"/}
        awk -v n="${name%.trs}" '/^:test-result:/ {
            r = $2; $1 = ""; $2 = "";
            if (r == "PASS" || r == "XFAIL") print "PASS " n $0;
            else if (r == "SKIP") print "SKIP " n $0;
            else print "FAIL " n $0 }' "$trs"
    done
    ;;
--final)
    cat "$2/cases" "$2/steps" 2>/dev/null >"$2/all"
    failed=$(grep -c '^FAIL' "$2/all")
    passed=$(grep -c '^PASS' "$2/all")
    skipped=$(grep -c '^SKIP' "$2/all")
    if [ "$failed" -gt 0 ]; then
        echo "Failures:"
        grep '^FAIL' "$2/all" | sed 's/^/  /'
    fi
    if [ "$skipped" -gt 0 ]; then
        echo "$passed passed, $failed failed, $skipped skipped"
    else
        echo "$passed passed, $failed failed"
    fi
    [ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
    ;;
*)
    echo "usage: summary.sh --trs DIR | --final DIR" >&2
    exit 2
    ;;
esac
