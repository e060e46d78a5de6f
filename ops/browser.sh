#!/usr/bin/env bash
# Makes sure Debian's Chromium is installed for the web app's browser tests
# (playwright-core drives /usr/bin/chromium; it never downloads a browser of its own).
set -euo pipefail
if [ -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ]; then
  echo "browser: $("${CHROMIUM_PATH:-/usr/bin/chromium}" --version 2>/dev/null || echo chromium) present"
  exit 0
fi
echo "browser: installing Debian's chromium"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
$SUDO apt-get update -qq || true
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
/usr/bin/chromium --version
