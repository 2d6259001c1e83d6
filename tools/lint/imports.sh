#!/usr/bin/env bash
# Enforces the layering: a service never imports another service, and
# contracts and pkg never import services or tools.
set -euo pipefail
cd "$(dirname "$0")/../.."
fail=0
svc=github.com/rollwave/rollwave/services
while read -r pkg imports; do
  own=${pkg#"$svc/"}; own=${own%%/*}
  for imp in $imports; do
    case $imp in
      "$svc"/*)
        other=${imp#"$svc/"}; other=${other%%/*}
        if [ "$other" != "$own" ]; then echo "layering: $pkg imports $imp (services never import each other)"; fail=1; fi ;;
    esac
  done
done < <(cd services && go list -f '{{.ImportPath}} {{join .Imports " "}} {{join .TestImports " "}}' ./...)
for m in contracts pkg; do
  if (cd $m && go list -f '{{join .Imports "\n"}}{{"\n"}}{{join .TestImports "\n"}}' ./...) | grep -E 'rollwave/rollwave/(services|tools)' ; then
    echo "layering: $m imports services or tools"; fail=1
  fi
done
if (cd contracts && go list -deps -f '{{if not .Standard}}{{.ImportPath}}{{end}}' ./... | grep -v '^github.com/rollwave/rollwave/contracts'); then
  echo "layering: contracts depends on a module outside the standard library"; fail=1
fi
exit $fail
