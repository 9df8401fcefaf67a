#!/bin/sh
# The browser tests drive Debian's Chromium through playwright-core (no browser
# download). Install it when missing and we are allowed to; otherwise say how.
set -e
CHROMIUM="${PREFLIGHT_CHROMIUM:-/usr/bin/chromium}"
[ -x "$CHROMIUM" ] && exit 0
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Debian's chromium for the browser tests…" >&2
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  exit 0
fi
echo "The browser tests need Chromium at $CHROMIUM: run 'sudo apt-get install -y chromium' (or set PREFLIGHT_CHROMIUM)." >&2
exit 1
