#!/usr/bin/env bash
# Runs every fuzz target of every module for a short time (default 5s).
set -euo pipefail
cd "$(dirname "$0")/../.."
fuzztime=${1:-5s}
for m in contracts pkg services tools; do
  (cd "$m" && go list -f '{{.Dir}}' ./...) | while read -r dir; do
    grep -hoE '^func (Fuzz[A-Za-z0-9_]+)\(' "$dir"/*_test.go 2>/dev/null | sed -E 's/^func (Fuzz[A-Za-z0-9_]+)\(/\1/' | sort -u | while read -r target; do
      echo "== fuzz $target in ${dir#$PWD/} ($fuzztime)"
      (cd "$dir" && go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" .) || exit 1
    done
  done
done
