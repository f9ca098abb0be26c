#!/usr/bin/env bash
# The replicas benchmark (PostgreSQL with 1 and 3 replicas next to SQLite and the bare handler, and the
# worker's drain rate); see bench/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:${PLINTH_CACHE:-$HOME/.cache/plinth}/bin:$PATH"
exec node --import tsx bench/cluster.ts "$@"
