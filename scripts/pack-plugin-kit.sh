#!/usr/bin/env bash
# Packs what a plugin kept outside this workspace depends on into installable tarballs:
# @plinth/core (the plugin API and the server), @plinth/testing (the contract suite),
# @plinth/sdk (the client) and @plinth/console (the reviewer page core serves).
# Each package's prepack builds its dist/ (JavaScript and .d.ts, scripts/build-package.ts).
# Usage: scripts/pack-plugin-kit.sh <destination directory>
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"
[ $# -eq 1 ] || die "usage: $0 <destination directory>"
mkdir -p "$1"
dest="$(cd "$1" && pwd)"
export PATH="$PLINTH_CACHE/bin:$PATH"
[ -f "$PLINTH_ROOT/packages/console/dist/index.html" ] || bash "$here/toolchain/console.sh"
for package in console sdk core testing; do
  (cd "$PLINTH_ROOT/packages/$package" && pnpm pack --pack-destination "$dest" >/dev/null) ||
    die "pnpm pack failed in packages/$package"
done
ls "$dest"/plinth-*.tgz
