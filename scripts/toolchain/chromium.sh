#!/usr/bin/env bash
# Makes sure Debian's Chromium is installed: the console's browser tests drive
# it through playwright-core. Never a browser download of Playwright's own.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
ensure_cache_writable

chromium="${PLINTH_CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$chromium" ]; then
  if [ -n "${PLINTH_CHROMIUM:-}" ]; then
    die "PLINTH_CHROMIUM=$chromium is not an executable: point it at a Chromium binary or unset it"
  fi
  need_cmd apt-get "install Chromium yourself and set PLINTH_CHROMIUM to its binary"
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    need_cmd sudo "run 'apt-get install chromium' as root (or set PLINTH_CHROMIUM to a Chromium binary)"
    sudo="sudo"
  fi
  log "installing Chromium from Debian's packages (for the console's browser tests)"
  { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null; } ||
    die "apt-get install chromium failed (see the output above): install it yourself or set PLINTH_CHROMIUM"
fi
[ -x "$chromium" ] || die "Chromium not found at $chromium after installing: set PLINTH_CHROMIUM to its binary"
