#!/usr/bin/env bash
# `make test`: start what the tests need (Kafka, PostgreSQL) unless it already
# runs, apply the topic declaration, run pytest, and stop only what we started.
# Arguments go to pytest (e.g. `bash scripts/test.sh tests/unit -k hkid`).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

KAFKA=deploy/kafka/kafka.sh
PG=deploy/postgres/pg.sh
started=()

cleanup() {
    local rc=$?
    for ((i=${#started[@]}-1; i>=0; i--)); do
        bash "${started[i]}" stop || true
    done
    exit "$rc"
}
trap cleanup EXIT

if ! bash "$KAFKA" status >/dev/null 2>&1; then
    bash "$KAFKA" start
    started+=("$KAFKA")
fi
if ! bash "$PG" status >/dev/null 2>&1; then
    bash "$PG" start
    started+=("$PG")
fi

export BAYLINK_TEST_POSTGRES_URL="$(bash "$PG" url)"
.venv/bin/baylink topics apply >/dev/null
.venv/bin/python -m pytest "$@"
