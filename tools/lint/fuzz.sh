#!/usr/bin/env bash
# Runs every fuzz target of every module briefly: $1 is a -fuzztime, a
# duration (30s) or a count of inputs (5000x, the default).
set -euo pipefail
cd "$(dirname "$0")/../.."
fuzztime=${1:-5000x}
root=$PWD
for m in contracts pkg services tools; do
  for dir in $(cd "$m" && go list -f '{{.Dir}}' ./...); do
    targets=$( (grep -hoE '^func Fuzz[A-Za-z0-9_]+\(' "$dir"/*_test.go 2>/dev/null || true) | sed -E 's/^func (Fuzz[A-Za-z0-9_]+)\(/\1/' | sort -u)
    for target in $targets; do
      echo "== fuzz $target in ${dir#"$root"/} ($fuzztime)"
      (cd "$dir" && go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" .)
    done
  done
done
