# Creates (once) and fills the project's virtualenv for $PYTHON (default
# python3), in .venv/pyXY, and sets PY to its interpreter. Sourced by
# scripts/demo.sh and scripts/test.sh.
PYTHON="${PYTHON:-python3}"
TAG="$("$PYTHON" -c 'import sys; print("py%d%d" % sys.version_info[:2])')"
VENV="${VENV:-.venv/$TAG}"
if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
PY="$VENV/bin/python"
"$PY" -m pip install -q --disable-pip-version-check -r requirements.txt
