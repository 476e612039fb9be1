#!/usr/bin/env bash
# The README's run command (`make run`): migrate, load the demo, serve on 127.0.0.1:8000.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/venv.sh
export DEBUG=${DEBUG:-true}
export HTTPS=${HTTPS:-false}
mkdir -p var
.venv/bin/python manage.py migrate --noinput
.venv/bin/python manage.py load_demo
echo "Serving Redline on http://127.0.0.1:8000 (Ctrl-C to stop)"
exec .venv/bin/python manage.py runserver 127.0.0.1:8000
