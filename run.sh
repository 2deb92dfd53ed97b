#!/usr/bin/env bash
# Set-up and tasks for wellposed. Usage: ./run.sh demo | test | test-all | lint
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
    echo "setting up $VENV (extras: $extras); pip log in $VENV/pip.log" >&2
    if ! { "$VENV/bin/python" -m pip install --upgrade pip && "$VENV/bin/python" -m pip install -e ".[$extras]"; } \
        > "$VENV/pip.log" 2>&1; then
      tail -n 40 "$VENV/pip.log" >&2
      echo "error: installing the package into $VENV failed (full log: $VENV/pip.log)" >&2
      exit 1
    fi
    touch "$stamp"
  fi
}

task="${1:-help}"
shift || true
case "$task" in
  demo)
    ensure_venv test
    W="$VENV/bin/wellposed"
    PYV="$VENV/bin/python"
    mkdir -p runs
    echo "== 1. The four seed instances: well-posed (closed)? tractable? and why"
    for spec in full:2,2,1 lu:2 full:3,3,2 lu:3; do "$W" analyze "$spec"; echo; done
    echo "== 2. Classify the whole case catalogue (resumable batch; output runs/cases.jsonl)"
    rm -f runs/cases.jsonl
    "$W" batch cases --out runs/cases.jsonl --closedness --quiet
    echo
    echo "== 3. Optimal FSMF on a tractable support (Monarch, N = 16): certified global optimum"
    "$PYV" -c "import numpy as np; np.save('runs/A16.npy', np.random.default_rng(0).standard_normal((16, 16)))"
    "$W" solve monarch:4 runs/A16.npy
    echo
    if "$W" factor --help >/dev/null 2>&1; then
      echo "== 4. Butterfly factorization of the 1024×1024 Hadamard matrix, then 8-bit quantization"
      "$PYV" -c "import numpy as np, scipy.linalg as s; np.save('runs/hadamard1024.npy', s.hadamard(1024).astype(float))"
      "$W" factor runs/hadamard1024.npy --chain butterfly:1024 --out runs/hadamard1024-factors.npz
      "$W" quantize runs/hadamard1024-factors.npz --bits 8
      echo
    fi
    echo "== 5. Why LU is ill-posed: the lesson, with figures in runs/lu-demo"
    "$W" demo lu --out runs/lu-demo
    ;;
  test)
    ensure_venv test
    # two xdist workers on two cores: single-threaded BLAS avoids oversubscription (tiny L-BFGS vectors)
    export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}" OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
    exec "$VENV/bin/python" -m pytest -q -n 2 -m "not slow" "$@"
    ;;
  test-all)
    ensure_venv test
    export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}" OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
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
