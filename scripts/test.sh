#!/usr/bin/env bash
# `make test`: start what the tests need (Kafka, PostgreSQL) unless it already
# runs, apply the topic declaration, run pytest, and stop only what we started.
# `make unit` (`--unit`): the unit tests alone, with neither Kafka nor PostgreSQL.
# Other arguments go to pytest (e.g. `bash scripts/test.sh tests/unit -k hkid`).
# The three-node Kafka cluster's tests (marker kafka_cluster) run when BAYLINK_TEST_KAFKA_CLUSTER=1
# is set or the arguments name the marker (`-m kafka_cluster`, tests/integration/kafka_cluster);
# the cluster (deploy/kafka/cluster.sh) is then started too, and stopped if we started it.
# Both spread the tests over one worker per core (pytest-xdist; tests marked
# with one xdist_group share a worker) unless the arguments choose (`-n 0`
# runs them in this process).
# The chaos suite (tests/chaos, against deploy/cluster.sh) runs after the rest,
# in this process, as BAYLINK_CHAOS says: off (the default), short (the
# scenarios marked chaos_short) or all; `--chaos` runs the chaos suite alone
# (`make chaos`: BAYLINK_CHAOS=all).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

export BAYLINK_CHAOS=${BAYLINK_CHAOS:-off}
case $BAYLINK_CHAOS in
    off|short|all) ;;
    *) echo "BAYLINK_CHAOS must be off, short or all, not $BAYLINK_CHAOS" >&2; exit 2 ;;
esac
only_chaos=0
if [ "${1:-}" = --chaos ]; then
    shift
    only_chaos=1
    [ "$BAYLINK_CHAOS" = off ] && BAYLINK_CHAOS=all
fi

workers=(-n auto --dist loadgroup)
for arg in "$@"; do
    case $arg in -n|-n*|--numprocesses*) workers=() ;; esac
done

if [ "${1:-}" = --unit ]; then
    shift
    unset BAYLINK_TEST_POSTGRES_URL
    exec .venv/bin/python -m pytest "${workers[@]}" -m "not kafka and not postgres and not browser" tests/unit "$@"
fi

KAFKA=deploy/kafka/kafka.sh
CLUSTER=deploy/kafka/cluster.sh
PG=deploy/postgres/pg.sh
started=()

want_cluster=${BAYLINK_TEST_KAFKA_CLUSTER:-0}
for arg in "$@"; do
    case $arg in *"not kafka_cluster"*) ;; *kafka_cluster*) want_cluster=1; workers=(-n 0) ;; esac
done
# The cluster's tests run on their own, after the rest and in this one process (-n 0): one of them
# kills a node, which must not happen under the others. A -m of the caller's, later on the line, wins.
select=(-m "not kafka_cluster")

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
start_cluster() {  # not before it is needed: its three brokers would load the machine under the main run
    if ! bash "$CLUSTER" status >/dev/null 2>&1; then
        bash "$CLUSTER" start
        started+=("$CLUSTER")
    fi
}

export BAYLINK_TEST_POSTGRES_URL="$(bash "$PG" url)"
.venv/bin/baylink topics apply >/dev/null
chaos_args=()  # with --chaos, the other arguments go to the chaos run (e.g. -k payments)
if [ "$only_chaos" = 1 ]; then
    chaos_args=("$@")
else
    if [ "$want_cluster" = 1 ] && [ $# != 0 ]; then
        start_cluster  # the arguments may name the cluster's tests
    fi
    .venv/bin/python -m pytest "${workers[@]}" "${select[@]}" --ignore=tests/chaos "$@"
    if [ "$want_cluster" = 1 ] && [ $# = 0 ]; then
        start_cluster
        .venv/bin/python -m pytest -n 0 -p no:cacheprovider -m kafka_cluster tests/integration/kafka_cluster
    fi
fi
case $BAYLINK_CHAOS in
    short) .venv/bin/python -m pytest -n 0 -s -p no:cacheprovider -m chaos_short tests/chaos ;;
    all) .venv/bin/python -m pytest -n 0 -s -p no:cacheprovider tests/chaos "${chaos_args[@]}" ;;
    off) [ "$only_chaos" = 0 ] || echo "BAYLINK_CHAOS=off: no chaos scenarios run" ;;
esac
