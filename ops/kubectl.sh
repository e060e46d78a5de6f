#!/usr/bin/env bash
# Makes sure kubectl with its built-in kustomize is here: test/deploy-manifests.test.ts
# renders deploy/kubernetes with `kubectl kustomize` (kustomize v4.1 or later is needed for
# the `labels` field: kubectl 1.24+). The project's machines have it preinstalled
# (/usr/bin/kubectl, Debian package `kubectl` from the Google Cloud CLI repository); where
# it is missing and that repository is configured, apt installs it. Debian's own
# `kubernetes-client` (1.20, kustomize v2) is too old to render these manifests.
set -euo pipefail
cd "$(dirname "$0")/.."

renders() { command -v kubectl >/dev/null 2>&1 && kubectl kustomize deploy/kubernetes/base >/dev/null 2>&1; }

if ! renders && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && apt-cache policy kubectl 2>/dev/null | grep -q 'Candidate: [0-9]'; then
  echo "kubectl: installing the Debian package kubectl"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q kubectl >/dev/null
fi

if renders; then
  echo "kubectl: $(kubectl version --client 2>/dev/null | tr '\n' ' ')"
  exit 0
fi
echo "kubectl: kubectl with a built-in kustomize (kubectl 1.24 or later) is needed to render deploy/kubernetes;" >&2
echo "kubectl: install it (the Debian package kubectl from the Kubernetes or Google Cloud CLI apt repository, or the kubectl binary) and run again" >&2
exit 1
