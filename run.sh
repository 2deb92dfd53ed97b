#!/usr/bin/env bash
# Set-up and tasks for wellposed. Usage: ./run.sh demo | test | bench | census | lint
# Every task creates the virtual environment at .venv (if missing) and installs what it needs.
set -euo pipefail
cd "$(dirname "$0")"
PY="${PYTHON:-python3}"
VENV=.venv

ensure_venv() {
  local extras="$1" stamp="$VENV/.installed-$1"
  if [ ! -x "$VENV/bin/python" ]; then
    "$PY" -m venv "$VENV"
  fi
  if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    "$VENV/bin/python" -m pip install --quiet -e ".[$extras]"
    touch "$stamp"
  fi
}

task="${1:-help}"
shift || true
case "$task" in
  demo)
    ensure_venv test
    exec "$VENV/bin/python" -m wellposed.demo_main "$@"
    ;;
  test)
    ensure_venv test
    exec "$VENV/bin/python" -m pytest -q -n 2 -m "not slow" "$@"
    ;;
  test-all)
    ensure_venv test
    exec "$VENV/bin/python" -m pytest -q -n 2 "$@"
    ;;
  lint)
    ensure_venv test
    "$VENV/bin/ruff" check wellposed solvers tests benchmarks
    "$VENV/bin/mypy" wellposed solvers
    ;;
  *)
    echo "usage: ./run.sh demo | test | test-all | lint" >&2
    exit 2
    ;;
esac
