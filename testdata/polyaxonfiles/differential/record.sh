#!/usr/bin/env bash
# Records the verdict of Polyaxon's own validator (`polyaxon --offline check -f`)
# on every file of this corpus, as `file<TAB>verdict<TAB>reason` sorted by path.
#
# Why: the differential test compares `pxdoctor lint` with the real validator.
# Installing Polyaxon on every test run is slow, so its verdicts are recorded in
# polyaxon-<version>.tsv; CI (or a developer) re-runs this script with a real
# Polyaxon to check that the recording still matches it:
#
#   POLYAXON=/path/to/venv/bin/polyaxon ./record.sh > polyaxon-2.18.0.tsv   # re-record
#   POLYAXON=/path/to/venv/bin/polyaxon ./record.sh --check polyaxon-2.18.0.tsv
#
# verdict: `pass` when polyaxon exits 0, `fail` otherwise.
# reason: the first meaningful line of polyaxon's error (headers such as
# "Polyaxonfile is not valid.", "Error:" and "N validation error for X" are
# skipped; a pydantic location line is joined with its message and the
# " [type=..." tail is cut), tabs/newlines made spaces, the corpus directory
# stripped from paths, trimmed to 160 characters. Empty on pass.
# Each file is checked from its own directory, as `-f <basename>`, because
# polyaxon resolves pathRef relative to the referencing file.
set -euo pipefail
export LC_ALL=C
POLYAXON=${POLYAXON:-polyaxon}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)

reason_of() {
  # stdin: polyaxon's output; stdout: one line.
  awk '
    BEGIN { started = 0; n = 0 }
    /^Polyaxonfile is not valid\.$/ { started = 1; n = 0; next }
    { lines[n++] = $0 }
    END {
      for (i = 0; i < n; i++) {
        l = lines[i]
        if (l ~ /^[[:space:]]*$/) continue
        if (l ~ /^(Error|Exception):$/) continue
        if (l ~ /^Polyaxonfile `version` is no longer required/) continue
        if (l ~ /^[0-9]+ validation errors? for /) continue
        if (l !~ /^ / && i + 1 < n && lines[i + 1] ~ /^  [^ ]/) {
          # A pydantic error: "loc" then "  message [type=...]". Shorten the
          # loc to field names: drop validator wrappers such as
          # dict[...], list[...], function-after[...], tagged-union[...],
          # constrained-str and model class names (V1Environment).
          loc = l; gsub(/`/, "", loc)
          while (match(loc, /\[[^][]*\]/))
            loc = substr(loc, 1, RSTART - 1) substr(loc, RSTART + RLENGTH)
          k = split(loc, parts, "."); loc = ""
          for (j = 1; j <= k; j++) {
            if (parts[j] ~ /^(dict|list|tagged-union|union|nullable|function-(after|before|wrap|plain)|constrained-(str|int|float)|lax-or-strict|int|float|str|bool)$/) continue
            if (parts[j] ~ /^V1[A-Z]/) continue
            loc = (loc == "" ? parts[j] : loc "." parts[j])
          }
          m = lines[i + 1]; sub(/^ +/, "", m); l = loc ": " m
        }
        sub(/ \[type=.*$/, "", l)
        print l
        exit
      }
    }'
}

record() {
  cd "$here"
  printf 'file\tverdict\treason\n'
  find valid invalid -type f \( -name '*.yaml' -o -name '*.yml' \) | sort | while read -r f; do
    dir=$(dirname "$f"); base=$(basename "$f")
    set +e
    out=$(cd "$dir" && COLUMNS=10000 TERM=dumb NO_COLOR=1 \
      "$POLYAXON" --offline check -f "$base" 2>/dev/null </dev/null)
    rc=$?
    set -e
    if [ "$rc" -eq 0 ]; then
      printf '%s\tpass\t\n' "$f"
    else
      reason=$(printf '%s\n' "$out" | reason_of | tr '\t\r\n' '   ' \
        | sed -e "s#$here/##g" -e 's/  */ /g' -e 's/^ //' -e 's/ $//' | cut -c1-160 \
        | sed -e 's/ $//')
      printf '%s\tfail\t%s\n' "$f" "$reason"
    fi
  done
}

if [ "${1:-}" = "--check" ]; then
  recorded=${2:-$here/polyaxon-2.18.0.tsv}
  if diff -u "$recorded" <(record); then
    echo "polyaxon verdicts match $(basename "$recorded")" >&2
  else
    echo "polyaxon verdicts differ from $(basename "$recorded")" >&2
    exit 1
  fi
else
  record
fi
