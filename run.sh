#!/usr/bin/env bash
# One entry point for everything. Run from anywhere; paths are relative to your current folder.
#
#   ./run.sh [--images DIR] [--out DIR] [--eps X] [--metric M] ...   set up (first time) + notebook run
#   ./run.sh setup      create .venv, install pinned packages, place the offline model weights
#   ./run.sh cli ...    the `cluster` CLI (same pipeline, no notebook)
#   ./run.sh app        the Streamlit review app on http://127.0.0.1:8501
#   ./run.sh test       the test suite
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"
export FACE_GROUPING_DEEPFACE_HOME="${FACE_GROUPING_DEEPFACE_HOME:-$ROOT/.deepface_home}"
export TF_CPP_MIN_LOG_LEVEL=3

# pip, minus the notices about local index folders this machine's pip config names
pip_quiet() {
  "$PY" -m pip -q "$@" 2>&1 | { grep -v "is ignored: it is neither a file nor a directory" || true; }
  return "${PIPESTATUS[0]}"
}

setup() {
  local stamp="$VENV/.installed-$(cat "$ROOT/requirements.txt" "$ROOT/requirements-nodeps.txt" | sha256sum | cut -c1-16)"
  if [ ! -f "$stamp" ]; then
    if [ ! -x "$PY" ]; then
      echo "==> creating $VENV"
      python3 -m venv "$VENV"
    fi
    echo "==> installing pinned packages (first time: a few minutes)"
    pip_quiet install --upgrade pip
    pip_quiet install -r "$ROOT/requirements.txt"
    pip_quiet install --no-deps -r "$ROOT/requirements-nodeps.txt"
    pip_quiet install --no-deps -e "$ROOT"
    "$PY" -m ipykernel install --sys-prefix --name python3 >/dev/null
    rm -f "$VENV"/.installed-*
    touch "$stamp"
  fi
  "$PY" -c "from pipeline.weights import main; main()"
}

cmd="${1:-notebook}"
case "$cmd" in
  setup) setup ;;
  cli) shift; setup >/dev/null; exec "$VENV/bin/cluster" "$@" ;;
  app) shift; setup >/dev/null
       exec "$VENV/bin/streamlit" run "$ROOT/app.py" --server.headless true --server.address 127.0.0.1 \
         --browser.gatherUsageStats false --client.toolbarMode minimal --server.port "${PORT:-8501}" "$@" ;;
  test) shift; setup >/dev/null; cd "$ROOT"; exec "$PY" -m pytest "$@" ;;
  *)
    [ "$cmd" = notebook ] && shift || true
    setup >/dev/null
    images="faces"; out="artifacts"; params=()
    while [ $# -gt 0 ]; do
      case "$1" in
        --images) images="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        --min-samples|--min_samples) params+=(-p min_samples "$2"); shift 2 ;;
        --*) key="${1#--}"; params+=(-p "${key//-/_}" "$2"); shift 2 ;;
        *) echo "run.sh: unexpected argument $1 (see the top of run.sh)" >&2; exit 2 ;;
      esac
    done
    [ -d "$images" ] || { echo "run.sh: photo folder '$images' not found (use --images DIR)" >&2; exit 1; }
    images="$(cd "$images" && pwd)"; mkdir -p "$out"; out="$(cd "$out" && pwd)"
    echo "==> running notebooks/analysis.ipynb on $images -> $out"
    "$VENV/bin/papermill" "$ROOT/notebooks/analysis.ipynb" "$out/analysis.ipynb" -k python3 --cwd "$ROOT/notebooks" \
      -p images "$images" -p out "$out" "${params[@]}"
    echo "==> artifacts in $out (executed notebook: $out/analysis.ipynb)"
    ;;
esac
