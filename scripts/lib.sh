# Shared helpers for Plinth's setup scripts. Source it; do not run it.
# Every tool Plinth needs is installed under one cache directory so that a
# second run is a no-op and `rm -rf "$PLINTH_CACHE"` is a full reset.

PLINTH_CACHE="${PLINTH_CACHE:-$HOME/.cache/plinth}"
export PLINTH_CACHE

PLINTH_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=../toolchain/versions.env
. "$PLINTH_ROOT/toolchain/versions.env"

# Keep Pulumi from ever reaching for the network on its own.
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
export PULUMI_DISABLE_REGISTRY_RESOLVE=true
export PULUMI_HOME="${PULUMI_HOME:-$PLINTH_CACHE/pulumi-home}"

log() { printf '[plinth setup] %s\n' "$*" >&2; }

# die prints one line saying what is wrong and what to do, then exits.
die() { printf '[plinth setup] error: %s\n' "$*" >&2; exit 1; }

need_cmd() { # need_cmd CMD "how to install it"
  command -v "$1" >/dev/null 2>&1 || die "$1 not found: $2"
}

ensure_cache_writable() {
  mkdir -p "$PLINTH_CACHE" 2>/dev/null && [ -w "$PLINTH_CACHE" ] ||
    die "cache directory $PLINTH_CACHE is not writable: fix its permissions or set PLINTH_CACHE to a writable directory"
  mkdir -p "$PLINTH_CACHE/bin" "$PLINTH_CACHE/stamps"
}

# stamp_ok NAME VALUE: true when step NAME last completed with inputs VALUE.
stamp_ok() { [ -f "$PLINTH_CACHE/stamps/$1" ] && [ "$(cat "$PLINTH_CACHE/stamps/$1")" = "$2" ]; }
stamp_set() { printf '%s' "$2" >"$PLINTH_CACHE/stamps/$1"; }
