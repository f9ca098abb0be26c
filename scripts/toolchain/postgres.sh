#!/usr/bin/env bash
# Makes sure a PostgreSQL server (Debian's package) is installed: tests and
# plugin-postgres start their own throwaway instances from its binaries.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
ensure_cache_writable

find_bindir() {
  if [ -n "${PLINTH_PG_BIN:-}" ]; then echo "$PLINTH_PG_BIN"; return; fi
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

bindir=$(find_bindir)
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ] || [ ! -x "$bindir/postgres" ]; then
  if [ "$(id -u)" -ne 0 ]; then
    die "PostgreSQL server binaries not found: run 'sudo apt-get install postgresql' (or set PLINTH_PG_BIN to the directory holding initdb and postgres)"
  fi
  need_cmd apt-get "install the PostgreSQL server yourself and set PLINTH_PG_BIN to the directory holding initdb and postgres"
  log "installing PostgreSQL from Debian's packages"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; } ||
    die "apt-get install postgresql failed (see the output above)"
  bindir=$(find_bindir)
fi
[ -x "$bindir/initdb" ] || die "initdb not found in $bindir: set PLINTH_PG_BIN to the directory holding initdb and postgres"
# PostgreSQL refuses to run as root; tests run it as the package's own user.
if [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
  die "running as root but there is no 'postgres' user to run PostgreSQL as: apt-get install postgresql creates it"
fi
