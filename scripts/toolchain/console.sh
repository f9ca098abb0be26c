#!/usr/bin/env bash
# Builds the reviewer console (packages/console/dist) that the server serves
# under /. Rebuilds only when its sources, config or lockfile changed.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
ensure_cache_writable

dir="$PLINTH_ROOT/packages/console"
# Test files that run at once each ask for a build: one builds, the others then find it current.
exec 9>"$PLINTH_CACHE/console-build.lock"
flock 9
hash=$(cd "$PLINTH_ROOT" && cat pnpm-lock.yaml packages/console/package.json packages/console/index.html \
  packages/console/vite.config.ts $(find packages/console/src packages/sdk/src/gen -type f | sort) | sha256sum | cut -c1-16)
if [ -f "$dir/dist/.build-hash" ] && [ "$(cat "$dir/dist/.build-hash")" = "$hash" ] && [ -f "$dir/dist/index.html" ]; then
  exit 0
fi
log "building the console (vite build)"
# NODE_ENV from a calling test runner ("test") would bundle the libraries' development builds.
(cd "$dir" && NODE_ENV=production node_modules/.bin/vite build --logLevel warn) || die "the console build failed (see the output above)"
printf '%s' "$hash" >"$dir/dist/.build-hash"
