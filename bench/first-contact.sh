#!/usr/bin/env bash
# First contact, side by side with kubectl: how long each takes to give up,
# and with which exit code, on a cluster that is down (a closed loopback
# port) and on one that accepts connections and never answers (a loopback
# listener that never reads), with --request-timeout 2s.
# Usage: bench/first-contact.sh   (needs kubectl and python3; builds pxdoctor)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
command -v kubectl >/dev/null || { echo "kubectl is not installed: nothing to compare with" >&2; exit 2; }
command -v python3 >/dev/null || { echo "python3 is needed for the silent listener" >&2; exit 2; }
cargo build --quiet --release --manifest-path "$root/Cargo.toml"
pxdoctor="$root/target/release/pxdoctor"
work="$(mktemp -d)"
listener=""
trap '[ -n "$listener" ] && kill "$listener" 2>/dev/null; rm -rf "$work"' EXIT

kubeconfig() { # server url -> path
    local path="$work/kubeconfig-$2"
    cat >"$path" <<YAML
apiVersion: v1
kind: Config
clusters:
- name: c
  cluster:
    server: $1
users:
- name: u
  user:
    token: not-a-real-token
contexts:
- name: c
  context: {cluster: c, user: u, namespace: polyaxon}
current-context: c
YAML
    echo "$path"
}

# Seconds and exit code of one command.
timed() {
    local start end code=0
    start=$(date +%s.%N)
    "$@" >/dev/null 2>&1 || code=$?
    end=$(date +%s.%N)
    printf '%.1f s, exit %d' "$(echo "$end - $start" | bc)" "$code"
}

closed=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(64)
print(s.getsockname()[1], flush=True)
time.sleep(3600)' >"$work/port" &
listener=$!
while [ ! -s "$work/port" ]; do sleep 0.1; done
silent=$(cat "$work/port")

down=$(kubeconfig "http://127.0.0.1:$closed" down)
mute=$(kubeconfig "http://127.0.0.1:$silent" mute)

echo "| case | kubectl get pods | pxdoctor check |"
echo "|---|---|---|"
echo "| connection refused (closed port) | $(KUBECONFIG=$down timed kubectl get pods) | $(KUBECONFIG=$down timed "$pxdoctor" check) |"
echo "| accepts, never answers, --request-timeout 2s | $(KUBECONFIG=$mute timed kubectl get pods --request-timeout 2s) | $(KUBECONFIG=$mute timed "$pxdoctor" check --request-timeout 2s) |"
