#!/usr/bin/env bash
# Provides the Pulumi CLI at the pinned version: a `pulumi` on PATH of that
# version is used as is; otherwise it is built from the Go module proxy with
# the wrapper module in toolchain/pulumi-cli (pulumi's own go.mod has replace
# directives, so `go install pkg@version` refuses). Also places the dynamic
# provider launcher from npm @pulumi/pulumi beside the CLI. Idempotent.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
ensure_cache_writable

dir="$PLINTH_CACHE/pulumi-$PULUMI_VERSION/bin"
src="$PLINTH_ROOT/toolchain/pulumi-cli"
key="$PULUMI_VERSION $(cat "$src/go.mod" "$src/go.sum" | sha256sum | cut -c1-16)"
mkdir -p "$dir" "$PLINTH_CACHE/stamps"

# One build at a time per cache: two setups at once would write the same
# pulumi.tmp and build directory. The second waits, then finds the stamp.
exec 9>"$PLINTH_CACHE/stamps/pulumi-cli.lock"
flock 9

if ! stamp_ok pulumi-cli "$key" || [ ! -x "$dir/pulumi" ]; then
  ambient=$(command -v pulumi || true)
  if [ -n "$ambient" ] && [ "$ambient" != "$PLINTH_CACHE/bin/pulumi" ] &&
    [ "$("$ambient" version 2>/dev/null)" = "v$PULUMI_VERSION" ]; then
    log "using the pulumi v$PULUMI_VERSION on PATH ($ambient)"
    cp "$ambient" "$dir/pulumi"
  else
    need_cmd go "put Go 1.25 or newer on PATH (the machine image has it in /usr/local/go/bin; Debian's golang package is too old) to build the Pulumi CLI"
    log "building the Pulumi CLI v$PULUMI_VERSION from the Go module proxy (cold: about 5 minutes on 2 cores)"
    work="$PLINTH_CACHE/build/pulumi-cli"
    mkdir -p "$work" && cp "$src/go.mod" "$src/go.sum" "$work/"
    (cd "$work" && CGO_ENABLED=0 GOFLAGS=-buildvcs=false go build -trimpath -tags osusergo,grpcnotrace \
      -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION" \
      -o "$dir/pulumi.tmp" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi) ||
      die "building the Pulumi CLI failed (see the go output above)"
    mv "$dir/pulumi.tmp" "$dir/pulumi"
  fi
  stamp_set pulumi-cli "$key"
fi
ln -sfn "$dir/pulumi" "$PLINTH_CACHE/bin/pulumi"

# Dynamic providers (plugin-postgres) run through this launcher, which the CLI
# looks for beside itself. It ships in npm @pulumi/pulumi; installed by pnpm.
launcher=$(cd "$PLINTH_ROOT/packages/core" 2>/dev/null &&
  "$PLINTH_CACHE/bin/node" -e 'const p=require("node:path");console.log(p.join(p.dirname(require.resolve("@pulumi/pulumi/package.json")),"pulumi-resource-pulumi-nodejs"))' 2>/dev/null || true)
[ -n "$launcher" ] && [ -f "$launcher" ] ||
  die "@pulumi/pulumi is not installed: run 'make setup' (pnpm install) before $0"
install -m 0755 "$launcher" "$dir/pulumi-resource-pulumi-nodejs"
