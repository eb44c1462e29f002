#!/usr/bin/env bash
# `make bench`: run every benchmark against the real broker and PostgreSQL (started here if they
# are not running, and stopped again afterwards). Each prints its own figures.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

KAFKA=deploy/kafka/kafka.sh
PG=deploy/postgres/pg.sh  # the PostgreSQL lines (payments, registry store) run against it
started=()
cleanup() {
    local rc=$?
    for ((i=${#started[@]}-1; i>=0; i--)); do bash "${started[i]}" stop || true; done
    exit "$rc"
}
trap cleanup EXIT
for service in "$KAFKA" "$PG"; do
    if ! bash "$service" status >/dev/null 2>&1; then
        bash "$service" start
        started+=("$service")
    fi
done
export BAYLINK_TEST_POSTGRES_URL="$(bash "$PG" url)"
.venv/bin/baylink topics apply >/dev/null
# The benchmarks start services in-process and call them with plaintext channels: internal gRPC
# here is plaintext by the explicit setting it requires (docs/security/internal.md).
export BAYLINK_INSECURE_INTERNAL=1

for bench in benchmarks/*_bench.py; do
    module=$(basename "$bench" .py)
    echo "== $module"
    .venv/bin/python -m "benchmarks.$module" 2> >(grep -v -E '^(Unable|Got error)' >&2)
done
