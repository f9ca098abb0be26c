#!/usr/bin/env bash
# Packs what a service that calls Plinth needs, and nothing else: @plinth/sdk (the client) and
# @plinth/resource-types (the spec types of the shipped plugins, types only: no server code). The CLI is
# @plinth/cli, packed on its own with --cli. Then it installs the tarballs into an empty scratch folder,
# offline from pnpm's store, and prints the size of that node_modules: what the SDK costs a service.
# The sdk's prepack builds its dist/ (scripts/build-package.ts).
# Usage: scripts/pack-sdk.sh [--cli] <destination directory>
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"
packages=(sdk resource-types)
if [ "${1:-}" = "--cli" ]; then
  packages+=(cli)
  shift
fi
[ $# -eq 1 ] || die "usage: $0 [--cli] <destination directory>"
mkdir -p "$1"
dest="$(cd "$1" && pwd)"
export PATH="$PLINTH_CACHE/bin:$PATH"
for package in "${packages[@]}"; do
  (cd "$PLINTH_ROOT/packages/$package" && pnpm pack --pack-destination "$dest" >/dev/null) ||
    die "pnpm pack failed in packages/$package"
done
ls "$dest"/plinth-*.tgz

# The installed size, measured the way a service gets it: only the SDK and the types, in a folder of
# their own, offline (the SDK pins its few dependencies exactly, and make setup put them in pnpm's store).
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
cat >"$scratch/package.json" <<JSON
{ "name": "sdk-size", "private": true, "dependencies": {
  "@plinth/sdk": "file:$(ls "$dest"/plinth-sdk-*.tgz)",
  "@plinth/resource-types": "file:$(ls "$dest"/plinth-resource-types-*.tgz)" } }
JSON
(cd "$scratch" && pnpm install --offline --no-frozen-lockfile >"$scratch/install.log" 2>&1) || {
  tail -n 20 "$scratch/install.log" >&2
  die "the offline install of the packed SDK failed (above): run 'make setup' first (it fills pnpm's store)"
}
printf 'installed: @plinth/sdk and @plinth/resource-types take %s of node_modules\n' \
  "$(du -sh --apparent-size "$scratch/node_modules" | cut -f1)"
