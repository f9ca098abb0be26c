#!/usr/bin/env bash
# Packs what a service that calls Plinth needs, and nothing else: @plinth/sdk (the client) and
# @plinth/resource-types (the spec types of the shipped plugins, types only: no server code).
# The sdk's prepack builds its dist/ (scripts/build-package.ts).
# Usage: scripts/pack-sdk.sh <destination directory>
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"
[ $# -eq 1 ] || die "usage: $0 <destination directory>"
mkdir -p "$1"
dest="$(cd "$1" && pwd)"
export PATH="$PLINTH_CACHE/bin:$PATH"
for package in sdk resource-types; do
  (cd "$PLINTH_ROOT/packages/$package" && pnpm pack --pack-destination "$dest" >/dev/null) ||
    die "pnpm pack failed in packages/$package"
done
ls "$dest"/plinth-sdk-*.tgz "$dest"/plinth-resource-types-*.tgz
