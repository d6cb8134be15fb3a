#!/usr/bin/env bash
# Benchmark for issue 18: `pxdoctor serve` against the API server simulator
# serving a generated snapshot. Prints serve's steady-state memory next to
# `check -A`'s peak on the same cluster, its CPU while nothing changes, and
# how long a change in the cluster (a new Pending GPU run, then its
# deletion) takes to reach /metrics.
# Usage: bench/serve.sh [medium|small|large|spine]   (default medium: 20k pods)
# Environment: CHANGES=N changes measured each way (default 5), IDLE=S
# seconds of idle CPU measured (default 130: two of serve's minutely
# re-evaluations).
set -euo pipefail

size="${1:-medium}"
changes="${CHANGES:-5}"
idle="${IDLE:-130}"
case "$size" in
    small | medium | large | spine) ;;
    *)
        echo "usage: $0 [medium|small|large|spine]" >&2
        exit 2
        ;;
esac

bench="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$bench/.." && pwd)"
for tool in cargo python3 curl; do
    command -v "$tool" > /dev/null 2>&1 || {
        echo "$0: $tool not found" >&2
        exit 1
    }
done
/usr/bin/time -v true > /dev/null 2>&1 || {
    echo "$0: GNU time not found at /usr/bin/time; install it: apt-get install time" >&2
    exit 1
}

tmp="$(mktemp -d)"
sim_pid="" serve_pid=""
cleanup() {
    for pid in "$serve_pid" "$sim_pid"; do
        [[ -z "$pid" ]] || kill "$pid" 2> /dev/null || true
    done
    wait 2> /dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "== building pxdoctor and the simulator example (release)" >&2
(cd "$root" && cargo build --release --bin pxdoctor --example simulator)
pxdoctor="$root/target/release/pxdoctor"
simulator="$root/target/release/examples/simulator"
export PXDOCTOR_NOW=2026-11-28T10:00:00Z

snapshot="$bench/.cache/$size"
if [[ ! -d "$snapshot" ]]; then
    echo "== generating snapshot '$size' into $snapshot" >&2
    mkdir -p "$bench/.cache"
    python3 "$bench/gen_snapshot.py" --size "$size" --indent none --out "$snapshot.partial.$$" \
        > "$bench/.cache/$size.log" 2>&1
    mv "$snapshot.partial.$$" "$snapshot"
fi

mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
now() { date +%s.%N; }
since() { awk -v s="$1" -v e="$(now)" 'BEGIN { printf "%.3f\n", e - s }'; }

echo "== loading the snapshot into the simulator" >&2
mkdir -p "$tmp/sim" "$tmp/changes"
"$simulator" "$snapshot" --kubeconfig-dir "$tmp/sim" --changes-dir "$tmp/changes" --token "" \
    > "$tmp/sim/url" 2> "$tmp/sim/log" &
sim_pid=$!
until [[ -s "$tmp/sim/url" ]]; do
    kill -0 "$sim_pid" 2> /dev/null || {
        cat "$tmp/sim/log" >&2
        exit 1
    }
    sleep 0.2
done
kubeconfig="$tmp/sim/kubeconfig"

echo "== check -A (peak RSS)" >&2
rc=0
/usr/bin/time -v -o "$tmp/check.time" "$pxdoctor" check -A --kubeconfig "$kubeconfig" --no-s3 --no-api \
    -o json --timeout 30m > "$tmp/check.json" 2> "$tmp/check.err" || rc=$?
[[ "$rc" == 0 || "$rc" == 1 ]] || {
    cat "$tmp/check.err" >&2
    exit 1
}
check_rss=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$tmp/check.time")
check_wall=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0
    for (j = 1; j <= n; j++) s = s * 60 + p[j]; printf "%.2f", s }' "$tmp/check.time")

echo "== serve: until ready" >&2
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
url="http://127.0.0.1:$port"
started=$(now)
"$pxdoctor" serve -A --kubeconfig "$kubeconfig" --no-s3 --no-api --listen "127.0.0.1:$port" \
    > /dev/null 2> "$tmp/serve.log" &
serve_pid=$!
until [[ "$(curl -s -o /dev/null -w '%{http_code}' "$url/readyz")" == 200 ]]; do
    kill -0 "$serve_pid" 2> /dev/null || {
        cat "$tmp/serve.log" >&2
        exit 1
    }
    sleep 0.1
done
ready=$(since "$started")
sleep 5
rss_ready=$(awk '/VmRSS/ { print $2 }' "/proc/$serve_pid/status")

# ticks PID: CPU time so far, in clock ticks (user + system).
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
echo "== serve: CPU over ${idle}s with no change" >&2
t0=$(ticks "$serve_pid")
sleep "$idle"
t1=$(ticks "$serve_pid")
hz=$(getconf CLK_TCK)
idle_cpu=$(awk -v t=$((t1 - t0)) -v hz="$hz" -v s="$idle" 'BEGIN { printf "%.2f", t / hz / s * 100 }')

# gauge RULE: the sum of pxdoctor_findings{rule=RULE} on /metrics.
gauge() {
    curl -s "$url/metrics" | awk -v r="rule=\"$1\"" 'index($0, "pxdoctor_findings{") == 1 && index($0, r) { s += $NF }
        END { printf "%d", s }'
}
# A Pending GPU run serve already reports (PXD-PEND-002), as a template.
curl -s "$url/report" > "$tmp/report.json"
python3 - "$tmp/report.json" "$snapshot" "$tmp/template.json" << 'EOF'
import glob, json, sys
report = json.load(open(sys.argv[1]))
pods = [f["subject"] for f in report["findings"] if f["rule"] == "PXD-PEND-002" and f["subject"].get("kind") == "Pod"]
if not pods:
    sys.exit("no PXD-PEND-002 finding about a pod to copy")
want = pods[0]
for path in glob.glob(f"{sys.argv[2]}/**/pods.json", recursive=True):
    for pod in json.load(open(path))["items"]:
        if pod["metadata"]["name"] == want["name"] and pod["metadata"]["namespace"] == want["namespace"]:
            pod.setdefault("apiVersion", "v1")
            pod.setdefault("kind", "Pod")
            json.dump(pod, open(sys.argv[3], "w"))
            sys.exit(0)
sys.exit(f"pod {want} not in the snapshot")
EOF
# change N KIND: writes the Nth new run (a copy of the template with another
# uuid) into the changes directory, as an object or as a deletion.
change() {
    python3 - "$tmp/template.json" "$tmp/changes" "$1" "$2" << 'EOF'
import json, sys
pod = json.load(open(sys.argv[1]))
old = pod["metadata"]["labels"]["app.kubernetes.io/instance"]
new = f"{int(sys.argv[3]):08x}" + old[8:]
pod = json.loads(json.dumps(pod).replace(old, new))
pod["metadata"]["uid"] = f"bench-{new}"
name = "delete" if sys.argv[4] == "delete" else "apply"
json.dump(pod, open(f"{sys.argv[2]}/{sys.argv[3]}.{name}.json".replace(".apply.json", ".json"), "w"))
EOF
}
# latency WANT: seconds from the change to WANT on /metrics.
latency() {
    local want="$1" start
    start=$(now)
    kill -USR2 "$sim_pid"
    until [[ "$(gauge PXD-PEND-002)" == "$want" ]]; do
        [[ "$(since "$start" | cut -d. -f1)" -lt 30 ]] || {
            echo "$0: /metrics never showed $want for PXD-PEND-002" >&2
            exit 1
        }
        sleep 0.01
    done
    since "$start"
}
echo "== serve: $changes new Pending GPU runs, each added then deleted" >&2
base=$(gauge PXD-PEND-002)
: > "$tmp/added" && : > "$tmp/deleted"
for ((i = 1; i <= changes; i++)); do
    change "$i" apply
    latency $((base + 1)) >> "$tmp/added"
    change "$i" delete
    latency "$base" >> "$tmp/deleted"
done
# Steady state: the last evaluation's report and page rendered, its copy
# of the facts freed (sampled right after a change, RSS still holds them).
sleep 3
rss_after=$(awk '/VmRSS/ { print $2 }' "/proc/$serve_pid/status")
hwm=$(awk '/VmHWM/ { print $2 }' "/proc/$serve_pid/status")
evaluation=$(curl -s "$url/metrics" | awk '/^pxdoctor_evaluation_duration_seconds_sum/ { s = $NF }
    /^pxdoctor_evaluation_duration_seconds_count/ { n = $NF } END { printf "%.3f s over %d", (n ? s / n : 0), n }')
stats() { sort -n "$1" | awk '{ v[NR] = $1 } END { printf "median %.3f s, max %.3f s", v[int((NR + 1) / 2)], v[NR] }'; }

echo
echo "snapshot: $size, $snapshot ($(grep -o '[0-9]* pods in' "$bench/.cache/$size.log" | head -1 | cut -d' ' -f1) pods)"
echo "machine: $(nproc) CPUs, $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) RAM; the simulator serves on the same cores"
echo
echo "check -A:        ${check_wall} s wall, $(mib "$check_rss") MiB peak RSS"
echo "serve:           ready in ${ready} s; RSS $(mib "$rss_ready") MiB when ready, $(mib "$rss_after") MiB after the changes, peak $(mib "$hwm") MiB"
echo "serve idle:      ${idle_cpu}% of one core over ${idle} s (with its periodic re-evaluations)"
echo "evaluations:     mean $evaluation"
echo "change → /metrics: added $(stats "$tmp/added"); deleted $(stats "$tmp/deleted") (${changes} each; includes the simulator's 20 ms signal poll and curl)"
echo
verdict() {
    awk -v n="$1" -v v="$2" -v t="$3" 'BEGIN {
        if (v <= t) printf "  %-40s %8.3f  target <= %-5s met\n", n, v, t
        else printf "  %-40s %8.3f  target <= %-5s MISSED by %.0f%%\n", n, v, t, (v / t - 1) * 100 }'
}
worst=$(cat "$tmp/added" "$tmp/deleted" | sort -n | tail -1)
echo "targets (issue 18: memory for the large size, latency for 20k pods, idle CPU for any):"
verdict "serve RSS after changes / check peak" "$(awk -v a="$rss_after" -v b="$check_rss" 'BEGIN { print a / b }')" 1.2
verdict "serve peak RSS / check peak" "$(awk -v a="$hwm" -v b="$check_rss" 'BEGIN { print a / b }')" 1.2
verdict "change → /metrics, worst (s)" "$worst" 1
verdict "idle CPU (% of a core)" "$idle_cpu" 1
