#!/usr/bin/env bash
# Benchmark: pxdoctor check on a generated snapshot, against jq reading the
# same files. Usage: bench/run.sh [small|medium|large|xl|spine]   (default spine)
# Environment: RUNS=N runs each tool N times and keeps the fastest (default 1).
set -euo pipefail

size="${1:-spine}"
runs="${RUNS:-1}"
case "$size" in
    small | medium | large | xl | spine) ;;
    *)
        echo "usage: $0 [small|medium|large|xl|spine]" >&2
        exit 2
        ;;
esac
case "$runs" in
    '' | *[!0-9]* | 0)
        echo "RUNS must be a positive integer" >&2
        exit 2
        ;;
esac

bench="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$bench/.." && pwd)"

need() {
    if ! command -v "$1" > /dev/null 2>&1; then
        echo "$0: $1 not found; $2" >&2
        exit 1
    fi
}
need cargo "install Rust: https://rustup.rs"
need python3 "install python3 (e.g. apt-get install python3)"
need jq "install jq (e.g. apt-get install jq)"
if ! /usr/bin/time -v true > /dev/null 2>&1; then
    echo "$0: GNU time not found at /usr/bin/time; install it: apt-get install time" >&2
    exit 1
fi

echo "== building pxdoctor (release)" >&2
(cd "$root" && cargo build --release --bin pxdoctor)
pxdoctor="$root/target/release/pxdoctor"

cache="$bench/.cache"
snapshot="$cache/$size"
if [[ -d "$snapshot" ]]; then
    echo "== reusing snapshot $snapshot" >&2
else
    echo "== generating snapshot '$size' into $snapshot" >&2
    mkdir -p "$cache"
    partial="$snapshot.partial.$$"
    trap 'rm -rf "$partial"' EXIT
    # kubectl's 4-space indent for small; one line per file above (faster to write).
    indent=4
    [[ "$size" == small ]] || indent=none
    python3 "$bench/gen_snapshot.py" --size "$size" --indent "$indent" --out "$partial" 2>&1 |
        tee "$cache/$size.log" >&2
    mv "$partial" "$snapshot"
    trap - EXIT
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

files=$(find "$snapshot" -name '*.json' | wc -l)
bytes=$(find "$snapshot" -name '*.json' -printf '%s\n' | awk '{ s += $1 } END { printf "%d", s }')
mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }

# Warm the page cache so that neither tool pays for the first read.
find "$snapshot" -name '*.json' -exec cat {} + > /dev/null

# measure NAME OK_CODES CMD...: runs CMD (stdout to /dev/null) under GNU time;
# leaves "wall cpu rss_kib" of the fastest run in $tmp/NAME.result.
measure() {
    local name="$1" ok="$2"
    shift 2
    local i rc wall cpu rss best=""
    for ((i = 1; i <= runs; i++)); do
        rc=0
        /usr/bin/time -v -o "$tmp/$name.time" "$@" > /dev/null 2> "$tmp/$name.stderr" || rc=$?
        if [[ " $ok " != *" $rc "* ]]; then
            echo "$0: $name exited with $rc:" >&2
            cat "$tmp/$name.stderr" >&2
            exit 1
        fi
        wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {
                n = split($2, p, ":"); s = 0
                for (j = 1; j <= n; j++) s = s * 60 + p[j]
                printf "%.3f", s }' "$tmp/$name.time")
        cpu=$(awk -F': ' '/User time|System time/ { s += $2 } END { printf "%.2f", s }' "$tmp/$name.time")
        rss=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$tmp/$name.time")
        echo "$name run $i/$runs: exit $rc, ${wall}s wall, ${cpu}s cpu, $(mib $((rss * 1024))) MiB peak RSS" >&2
        if [[ -z "$best" ]] || awk -v a="$wall" -v b="${best%% *}" 'BEGIN { exit !(a < b) }'; then
            best="$wall $cpu $rss"
        fi
    done
    echo "$best" > "$tmp/$name.result"
}

echo "== measuring" >&2
# pxdoctor exits 1 when it finds errors, which a generated snapshot has.
measure pxdoctor "0 1" "$pxdoctor" check --snapshot "$snapshot" -o json
measure jq "0" find "$snapshot" -name '*.json' -exec jq -c . {} +

read -r p_wall p_cpu p_rss < "$tmp/pxdoctor.result"
read -r j_wall j_cpu j_rss < "$tmp/jq.result"

echo
echo "snapshot: $size, $snapshot"
[[ -f "$cache/$size.log" ]] && sed -n 's/^\[ *[0-9.]*s\] /  /p' "$cache/$size.log" | grep -v '^  done:' || true
echo "  $files JSON files, $(mib "$bytes") MiB"
echo "machine: $(nproc) CPUs, $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo 2> /dev/null || echo unknown)," \
    "$(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) RAM; $(jq --version); runs: $runs (fastest kept)"
echo
printf '%-10s %10s %10s %14s %15s %16s\n' tool "wall s" "cpu s" "peak RSS MiB" "snapshot MiB" "RSS / snapshot"
row() {
    printf '%-10s %10.2f %10.2f %14.1f %15.1f %16.2f\n' "$1" "$2" "$3" \
        "$(awk -v k="$4" 'BEGIN { print k / 1024 }')" "$(mib "$bytes")" \
        "$(awk -v k="$4" -v b="$bytes" 'BEGIN { print (b > 0 ? k * 1024 / b : 0) }')"
}
row pxdoctor "$p_wall" "$p_cpu" "$p_rss"
row "jq -c ." "$j_wall" "$j_cpu" "$j_rss"
echo
awk -v p="$p_wall" -v j="$j_wall" -v pr="$p_rss" -v jr="$j_rss" 'BEGIN {
    printf "pxdoctor / jq: wall time %.2fx, peak RSS %.2fx\n", (j > 0 ? p / j : 0), (jr > 0 ? pr / jr : 0) }'
echo "(jq runs once per batch of files, one file at a time: its RSS is that of the largest file," \
    "pxdoctor holds the whole snapshot's facts and decodes files on up to 8 threads)"
