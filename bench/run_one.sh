#!/usr/bin/env bash
# Benchmark for issue 25: `pxdoctor check --run UUID` against the API server
# simulator serving a generated snapshot, next to the full `check -A` and to
# kubectl fetching the same run (its pods by label, then each pod's events).
# Usage: bench/run_one.sh [large|spine|medium|small]   (default large)
# Environment: FULL=0 skips the full check (and so the findings comparison).
set -euo pipefail

size="${1:-large}"
full="${FULL:-1}"
case "$size" in
    small | medium | large | spine) ;;
    *)
        echo "usage: $0 [large|spine|medium|small]" >&2
        exit 2
        ;;
esac
case "$full" in
    0 | 1) ;;
    *)
        echo "FULL must be 0 or 1" >&2
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
need kubectl "install kubectl (https://kubernetes.io/docs/tasks/tools/)"
if ! /usr/bin/time -v true > /dev/null 2>&1; then
    echo "$0: GNU time not found at /usr/bin/time; install it: apt-get install time" >&2
    exit 1
fi

tmp="$(mktemp -d)"
sim_pid=""
partial=""
cleanup() {
    if [[ -n "$sim_pid" ]]; then
        kill "$sim_pid" 2> /dev/null || true
        wait "$sim_pid" 2> /dev/null || true
    fi
    [[ -z "$partial" ]] || rm -rf "$partial"
    rm -rf "$tmp"
}
trap cleanup EXIT
# So that Ctrl-C or a kill also stops the simulator (through the EXIT trap).
trap 'exit 130' INT
trap 'exit 143' TERM

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
    # kubectl's 4-space indent for small; one line per file above (faster to write).
    indent=4
    [[ "$size" == small ]] || indent=none
    python3 "$bench/gen_snapshot.py" --size "$size" --indent "$indent" --out "$partial" 2>&1 |
        tee "$cache/$size.log" >&2
    mv "$partial" "$snapshot"
    partial=""
fi

# --- the runs: picked from the snapshot's pods, before the simulator takes
# its memory. One file at a time, so at most one namespace's pods in memory.
echo "== picking runs from $snapshot/*/pods.json" >&2
python3 - "$snapshot" > "$tmp/picked" << 'EOF'
import glob, json, os, sys

snapshot = sys.argv[1]
files = sorted(glob.glob(os.path.join(snapshot, "*", "pods.json")))
files += sorted(glob.glob(os.path.join(snapshot, "pods.json")))
runs = {}  # uuid -> set of phases
first = {}  # kind -> (namespace, name, uuid)
for path in files:
    with open(path) as f:
        items = json.load(f).get("items") or []
    for pod in items:
        meta = pod.get("metadata") or {}
        labels = meta.get("labels") or {}
        uuid = labels.get("app.kubernetes.io/instance")
        if labels.get("app.kubernetes.io/managed-by") != "polyaxon" or not uuid:
            continue
        phase = (pod.get("status") or {}).get("phase")
        runs.setdefault(uuid, set()).add(phase)
        if phase == "Pending" and not (pod.get("spec") or {}).get("nodeName"):
            kind = "pending"
        elif phase in ("Running", "Failed"):
            kind = phase.lower()
        else:
            continue
        key = (meta.get("namespace") or "", meta.get("name") or "", uuid)
        if kind not in first or key < first[kind]:
            first[kind] = key
    del items
if "pending" not in first or "running" not in first:
    sys.exit(f"{snapshot}: no Polyaxon run Pending without a node, or none Running")
for kind in ("pending", "running", "failed"):
    if kind in first:
        namespace, name, uuid = first[kind]
        # Runs whose uuid shares this one's first 8 characters (1: the prefix is unique).
        shared = sum(1 for u in runs if u.lower().replace("-", "").startswith(uuid.lower().replace("-", "")[:8]))
        print(kind, uuid, namespace, name, shared)
print("runs", len(runs), "-", "-", "-")
EOF
declare -A pick
while read -r kind uuid namespace name shared; do
    [[ "$kind" == runs ]] && { total_runs="$uuid"; continue; }
    pick[$kind]="$uuid"
    echo "picked $kind run: $uuid (pod $namespace/$name; $shared run(s) with the prefix ${uuid:0:8})"
done < "$tmp/picked"
echo "($total_runs Polyaxon runs in the snapshot)"
kinds=(pending running)
[[ -n "${pick[failed]:-}" ]] && kinds+=(failed) || echo "no Failed run in the snapshot: skipping that one"
pending="${pick[pending]}"
prefix="${pending:0:8}"

# --- the simulator: plain HTTP, no token, as bench/run.sh starts it --------
mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }
echo "== loading the snapshot into the simulator" >&2
mkdir -p "$tmp/sim"
# No token: kubectl sends a kubeconfig token over TLS only, and plain HTTP
# keeps TLS out of the comparison; both clients get the same server.
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
echo "== simulator at $url (loaded in ${sim_load}s, $(mib $((sim_rss * 1024))) MiB RSS)" >&2

# sim_counts FILE: asks the simulator (SIGUSR1) for its request counts.
sim_counts() {
    rm -f "$tmp/sim/requests"
    kill -USR1 "$sim_pid"
    local i
    for ((i = 0; i < 250; i++)); do
        [[ -s "$tmp/sim/requests" ]] && break
        sleep 0.02
    done
    if [[ ! -s "$tmp/sim/requests" ]]; then
        echo "$0: the simulator wrote no request counts" >&2
        exit 1
    fi
    cp "$tmp/sim/requests" "$1"
}
count() { awk -v k="$1" '$1 == k { print $2 }' "$2"; }

# measure NAME OK_CODES CMD...: runs CMD once under GNU time, stdout to
# $tmp/NAME.out, and between two request counts of the simulator. Writes
# "wall cpu rss_kib requests lists" to $tmp/NAME.result, or "exit RC" when
# CMD exits with a code not in OK_CODES (the script carries on and exits 1).
failed=0
measure() {
    local name="$1" ok="$2"
    shift 2
    local rc=0 wall cpu rss requests lists
    sim_counts "$tmp/$name.c0"
    /usr/bin/time -v -o "$tmp/$name.time" "$@" > "$tmp/$name.out" 2> "$tmp/$name.stderr" || rc=$?
    sim_counts "$tmp/$name.c1"
    if [[ " $ok " != *" $rc "* ]]; then
        echo "$0: $name exited with $rc:" >&2
        tail -n 20 "$tmp/$name.stderr" >&2
        echo "exit $rc" > "$tmp/$name.result"
        failed=1
        return 0
    fi
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {
            n = split($2, p, ":"); s = 0
            for (j = 1; j <= n; j++) s = s * 60 + p[j]
            printf "%.3f", s }' "$tmp/$name.time")
    cpu=$(awk -F': ' '/User time|System time/ { s += $2 } END { printf "%.2f", s }' "$tmp/$name.time")
    rss=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$tmp/$name.time")
    requests=$(($(count requests "$tmp/$name.c1") - $(count requests "$tmp/$name.c0")))
    lists=$(($(count lists "$tmp/$name.c1") - $(count lists "$tmp/$name.c0")))
    echo "$name: exit $rc, ${wall}s wall, ${cpu}s cpu, $(mib $((rss * 1024))) MiB peak RSS," \
        "$requests requests ($lists LISTs)" >&2
    echo "$wall $cpu $rss $requests $lists" > "$tmp/$name.result"
    # The LISTs per path this command made.
    awk '$1 == "list" { if (FILENAME == ARGV[1]) n0[$2] = $3; else if ($3 - n0[$2] > 0) printf "    %s: %d\n", $2, $3 - n0[$2] }' \
        "$tmp/$name.c0" "$tmp/$name.c1" > "$tmp/$name.lists"
}

check=("$pxdoctor" check -A --kubeconfig "$kubeconfig" -o json --no-s3 --no-api --timeout 30m)
echo "== measuring" >&2
for kind in "${kinds[@]}"; do
    measure "run-$kind" "0 1" "${check[@]}" --run "${pick[$kind]}"
done
measure run-prefix "0 1" "${check[@]}" --run "$prefix"
if [[ "$full" == 1 ]]; then
    measure full "0 1" "${check[@]}"
fi
# kubectl for one run: its pods by label, then each pod's events by field
# selector, the pod names read from the first command's output.
measure kubectl "0" bash -c 'k=(kubectl --kubeconfig "$1" --request-timeout 0)
    pods=$("${k[@]}" get pods -A -l "app.kubernetes.io/instance=$2" -o json) || exit
    printf "%s\n" "$pods"
    for pod in $(jq -r ".items[].metadata.name" <<< "$pods"); do
        "${k[@]}" get events -A --field-selector "involvedObject.name=$pod" -o json || exit
    done' kubectl "$kubeconfig" "$pending"

# --- report -------------------------------------------------------------
echo
echo "snapshot: $size, $snapshot"
[[ -f "$cache/$size.log" ]] && sed -n 's/^\[ *[0-9.]*s\] /  /p' "$cache/$size.log" | grep -v '^  done:' || true
echo "machine: $(nproc) CPUs, $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo 2> /dev/null || echo unknown)," \
    "$(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) RAM;" \
    "$(kubectl version --client 2> /dev/null | head -n 1); pxdoctor at" \
    "$(git -C "$root" describe --always --dirty 2> /dev/null || echo unknown); $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "simulator: loaded in ${sim_load}s, $(mib $((sim_rss * 1024))) MiB RSS, on the same cores (its time is in every row)"
for kind in "${kinds[@]}"; do
    echo "$kind run: ${pick[$kind]}"
done
echo "prefix: $prefix (of the pending run)"
echo
echo "| tool | wall s | cpu s | peak RSS MiB | requests |"
echo "|---|---:|---:|---:|---:|"
row() { # row LABEL NAME
    local result
    result=$(cat "$tmp/$2.result")
    if [[ "$result" == exit* ]]; then
        echo "| $1 | FAILED ($result) | | | |"
        return
    fi
    read -r wall cpu rss requests _ <<< "$result"
    printf '| %s | %.2f | %.2f | %.1f | %d |\n' "$1" "$wall" "$cpu" \
        "$(awk -v k="$rss" 'BEGIN { print k / 1024 }')" "$requests"
}
for kind in "${kinds[@]}"; do
    row "\`pxdoctor check -A --run ${pick[$kind]:0:8}…\` ($kind run)" "run-$kind"
done
row "\`pxdoctor check -A --run $prefix\` (8-character prefix, pending run)" run-prefix
[[ "$full" == 1 ]] && row "\`pxdoctor check -A\` (full)" full
row "\`kubectl get pods -l instance=…\` + \`get events --field-selector\` per pod (pending run)" kubectl

echo
echo "LISTs per path (each command; requests beyond LISTs are discovery and other GETs):"
for name in "${kinds[@]/#/run-}" run-prefix $([[ "$full" == 1 ]] && echo full) kubectl; do
    [[ -f "$tmp/$name.lists" ]] || continue
    read -r _ _ _ requests lists <<< "$(cat "$tmp/$name.result")"
    echo "  $name: $requests requests, $lists LISTs"
    cat "$tmp/$name.lists"
done
if [[ -f "$tmp/kubectl.lists" ]]; then
    echo "kubectl fetched $(jq -s '.[0].items | length' "$tmp/kubectl.out") pod(s) and" \
        "$(jq -s '[.[1:][] | .items | length] | add // 0' "$tmp/kubectl.out") event(s) of the pending run"
fi

# --- the findings of --run against the full check's, filtered to the run --
if [[ "$full" == 1 && -f "$tmp/full.lists" ]]; then
    echo
    echo "findings of --run UUID against the full check's where subject.run.uuid == UUID:"
    # compare LABEL NAME UUID_OR_PREFIX
    compare() {
        if [[ ! -f "$tmp/$2.lists" ]]; then
            echo "  $1: not compared (the command failed)"
            return
        fi
        jq -c '.findings' "$tmp/$2.out" > "$tmp/$2.findings"
        jq -c --arg u "$3" '[.findings[]
            | select((.subject.run.uuid // "" | ascii_downcase | gsub("-"; "")) | startswith($u))]' \
            "$tmp/full.out" > "$tmp/$2.expected"
        local n m
        n=$(jq length "$tmp/$2.findings")
        m=$(jq length "$tmp/$2.expected")
        if cmp -s "$tmp/$2.findings" "$tmp/$2.expected"; then
            echo "  $1: MATCH ($n findings)"
        else
            echo "  $1: DIFFER ($n findings with --run, $m in the full check)"
            failed=1
        fi
    }
    # As pxdoctor compares uuids: lower case, no dashes.
    norm() { local u="${1//-/}"; echo "${u,,}"; }
    for kind in "${kinds[@]}"; do
        compare "$kind ${pick[$kind]}" "run-$kind" "$(norm "${pick[$kind]}")"
    done
    compare "prefix $prefix" run-prefix "$(norm "$prefix")"
fi
exit "$failed"
