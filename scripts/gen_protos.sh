#!/usr/bin/env bash
# Compile protos/ into Python: messages (*_pb2.py), gRPC stubs (*_pb2_grpc.py)
# and their type stubs (*.pyi), under OUTDIR/baylink/<package>/v1/.
#
#   scripts/gen_protos.sh [OUTDIR]   generate (OUTDIR defaults to the repo root)
#   scripts/gen_protos.sh --check    exit 1 if the committed code is stale
#
# PYTHON selects the interpreter (default .venv/bin/python); protoc comes from
# its grpc_tools and the mypy plugins from its scripts directory, so the output
# depends only on the versions pinned in that environment.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-.venv/bin/python}"
# Resolve PYTHON and OUTDIR against the caller's directory before moving to ROOT.
case "$PYTHON" in
  */*) [[ "$PYTHON" = /* ]] || PYTHON="$ROOT/$PYTHON" ;;
  *) PYTHON="$(command -v "$PYTHON")" ;;
esac

generate() {
  local out="$1"
  cd "$ROOT"
  local include bindir
  include="$("$PYTHON" -c 'import grpc_tools, os; print(os.path.join(os.path.dirname(grpc_tools.__file__), "_proto"))')"
  bindir="$("$PYTHON" -c 'import sysconfig; print(sysconfig.get_path("scripts"))')"
  for plugin in protoc-gen-mypy protoc-gen-mypy_grpc; do
    [[ -x "$bindir/$plugin" ]] || { echo "gen_protos: $bindir/$plugin not found (pip install mypy-protobuf)" >&2; exit 2; }
  done

  # Sorted, relative paths: protoc embeds them in the output, so the same
  # tree always gives the same bytes.
  local -a files
  mapfile -t files < <(cd protos && find baylink -name '*.proto' | LC_ALL=C sort)
  local -a packages
  mapfile -t packages < <(printf '%s\n' "${files[@]}" | cut -d/ -f2 | LC_ALL=C sort -u)

  # Remove what an earlier run generated, so a deleted .proto leaves nothing behind.
  local pkg
  for pkg in "${packages[@]}"; do
    [[ -d "$out/baylink/$pkg" ]] || continue
    find "$out/baylink/$pkg" -type f \( -name '*_pb2.py' -o -name '*_pb2.pyi' \
      -o -name '*_pb2_grpc.py' -o -name '*_pb2_grpc.pyi' \) -delete
  done
  mkdir -p "$out"

  (cd protos && "$PYTHON" -m grpc_tools.protoc -I . -I "$include" \
    --plugin=protoc-gen-mypy="$bindir/protoc-gen-mypy" \
    --plugin=protoc-gen-mypy_grpc="$bindir/protoc-gen-mypy_grpc" \
    --python_out="$out" --grpc_python_out="$out" \
    --mypy_out=quiet:"$out" --mypy_grpc_out=quiet:"$out" \
    "${files[@]}")

  # gRPC code only for files that declare a service; for the others protoc
  # writes a version check and nothing else, which is just clutter.
  local f base
  for f in "${files[@]}"; do
    grep -q '^service ' "protos/$f" && continue
    base="$out/${f%.proto}"
    rm -f "${base}_pb2_grpc.py" "${base}_pb2_grpc.pyi"
  done

  # Package markers for every generated directory below baylink/, but never
  # baylink/__init__.py itself: that package is hand-written.
  local dir
  for f in "${files[@]}"; do
    dir="$(dirname "$f")"
    while [[ "$dir" == baylink/* ]]; do
      [[ -f "$out/$dir/__init__.py" ]] || : > "$out/$dir/__init__.py"
      dir="$(dirname "$dir")"
    done
  done
}

check() {
  local status=0 f
  # Global, not local: the EXIT trap runs after this function has returned.
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  generate "$tmp"
  local -a stale=()
  # Every freshly generated file must exist in the tree with the same bytes.
  while IFS= read -r f; do
    if [[ ! -f "$ROOT/$f" ]]; then stale+=("$f (missing)")
    elif ! cmp -s "$tmp/$f" "$ROOT/$f"; then stale+=("$f (differs)")
    fi
  done < <(cd "$tmp" && find baylink -type f | LC_ALL=C sort)
  # And no generated file may linger for a .proto that no longer exists.
  while IFS= read -r f; do
    [[ -f "$tmp/$f" ]] || stale+=("$f (no longer generated)")
  done < <(cd "$ROOT" && find baylink -path '*/__pycache__' -prune -o -type f \
           \( -name '*_pb2.py' -o -name '*_pb2.pyi' -o -name '*_pb2_grpc.py' -o -name '*_pb2_grpc.pyi' \) \
           -print | LC_ALL=C sort)
  if ((${#stale[@]})); then
    echo "gen_protos: generated code is stale; run scripts/gen_protos.sh and commit the result:" >&2
    printf '  %s\n' "${stale[@]}" >&2
    status=1
  else
    echo "gen_protos: generated code is up to date"
  fi
  return "$status"
}

if [[ "${1:-}" == "--check" ]]; then
  check
else
  out="${1:-$ROOT}"
  mkdir -p "$out"
  out="$(cd "$out" && pwd)"
  generate "$out"
fi
