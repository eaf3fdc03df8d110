#!/usr/bin/env bash
# Sets up a virtualenv, the demo database and an admin login, and runs the
# demo site at http://127.0.0.1:8000/contact/ (admin: /admin/).
#   bash scripts/demo.sh             # port 8000
#   PORT=8080 bash scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/venv.sh
"$PY" manage.py migrate --noinput -v 0
"$PY" manage.py demo_admin
exec "$PY" manage.py runserver "127.0.0.1:${PORT:-8000}"
