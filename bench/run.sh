#!/usr/bin/env bash
# The Plinth benchmark in one command (about 2.5 minutes); see bench/README.md.
#   bench/run.sh            print the results table
#   bench/run.sh --write    also replace the results section of BENCHMARKS.md
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:${PLINTH_CACHE:-$HOME/.cache/plinth}/bin:$PATH"
exec node --import tsx bench/apply-get.ts "$@"
