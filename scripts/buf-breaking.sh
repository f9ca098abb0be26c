#!/usr/bin/env bash
# Guards the API contract: the protos in the working tree must not break
# those of the previous commit (wire and source compatibility, buf's FILE rules).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! git rev-parse -q --verify 'HEAD~1^{commit}' >/dev/null 2>&1 ||
  ! git cat-file -e 'HEAD~1:buf.yaml' 2>/dev/null; then
  echo "buf breaking: no earlier commit with protos to compare against; skipped" >&2
  exit 0
fi
buf breaking --against '.git#ref=HEAD~1'
echo "buf breaking: no breaking change against HEAD~1" >&2
