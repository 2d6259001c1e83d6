#!/usr/bin/env bash
# make demo: the zero-downtime proof, for a newcomer. Installs HAProxy from
# Debian when it is missing, then runs tools/e2e's TestZeroDowntimeRollouts:
# four demo app instances behind a real HAProxy on loopback (random ports,
# config and stats socket in a temporary directory), each deployed by its
# own host agent from artifacts in the object store, under steady HTTP load
# on HAProxy (the test's own load generator: 4 keep-alive clients, at most
# 400000 requests or 5 minutes per rollout). Three rollouts run in turn:
# rolling v1->v2 at batch 1 with drain/ready hooks, blue-green v2->v3 by an
# HAProxy switch, and a canary of a broken v4 that rolls back by itself.
# It ends with one line per rollout:
#   demo <strategy>: requests=<n> failed=<n> p50=<ms>ms p99=<ms>ms versions=ok|mismatch
set -euo pipefail
cd "$(dirname "$0")/../.."
GO=${GO:-go}
bash tools/lint/test-deps.sh haproxy
echo "running the three rollouts under load (about a minute)..."
out=$(mktemp)
trap 'rm -f "$out"' EXIT
status=0
(cd tools && ROLLWAVE_REQUIRE_TOOLS=1 "$GO" test -count=1 -v -timeout 15m -run '^TestZeroDowntimeRollouts$' ./e2e/) >"$out" 2>&1 || status=$?
if [ "$status" -ne 0 ]; then
  cat "$out"
  echo "demo failed (exit $status); the figures of the rollouts that ran:"
fi
grep -E '^demo (rolling|blue-green|canary): ' "$out" || true
exit "$status"
