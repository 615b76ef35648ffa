#!/usr/bin/env bash
# Validates the Kubernetes manifests against the schema of a pinned Kubernetes
# version, strictly (an unknown or misspelled field is an error), with
# kubernetes-validate, installed into a git-ignored virtualenv on first use.
#
#   scripts/validate_k8s.sh [FILE.yaml...]    (default: deploy/k8s/*.yaml)
#
# K8S_VERSIONS: versions to validate against (default "1.33.0 1.37.0": the
# oldest the Job supports, backoffLimitPerIndex being GA from 1.33, and the
# newest schema the pinned validator bundles).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
VENV=${K8S_VALIDATE_VENV:-$ROOT/target/k8s-validate-venv}
REQS=$ROOT/deploy/k8s/validate-requirements.txt
K8S_VERSIONS=${K8S_VERSIONS:-1.33.0 1.37.0}
PYTHON=${PYTHON:-python3}

stamp=$VENV/.installed
if ! [ -x "$VENV/bin/kubernetes-validate" ] || ! cmp -s "$REQS" "$stamp"; then
    echo "installing kubernetes-validate into $VENV" >&2
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$REQS"
    cp "$REQS" "$stamp"
fi

if [ $# -eq 0 ]; then
    set -- deploy/k8s/*.yaml
fi
status=0
for v in $K8S_VERSIONS; do
    "$VENV/bin/kubernetes-validate" --strict --kubernetes-version "$v" "$@" || status=1
done
if [ "$status" = 0 ]; then
    echo "valid (strict) against Kubernetes $K8S_VERSIONS: $*"
fi
exit "$status"
