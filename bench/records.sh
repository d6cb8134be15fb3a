#!/usr/bin/env bash
# Benchmark for issue 32: `pxdoctor check --since 24h` over RUNS runs (default
# 1,000, in 10 projects) seeded into Polyaxon's own API server (haupt[sandbox]
# 2.18.0, one worker, SQLite), the cluster a snapshot. Prints the time, the
# requests made and the runs explained, for the release binary.
# Usage: bench/records.sh [RUNS] [PROJECTS]
# Environment: HAUPT (the haupt executable; default target/ci-haupt-venv/bin/haupt,
# which .ci/run installs), REPEAT (default 3).
set -euo pipefail
runs="${1:-1000}"
projects="${2:-10}"
repeat="${REPEAT:-3}"
bench="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$bench/.." && pwd)"
haupt="${HAUPT:-$root/target/ci-haupt-venv/bin/haupt}"
if [ ! -x "$haupt" ]; then
    echo "$0: $haupt not found: python3 -m venv target/ci-haupt-venv && target/ci-haupt-venv/bin/pip install 'haupt[sandbox]==2.18.0' (or run .ci/run)" >&2
    exit 1
fi
cargo build --release --quiet --manifest-path "$root/Cargo.toml"
work="$(mktemp -d)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
# The server lives as long as this pipe: closing it stops haupt.
exec 3> >(python3 "$root/tests/support/haupt_run.py" "$haupt" "$port" "$work")
trap 'exec 3>&-; sleep 1; rm -rf "$work"' EXIT
url="http://127.0.0.1:$port"
for _ in $(seq 1 300); do
    curl -fs "$url/api/v1/installation" > /dev/null 2>&1 && break
    sleep 0.2
done
start=$(date +%s.%N)
python3 "$bench/seed_records.py" "$url" "$work/sandbox" "$runs" "$projects"
echo "seeding: $(echo "$(date +%s.%N) - $start" | bc) s"
for n in $(seq 1 "$repeat"); do
    start=$(date +%s.%N)
    out=$(env -u HTTPS_PROXY -u HTTP_PROXY POLYAXON_HOME=/nonexistent POLYAXON_HOST="$url" POLYAXON_AUTH_TOKEN=bench \
        "$root/target/release/pxdoctor" check --snapshot "$root/testdata/gpu-shortage" --since 24h \
        --no-s3 -o json -v 2> "$work/stderr" || true)
    took=$(echo "$(date +%s.%N) - $start" | bc)
    requests=$(grep -o "in [0-9]* request(s)" "$work/stderr" | grep -o "[0-9]*" || echo "?")
    told=$(echo "$out" | python3 -c 'import json,sys; r=json.load(sys.stdin); print(len(r.get("histories", [])), len(r["findings"]))')
    echo "run $n: --since 24h over $runs runs in $projects projects: ${took} s, $requests requests to Polyaxon, runs explained and findings: $told"
done
