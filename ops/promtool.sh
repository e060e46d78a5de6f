#!/usr/bin/env bash
# Checks and unit-tests the Prometheus rules in ops/observability/prometheus with promtool.
# Installs Debian's `prometheus` package when promtool is missing; the package's service is
# kept from starting (policy-rc.d), since only the promtool binary is wanted.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v promtool >/dev/null 2>&1; then
  echo "promtool: installing Debian's prometheus"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  POLICY=/usr/sbin/policy-rc.d
  if [ ! -e "$POLICY" ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$POLICY" >/dev/null
    $SUDO chmod +x "$POLICY"
    trap '$SUDO rm -f "$POLICY"' EXIT
  fi
  $SUDO apt-get update -qq || true
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi
echo "promtool: $(promtool --version 2>&1 | head -n 1)"
DIR=ops/observability/prometheus
promtool check rules "$DIR"/rules/*.yml
promtool check config --syntax-only "$DIR"/prometheus.yml
promtool test rules "$DIR"/tests/*.yml
