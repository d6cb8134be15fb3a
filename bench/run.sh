#!/usr/bin/env bash
# Benchmark: pxdoctor check on a generated snapshot, against jq reading the
# same files (offline), and against kubectl and a curl loop reading the same
# snapshot from the API server simulator (live), in one run.
# Usage: bench/run.sh [small|medium|large|xl|spine]   (default spine)
# Environment: RUNS=N runs each tool N times and keeps the fastest (default 1);
# LIVE=0 skips the live part.
set -euo pipefail

size="${1:-spine}"
runs="${RUNS:-1}"
live="${LIVE:-1}"
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
if [[ "$live" != 0 ]]; then
    need curl "install curl (e.g. apt-get install curl), or LIVE=0"
    need kubectl "install kubectl (https://kubernetes.io/docs/tasks/tools/), or LIVE=0"
fi
if ! /usr/bin/time -v true > /dev/null 2>&1; then
    echo "$0: GNU time not found at /usr/bin/time; install it: apt-get install time" >&2
    exit 1
fi

echo "== building pxdoctor and the simulator example (release)" >&2
# One invocation, so that both share one feature set and nothing rebuilds.
(cd "$root" && cargo build --release --bin pxdoctor --example simulator)
pxdoctor="$root/target/release/pxdoctor"
simulator="$root/target/release/examples/simulator"
# The generator's clock: pending durations and expiries are judged against it.
export PXDOCTOR_NOW=2026-11-28T10:00:00Z

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
sim_pid=""
cleanup() {
    if [[ -n "$sim_pid" ]]; then kill "$sim_pid" 2> /dev/null || true; fi
    rm -rf "$tmp"
}
trap cleanup EXIT

files=$(find "$snapshot" -name '*.json' | wc -l)
bytes=$(find "$snapshot" -name '*.json' -printf '%s\n' | awk '{ s += $1 } END { printf "%d", s }')
mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }

# Warm the page cache so that neither tool pays for the first read.
find "$snapshot" -name '*.json' -exec cat {} + > /dev/null

# one_run NAME OK_CODES CMD...: runs CMD once (stdout to /dev/null) under GNU
# time; keeps "wall cpu rss_kib" of NAME's fastest run in $tmp/NAME.result.
one_run() {
    local name="$1" ok="$2"
    shift 2
    local i rc=0 wall cpu rss best=""
    i=$(($(cat "$tmp/$name.count" 2> /dev/null || echo 0) + 1))
    echo "$i" > "$tmp/$name.count"
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
    [[ -f "$tmp/$name.result" ]] && best=$(cat "$tmp/$name.result")
    if [[ -z "$best" ]] || awk -v a="$wall" -v b="${best%% *}" 'BEGIN { exit !(a < b) }'; then
        echo "$wall $cpu $rss" > "$tmp/$name.result"
    fi
}

# measure NAME OK_CODES CMD...: RUNS runs of CMD, the fastest kept.
measure() {
    local i
    for ((i = 1; i <= runs; i++)); do
        one_run "$@"
    done
}

echo "== measuring" >&2
# The built-in rules ×10: nine copies with their ids suffixed, added with --rules.
rules10="$tmp/rules10"
for n in 1 2 3 4 5 6 7 8 9; do
    mkdir -p "$rules10/copy$n"
    cp -r "$root/rules/." "$rules10/copy$n/"
    find "$rules10/copy$n" -name '*.yaml' -exec sed -i "s/^id: \(.*\)\$/id: \1-COPY$n/" {} +
done
rule_files=$(find "$root/rules" -name '*.yaml' | wc -l)
# pxdoctor exits 1 when it finds errors, which a generated snapshot has.
# The rules x1 and x10 runs alternate: their ratio is a target, and on a
# shared machine that gets busier during the run, back-to-back series
# would charge the drift to whichever ran second.
for ((round = 1; round <= runs; round++)); do
    one_run pxdoctor "0 1" "$pxdoctor" check --snapshot "$snapshot" -o json
    one_run rules10 "0 1" "$pxdoctor" check --snapshot "$snapshot" -o json --rules "$rules10"
done
measure jq "0" find "$snapshot" -name '*.json' -exec jq -c . {} +

read -r p_wall p_cpu p_rss < "$tmp/pxdoctor.result"
read -r j_wall j_cpu j_rss < "$tmp/jq.result"
read -r r_wall r_cpu r_rss < "$tmp/rules10.result"

# --- live: the same snapshot served by the API server simulator ------------
# sim_counts FILE: asks the simulator (SIGUSR1) for its request counts.
sim_counts() {
    rm -f "$tmp/sim/requests"
    kill -USR1 "$sim_pid"
    local i
    for ((i = 0; i < 250; i++)); do
        [[ -s "$tmp/sim/requests" ]] && break
        sleep 0.02
    done
    cp "$tmp/sim/requests" "$1"
}
count() { awk -v k="$1" '$1 == k { print $2 }' "$2"; }
if [[ "$live" != 0 ]]; then
    echo "== live: loading the snapshot into the simulator" >&2
    mkdir -p "$tmp/sim"
    # No token: kubectl sends a kubeconfig token over TLS only, and plain HTTP
    # keeps TLS out of the comparison; all three clients get the same server.
    "$simulator" "$snapshot" --kubeconfig-dir "$tmp/sim" --requests-file "$tmp/sim/requests" \
        --token "" > "$tmp/sim/url" 2> "$tmp/sim/log" &
    sim_pid=$!
    load_start=$(date +%s.%N)
    until [[ -s "$tmp/sim/url" ]]; do
        if ! kill -0 "$sim_pid" 2> /dev/null; then
            echo "$0: the simulator stopped:" >&2
            cat "$tmp/sim/log" >&2
            exit 1
        fi
        sleep 0.2
    done
    sim_load=$(awk -v s="$load_start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
    sim_rss=$(awk '/VmRSS/ { print $2 }' "/proc/$sim_pid/status")
    url=$(cat "$tmp/sim/url")
    kubeconfig="$tmp/sim/kubeconfig"
    echo "== live: simulator at $url (loaded in ${sim_load}s, $(mib $((sim_rss * 1024))) MiB RSS)" >&2

    sim_counts "$tmp/c0"
    measure live "0 1" "$pxdoctor" check -A --kubeconfig "$kubeconfig" -o json --timeout 30m
    sim_counts "$tmp/c1"
    # One kubectl per namespace and kind, in turn. One `kubectl get
    # pods,events,nodes,pvc -A` builds one List of everything in memory; at
    # spine size even `kubectl get pods -A -o json` alone was OOM-killed at
    # 14.7 GiB RSS (beside the simulator's 9 GiB, on 23.5 GiB). The same
    # objects, in pages of 500, a few more requests (a last page per namespace).
    measure kubectl "0" bash -c 'k=(kubectl --kubeconfig "$1" --request-timeout 0)
        for ns in $("${k[@]}" get namespaces -o jsonpath="{.items[*].metadata.name}"); do
            "${k[@]}" get pods,events,pvc -n "$ns" -o json || exit
        done
        "${k[@]}" get nodes -o json' kubectl "$kubeconfig"
    sim_counts "$tmp/c2"
    mkdir -p "$tmp/curl"
    measure curl "0" bash "$bench/curl_floor.sh" "$url" "$tmp/curl" \
        /api/v1/pods /api/v1/events /api/v1/nodes /api/v1/persistentvolumeclaims
    sim_counts "$tmp/c3"

    read -r l_wall l_cpu l_rss < "$tmp/live.result"
    read -r k_wall k_cpu k_rss < "$tmp/kubectl.result"
    read -r c_wall c_cpu c_rss < "$tmp/curl.result"
    # Requests per check, and the pages each list pxdoctor made needs at 500
    # items a page: ceil(items / 500), at least 1 (items from a limit=1 LIST's
    # remainingItemCount, asked after the counts were taken).
    px_requests=$((($(count requests "$tmp/c1") - $(count requests "$tmp/c0")) / runs))
    px_lists=$((($(count lists "$tmp/c1") - $(count lists "$tmp/c0")) / runs))
    k_requests=$((($(count requests "$tmp/c2") - $(count requests "$tmp/c1")) / runs))
    c_requests=$((($(count requests "$tmp/c3") - $(count requests "$tmp/c2")) / runs))
    px_kinds=0 px_pages=0
    : > "$tmp/kinds"
    while read -r _ path n1; do
        n0=$(awk -v p="$path" '$1 == "list" && $2 == p { print $3 }' "$tmp/c0")
        [[ $((n1 - ${n0:-0})) -gt 0 ]] || continue
        curl -sSf -o "$tmp/first" "$url$path?limit=1"
        remaining=$(tail -c 1024 "$tmp/first" | grep -o '"remainingItemCount":[0-9]*' | cut -d: -f2 || true)
        items=$((${remaining:-0} + 1))
        grep -q '"items":\[\]' "$tmp/first" && items=0
        pages=$(((items + 499) / 500))
        [[ "$pages" -gt 0 ]] || pages=1
        px_kinds=$((px_kinds + 1))
        px_pages=$((px_pages + pages))
        echo "  $path: $items items, $pages pages, $(((n1 - ${n0:-0}) / runs)) LISTs per check" >> "$tmp/kinds"
    done < <(grep '^list ' "$tmp/c1")
fi

echo
echo "snapshot: $size, $snapshot"
[[ -f "$cache/$size.log" ]] && sed -n 's/^\[ *[0-9.]*s\] /  /p' "$cache/$size.log" | grep -v '^  done:' || true
echo "  $files JSON files, $(mib "$bytes") MiB"
echo "machine: $(nproc) CPUs, $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo 2> /dev/null || echo unknown)," \
    "$(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) RAM; $(jq --version); runs: $runs (fastest kept)"
echo
printf '%-31s %8s %8s %13s %15s\n' tool "wall s" "cpu s" "peak RSS MiB" "RSS / snapshot"
row() {
    printf '%-31s %8.2f %8.2f %13.1f %15.2f\n' "$1" "$2" "$3" \
        "$(awk -v k="$4" 'BEGIN { print k / 1024 }')" \
        "$(awk -v k="$4" -v b="$bytes" 'BEGIN { print (b > 0 ? k * 1024 / b : 0) }')"
}
row "pxdoctor --snapshot" "$p_wall" "$p_cpu" "$p_rss"
row "jq -c . (same files)" "$j_wall" "$j_cpu" "$j_rss"
row "pxdoctor --snapshot, rules x10" "$r_wall" "$r_cpu" "$r_rss"
if [[ "$live" != 0 ]]; then
    row "pxdoctor check -A (live)" "$l_wall" "$l_cpu" "$l_rss"
    row "kubectl get, per namespace" "$k_wall" "$k_cpu" "$k_rss"
    row "curl pages (floor)" "$c_wall" "$c_cpu" "$c_rss"
fi
echo "(jq parses one file at a time: its RSS is that of the largest file; pxdoctor decodes files" \
    "on up to 8 threads and keeps the whole snapshot's facts)"
if [[ "$live" != 0 ]]; then
    echo "(live: the simulator, loaded in ${sim_load}s with $(mib $((sim_rss * 1024))) MiB RSS, serves" \
        "on the same $(nproc) cores; its time is in every live row; kubectl runs once per namespace (pods,events,pvc) and once for nodes;" \
        "curl runs one loop per list, the lists concurrently)"
    echo
    echo "requests: pxdoctor $px_requests per check ($px_lists LISTs over $px_kinds kinds), kubectl $k_requests, curl $c_requests"
    cat "$tmp/kinds"
fi

# verdict NAME VALUE TARGET: "met" or "missed by N%".
verdict() {
    awk -v n="$1" -v v="$2" -v t="$3" 'BEGIN {
        if (v <= t) printf "  %-36s %8.2f  target <= %-5s met\n", n, v, t
        else printf "  %-36s %8.2f  target <= %-5s MISSED by %.0f%%\n", n, v, t, (v / t - 1) * 100 }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }'; }
echo
echo "targets (issue 8; they are set for the large size):"
verdict "offline: pxdoctor / jq wall" "$(ratio "$p_wall" "$j_wall")" 0.5
if [[ "$live" != 0 ]]; then
    verdict "live: pxdoctor / kubectl wall" "$(ratio "$l_wall" "$k_wall")" 0.5
    verdict "live: pxdoctor / curl wall" "$(ratio "$l_wall" "$c_wall")" 1.5
fi
verdict "offline: peak RSS / snapshot bytes" "$(ratio $((p_rss * 1024)) "$bytes")" 0.3
if [[ "$live" != 0 ]]; then
    verdict "live: peak RSS / snapshot bytes" "$(ratio $((l_rss * 1024)) "$bytes")" 0.3
    verdict "requests / (kinds x pages) [$px_requests/$px_pages]" "$(ratio "$px_requests" "$px_pages")" 2
fi
verdict "rules x10 ($((rule_files * 10)) files) / x1 wall" "$(ratio "$r_wall" "$p_wall")" 1.5
