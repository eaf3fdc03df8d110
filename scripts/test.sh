#!/usr/bin/env bash
# Sets up a virtualenv and runs the whole test suite:
#   1. everything on SQLite and an in-process cache (the demo's defaults),
#      including the browser tests when chromium is installed;
#   2. the scale-out tests, and again the shared-state and flood tests,
#      against real Redis and PostgreSQL servers, which this script starts on
#      free loopback ports when they are installed;
#   3. the scale-out tests again on Redis Sentinel (a master, a replica, three
#      sentinels) and on a Redis Cluster (three masters).
#
#   bash scripts/test.sh                 # Python 3 on PATH (3.11: Django 5.2 LTS)
#   PYTHON=python3.13 bash scripts/test.sh   # 3.12+: Django 6.x
#   bash scripts/test.sh -k closed       # extra arguments go to pytest
#
# FORMGUARD_REQUIRE_SERVICES=1 (set by CI) turns "redis/postgres/chromium not
# installed, skipped" into a failure.
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/venv.sh
echo "== $("$PY" --version), Django $("$PY" -c 'import django; print(django.get_version())')"

source scripts/services.sh
start_services

export PYTHONDONTWRITEBYTECODE=1
status=0

echo "== formguard tests on SQLite + the embedded store"
"$PY" -m pytest -m "not services" "$@" || status=$?

# The integrations' test sites run with settings of their own (their apps and URLs):
# a Wagtail form page (tests/wagtail_site) and a Django REST framework API (tests/drf_site).
for site in wagtail_site:wagtail:Wagtail drf_site:rest_framework:DRF; do
    IFS=: read -r dir module name <<<"$site"
    if "$PY" -c "import $module" 2>/dev/null; then
        echo "== formguard on the $name test site (tests/$dir)"
        "$PY" -m pytest --ds "tests.$dir.settings" "tests/$dir" "$@" || status=$?
    else
        echo "== $name tests skipped: $module is not installed (pip install -r requirements.txt)"
        [ "${FORMGUARD_REQUIRE_SERVICES:-0}" = 1 ] && status=1
    fi
done

echo "== ruff"
"$PY" -m ruff check . && "$PY" -m ruff format --check . || status=1

echo "== docs (mkdocs, warnings are errors)"
"$PY" -m mkdocs build --strict --quiet --site-dir "$(mktemp -d)" || status=1

if [ -n "${FORMGUARD_TEST_REDIS_URL:-}" ] && [ -n "${FORMGUARD_TEST_PG_PORT:-}" ]; then
    echo "== formguard scale-out and shared-state tests on PostgreSQL + Redis"
    FORMGUARD_REDIS_URL="$FORMGUARD_TEST_REDIS_URL" \
    FORMGUARD_PG_NAME=formguard FORMGUARD_PG_HOST=127.0.0.1 FORMGUARD_PG_PORT="$FORMGUARD_TEST_PG_PORT" \
    FORMGUARD_PG_USER=postgres \
        "$PY" -m pytest -m "services or state" "$@" || { rc=$?; [ "$rc" = 5 ] || status=$rc; }
    for topology in sentinel cluster; do
        url_var="FORMGUARD_TEST_${topology^^}_URL"
        if [ -z "${!url_var:-}" ]; then
            echo "!! Redis $topology did not start" >&2
            [ "${FORMGUARD_REQUIRE_SERVICES:-0}" = 1 ] && status=1
            continue
        fi
        echo "== formguard scale-out tests on Redis $topology + PostgreSQL"
        FORMGUARD_REDIS_URL="${!url_var}" \
        FORMGUARD_PG_NAME=formguard FORMGUARD_PG_HOST=127.0.0.1 FORMGUARD_PG_PORT="$FORMGUARD_TEST_PG_PORT" \
        FORMGUARD_PG_USER=postgres \
            "$PY" -m pytest tests/test_scale_out.py "$@" || { rc=$?; [ "$rc" = 5 ] || status=$rc; }
    done
elif [ "${FORMGUARD_REQUIRE_SERVICES:-0}" = 1 ]; then
    echo "!! Redis or PostgreSQL is not installed, and FORMGUARD_REQUIRE_SERVICES=1" >&2
    status=1
else
    echo "== scale-out tests skipped: install redis-server and postgresql to run them"
fi

exit "$status"
