#!/usr/bin/env bash
# Installs everything Plinth needs, into the cache ($PLINTH_CACHE, default
# ~/.cache/plinth) and node_modules. Idempotent: a warm run takes seconds.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"
ensure_cache_writable
started=$(date +%s)

bash "$here/toolchain/node.sh"
export PATH="$PLINTH_CACHE/bin:$PATH"

cd "$PLINTH_ROOT"
if [ ! -f node_modules/.modules.yaml ] || [ pnpm-lock.yaml -nt node_modules/.modules.yaml ] ||
  [ package.json -nt node_modules/.modules.yaml ]; then
  log "installing npm packages (pnpm install --frozen-lockfile)"
  pnpm install --frozen-lockfile --reporter=silent || die "pnpm install failed (see the output above)"
fi

bash "$here/toolchain/postgres.sh"
bash "$here/toolchain/kafka.sh"
bash "$here/toolchain/prometheus.sh"
bash "$here/toolchain/schema-registry.sh"
bash "$here/toolchain/pulumi.sh"
bash "$here/toolchain/pulumi-kafka.sh"
bash "$here/toolchain/chromium.sh"
bash "$here/toolchain/console.sh"
log "toolchain ready in $(($(date +%s) - started)) s (cache: $PLINTH_CACHE)"
