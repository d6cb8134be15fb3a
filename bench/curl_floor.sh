#!/usr/bin/env bash
# The floor of a live check: fetch every page of each list raw with curl, the
# way kubectl pages (limit=500 + continue), without decoding anything. The
# continue token is read from the end of each page (the simulator writes
# sorted keys, so the list's metadata comes last).
# The lists are fetched concurrently, as pxdoctor does; the pages of one list
# follow each other (each needs the previous page's token).
# Usage: bench/curl_floor.sh URL OUT_DIR PATH...   (PATH like /api/v1/pods)
# Writes "PATH PAGES" lines to OUT_DIR/pages; page bodies go to OUT_DIR/page.N.
set -euo pipefail
url="$1" out="$2"
shift 2
limit="${CHUNK:-500}"

fetch() { # fetch N PATH
    local page="$out/page.$1" path="$2" token="" pages=0
    while :; do
        curl -sSf -G -o "$page" "$url$path" --data-urlencode "limit=$limit" \
            ${token:+--data-urlencode "continue=$token"}
        pages=$((pages + 1))
        token=$(tail -c 1024 "$page" | grep -o '"continue":"[^"]*"' | tail -n 1 | cut -d'"' -f4 || true)
        [[ -n "$token" ]] || break
    done
    echo "$path $pages" > "$out/pages.$1"
}

n=0
pids=()
for path in "$@"; do
    n=$((n + 1))
    fetch "$n" "$path" &
    pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid"; done
for ((i = 1; i <= n; i++)); do cat "$out/pages.$i"; done > "$out/pages"
