#!/usr/bin/env bash
# Builds the Pulumi Kafka resource provider plugin (pulumi-resource-kafka)
# from toolchain/pulumi-resource-kafka (Go modules from the Go module proxy
# only) and registers it with the Pulumi CLI as "resource kafka v3.13.2", the
# version the npm package @pulumi/kafka 3.13.2 asks the engine for.
#
# Idempotent: when that plugin is installed and a stamp records the same
# inputs (module sources, this script) and the same installed binary, it does
# nothing. Everything lives under $PLINTH_CACHE; PULUMI_HOME defaults to
# $PLINTH_CACHE/pulumi-home.
set -euo pipefail

log() { printf '[plinth toolchain] %s\n' "$*" >&2; }
die() { printf '[plinth toolchain] error: %s\n' "$*" >&2; exit 1; }

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
src="$(cd "$here/../../toolchain/pulumi-resource-kafka" && pwd)"
# The pinned @pulumi/kafka version; resources.go must declare the same one.
KAFKA_PLUGIN_VERSION="$(sed -n 's/^PULUMI_KAFKA_VERSION=//p' "$here/../../toolchain/versions.env")"
grep -q "\"$KAFKA_PLUGIN_VERSION\"" "$src/resources.go" ||
  { printf '[plinth toolchain] error: %s\n' "toolchain/pulumi-resource-kafka/resources.go does not declare version $KAFKA_PLUGIN_VERSION (toolchain/versions.env)" >&2; exit 1; }

PLINTH_CACHE="${PLINTH_CACHE:-$HOME/.cache/plinth}"
export PLINTH_CACHE
export PULUMI_HOME="${PULUMI_HOME:-$PLINTH_CACHE/pulumi-home}"
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
export PULUMI_DISABLE_REGISTRY_RESOLVE=true

{ mkdir -p "$PLINTH_CACHE/stamps" "$PULUMI_HOME" && [ -w "$PLINTH_CACHE" ] && [ -w "$PULUMI_HOME" ]; } 2>/dev/null ||
  die "cache directory $PLINTH_CACHE (or PULUMI_HOME $PULUMI_HOME) is not writable: fix its permissions or set PLINTH_CACHE to a writable directory"

plugin_dir="$PULUMI_HOME/plugins/resource-kafka-v$KAFKA_PLUGIN_VERSION"
plugin_bin="$plugin_dir/pulumi-resource-kafka"
stamp="$PLINTH_CACHE/stamps/pulumi-kafka"

# The inputs of the build: the module's go.mod, go.sum and Go sources, and
# this script (build flags, version). Sorted so the key is stable.
inputs_key() {
  {
    printf 'version %s\n' "$KAFKA_PLUGIN_VERSION"
    sha256sum "${BASH_SOURCE[0]}" | cut -d' ' -f1
    (cd "$src" && find . -type f \( -name go.mod -o -name go.sum -o -name '*.go' \) -print0 |
      LC_ALL=C sort -z | xargs -0 sha256sum)
  } | sha256sum | cut -d' ' -f1
}

up_to_date() { # true when the installed plugin is the one the stamp recorded for these inputs
  [ -x "$plugin_bin" ] && [ ! -e "$plugin_dir.partial" ] && [ -f "$stamp" ] || return 1
  [ "$(cat "$stamp")" = "$1 $(sha256sum "$plugin_bin" | cut -d' ' -f1)" ]
}

key="$(inputs_key)"
if up_to_date "$key"; then exit 0; fi

# One build at a time per cache (the staging directory is shared).
exec 9>"$PLINTH_CACHE/stamps/pulumi-kafka.lock"
flock 9
if up_to_date "$key"; then exit 0; fi

# Go from PATH, like every other script (Debian's golang package, 1.19, is too
# old for the bridge, which needs 1.24.7 or newer).
command -v go >/dev/null 2>&1 ||
  die "go not found: put Go 1.24.7 or newer on PATH (the machine image has it in /usr/local/go/bin; Debian's golang package is too old) to build the Pulumi Kafka provider plugin"
gover="$(go env GOVERSION 2>/dev/null || true)"
case "$gover" in
  go1.2[4-9]* | go1.[3-9][0-9]* | go[2-9]*) ;;
  *) die "go is ${gover:-of unknown version}: the Pulumi Kafka provider plugin needs Go 1.24.7 or newer on PATH" ;;
esac
if [ -x "$PLINTH_CACHE/bin/pulumi" ]; then
  pulumi="$PLINTH_CACHE/bin/pulumi"
elif command -v pulumi >/dev/null 2>&1; then
  pulumi="$(command -v pulumi)"
else
  die "pulumi not found: build the Pulumi CLI into $PLINTH_CACHE/bin/pulumi first (or put pulumi on PATH)"
fi

build="$PLINTH_CACHE/build/pulumi-kafka-$KAFKA_PLUGIN_VERSION"
start=$SECONDS
log "building pulumi-resource-kafka v$KAFKA_PLUGIN_VERSION in $build (cold: about 3 minutes on 2 cores, most of it downloading modules)"

# Build in a staging copy, so the generated schema.json that the plugin
# embeds never lands in the work tree. The copy must be a directory named
# "provider": tfgen looks up the upstream provider's docs by running
# `go mod download` in ./provider unless the working directory is so named.
rm -rf "$build/provider" "$build/schema"
mkdir -p "$build/provider" "$build/bin" "$build/schema"
(cd "$src" && find . -type f \( -name go.mod -o -name go.sum -o -name '*.go' \) -print0 |
  xargs -0 cp --parents -t "$build/provider")

# go.sum is committed: -mod=readonly makes a missing or changed checksum an
# error instead of a silent re-resolution.
export CGO_ENABLED=0
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-mod=readonly"
gobuild() { (cd "$build/provider" && go build -trimpath -ldflags "-s -w" "$@"); }

log "compiling pulumi-tfgen-kafka (schema generator)"
gobuild -o "$build/bin/pulumi-tfgen-kafka" ./cmd/pulumi-tfgen-kafka ||
  die "go build of pulumi-tfgen-kafka failed (see the output above)"

log "generating the Pulumi package schema"
(cd "$build/provider" && "$build/bin/pulumi-tfgen-kafka" schema --out "$build/schema" --skip-examples >"$build/tfgen.log" 2>&1) ||
  die "pulumi-tfgen-kafka schema failed: see $build/tfgen.log"
grep -q "\"version\": \"$KAFKA_PLUGIN_VERSION\"" "$build/schema/schema.json" ||
  die "generated schema $build/schema/schema.json does not carry version $KAFKA_PLUGIN_VERSION"
cp "$build/schema/schema.json" "$build/provider/cmd/pulumi-resource-kafka/schema.json"

log "compiling pulumi-resource-kafka"
gobuild -o "$build/bin/pulumi-resource-kafka" ./cmd/pulumi-resource-kafka ||
  die "go build of pulumi-resource-kafka failed (see the output above)"

log "installing it as plugin resource kafka v$KAFKA_PLUGIN_VERSION into $PULUMI_HOME"
"$pulumi" plugin install resource kafka "v$KAFKA_PLUGIN_VERSION" --file "$build/bin/pulumi-resource-kafka" --reinstall >&2 ||
  die "pulumi plugin install resource kafka v$KAFKA_PLUGIN_VERSION failed (see the output above)"
[ -x "$plugin_bin" ] || die "plugin install reported success but $plugin_bin is missing"

printf '%s %s' "$key" "$(sha256sum "$plugin_bin" | cut -d' ' -f1)" >"$stamp"
log "pulumi-resource-kafka v$KAFKA_PLUGIN_VERSION ready in $((SECONDS - start)) s"
