#!/usr/bin/env bash
# The README's test command (`make test`): back-ends on the first line, then the suite.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
envfile=$(mktemp)
trap 'rm -f "$envfile"' EXIT
"$PY" scripts/backends.py "$envfile"
# shellcheck disable=SC1090
source "$envfile"
bash scripts/venv.sh
exec .venv/bin/python -m pytest "$@"
