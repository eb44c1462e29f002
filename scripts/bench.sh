#!/usr/bin/env bash
# `make bench`: run every benchmark against the real broker (started here if it
# is not running, and stopped again afterwards). Each prints its own figures.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

KAFKA=deploy/kafka/kafka.sh
started=0
cleanup() { local rc=$?; [ "$started" = 1 ] && bash "$KAFKA" stop; exit "$rc"; }
trap cleanup EXIT
if ! bash "$KAFKA" status >/dev/null 2>&1; then
    bash "$KAFKA" start
    started=1
fi
.venv/bin/baylink topics apply >/dev/null
# The benchmarks start services in-process and call them with plaintext channels: internal gRPC
# here is plaintext by the explicit setting it requires (docs/security/internal.md).
export BAYLINK_INSECURE_INTERNAL=1

for bench in benchmarks/*_bench.py; do
    module=$(basename "$bench" .py)
    echo "== $module"
    .venv/bin/python -m "benchmarks.$module" 2> >(grep -v -E '^(Unable|Got error)' >&2)
done
