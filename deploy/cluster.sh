#!/usr/bin/env bash
# Baylink past one machine, rehearsed on this one: PostgreSQL with a database per service,
# Kafka, and BAYLINK_CLUSTER_REPLICAS (default 2) replicas of every service and of the flow
# worker. Internal clients name every replica of the service they call and spread their calls
# over the ones that are up (gRPC round_robin; baylink/runtime/grpc/client.py).
#
#   deploy/cluster.sh up|down|status|ports
#   deploy/cluster.sh kill NAME      kill -9 one process (the chaos suite's fault)
#   deploy/cluster.sh start NAME     start one process again (after kill or stop)
#   deploy/cluster.sh stop NAME      SIGTERM, then wait for a graceful drain
#
# NAME is SERVICE-N (identity-1, registry-2, payments-1, gateway-2, gateway-flows-1 …).
# State lives under .local/cluster/ (run/, logs/, pg/). The single-machine `make up`
# (deploy/services.sh) is separate; both use the test PKI's responder on 127.0.0.1:8399 and
# Baylink's TSA on 127.0.0.1:8398, so run one of the two at a time.
#
# Kafka: BAYLINK_CLUSTER_KAFKA=cluster (default) is the three-node cluster of
# deploy/kafka/cluster.sh; =dev uses the single-node dev broker (deploy/kafka/kafka.sh),
# for a quick look on a small machine. On the cluster every service replica connects as its own
# SCRAM principal (deploy/kafka/cluster.sh client-env SERVICE), and `baylink topics apply` runs as
# baylink-ops (replication 3, min ISR 2, and the ACLs of deploy/kafka/topics.toml).
#
# A second cluster beside a running one: BAYLINK_CLUSTER_HOME (another state dir),
# BAYLINK_CLUSTER_PORT_OFFSET (added to every service port) and BAYLINK_CLUSTER_PG_PORT.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

HOME_DIR=${BAYLINK_CLUSTER_HOME:-.local/cluster}
RUN=$HOME_DIR/run
LOGS=$HOME_DIR/logs
PY=.venv/bin/python
REPLICAS=${BAYLINK_CLUSTER_REPLICAS:-2}
# A second cluster beside the first on one machine: another home and every service port shifted.
OFFSET=${BAYLINK_CLUSTER_PORT_OFFSET:-0}
KAFKA_MODE=${BAYLINK_CLUSTER_KAFKA:-cluster}
mkdir -p "$RUN" "$LOGS"

# shellcheck source=deploy/lib.sh
. deploy/lib.sh

# The cluster's own PostgreSQL: durable (fsync on), so a crash loses only what was not committed.
export BAYLINK_PG_HOME=$PWD/$HOME_DIR/pg BAYLINK_PG_PORT=${BAYLINK_CLUSTER_PG_PORT:-25433} BAYLINK_PG_DURABLE=1
PG=deploy/postgres/pg.sh

SERVICES=(identity registry payments gateway)
WORKERS=(gateway-flows)

# Ports: replica N of a service listens on BASE+N. Every fixed port here lies below Linux's
# ephemeral range (32768-60999 by default): a port in it can be held by any outgoing connection's
# local end at the moment a replica binds, which once kept gateway-2 from starting.
grpc_base() {
    case $1 in identity) echo $((21100 + OFFSET)) ;; registry) echo $((21200 + OFFSET)) ;;
        payments) echo $((21300 + OFFSET)) ;; gateway) echo $((21400 + OFFSET)) ;; esac
}
metrics_base() {
    case $1 in identity) echo $((9210 + OFFSET)) ;; registry) echo $((9220 + OFFSET)) ;;
        payments) echo $((9230 + OFFSET)) ;; gateway) echo $((9240 + OFFSET)) ;; esac
}
KIOSK_BASE=$((18440 + OFFSET))
PARTNER_BASE=$((20440 + OFFSET))
CONSOLE_BASE=$((18090 + OFFSET))

# Every replica of a service, as one gRPC target.
target_of() {
    local base addresses="" n
    base=$(grpc_base "$1")
    for n in $(seq 1 "$REPLICAS"); do addresses+="${addresses:+,}127.0.0.1:$((base + n))"; done
    echo "ipv4:$addresses"
}

env_prefix() { echo "BAYLINK_$(echo "$1" | tr 'a-z-' 'A-Z_')"; }

kafka_up() {
    case $KAFKA_MODE in
        cluster)
            bash deploy/kafka/cluster.sh start
            ;;
        dev)  # the dev broker may run already (`make up`, `make test`, another checkout's start)
            bash deploy/kafka/kafka.sh status >/dev/null 2>&1 || bash deploy/kafka/kafka.sh start
            ;;
        *) echo "BAYLINK_CLUSTER_KAFKA must be cluster or dev, not $KAFKA_MODE" >&2; exit 2 ;;
    esac
    # Topics (replication 3 on the cluster) and, where the broker has an authorizer, the ACLs of
    # deploy/kafka/topics.toml, as the operators' principal.
    # shellcheck disable=SC2046
    env $(kafka_env ops) .venv/bin/baylink topics apply
}

# The Kafka client settings of one principal (a service, the flow worker, or ops for the CLIs), as
# NAME=value words: on the cluster its own SCRAM user (deploy/kafka/cluster.sh client-env).
kafka_env() {
    case $KAFKA_MODE in
        cluster) bash deploy/kafka/cluster.sh client-env "$1" | sed 's/^export //' ;;
        dev) echo "BAYLINK_KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:${BAYLINK_KAFKA_PORT:-9092} BAYLINK_KAFKA_REPLICATION_FACTOR=1" ;;
    esac
}

# The environment of replica N of a service: its ports, database, run dir, Kafka principal, and
# the targets of the services it calls.
replica_env() {
    local service=$1 n=$2 prefix
    prefix=$(env_prefix "$service")
    case $service in
        gateway-flows)
            echo "BAYLINK_FLOWS_PAYMENTS_TARGET=$(target_of payments)"
            # A table directory of its own per worker (a rocksdb store locks its directory).
            echo "BAYLINK_FLOWS_DATADIR=$PWD/$HOME_DIR/faust/$service-$n"
            ;;
        *)
            echo "${prefix}_RUN_DIR=$PWD/$RUN/$service-$n"
            echo "${prefix}_GRPC_PORT=$(($(grpc_base "$service") + n))"
            echo "${prefix}_METRICS_PORT=$(($(metrics_base "$service") + n))"
            echo "${prefix}_DATABASE_URL=$(bash $PG url "baylink_$service")"
            ;;
    esac
    case $service in
        registry) echo "BAYLINK_REGISTRY_IDENTITY_TARGET=$(target_of identity)" ;;
        gateway)
            echo "BAYLINK_GATEWAY_IDENTITY_TARGET=$(target_of identity)"
            echo "BAYLINK_GATEWAY_REGISTRY_TARGET=$(target_of registry)"
            echo "BAYLINK_GATEWAY_PAYMENTS_TARGET=$(target_of payments)"
            echo "BAYLINK_GATEWAY_KIOSK_PORT=$((KIOSK_BASE + n))"
            echo "BAYLINK_GATEWAY_PARTNER_PORT=$((PARTNER_BASE + n))"
            echo "BAYLINK_GATEWAY_CONSOLE_PORT=$((CONSOLE_BASE + n))"
            ;;
    esac
    kafka_env "$service"
}

start_replica() {
    local name=$1 service=${1%-*} n=${1##*-} announce
    if running "$name"; then
        echo "$name: already running (pid $(cat "$RUN/$name.pid"))"
        return
    fi
    local module="services.$service"
    [ "$service" = gateway-flows ] && module=services.gateway.flows
    announce=$RUN/$service-$n/$service.json
    rm -f "$announce"
    mkdir -p "$RUN/$service-$n"
    # shellcheck disable=SC2046  # NAME=value words without spaces
    nohup env $(credentials_of "$service") $(replica_env "$service" "$n") "$PY" -m "$module" \
        >>"$LOGS/$name.log" 2>&1 &
    echo $! >"$RUN/$name.pid"
    if [ "$service" = gateway-flows ]; then  # a worker announces nothing: alive after 2 s is enough
        sleep 2
        running "$name" || { echo "$name: exited at start-up; see $LOGS/$name.log" >&2; exit 1; }
        echo "$name: running"
        return
    fi
    for _ in $(seq 1 300); do
        [ -s "$announce" ] && break
        running "$name" || { echo "$name: exited at start-up; see $LOGS/$name.log" >&2; tail -n 20 "$LOGS/$name.log" >&2; exit 1; }
        sleep 0.2
    done
    [ -s "$announce" ] || { echo "$name: not serving after 60 s; see $LOGS/$name.log" >&2; exit 1; }
    echo "$name: $(cat "$announce")"
}

replicas_of() { local n; for n in $(seq 1 "$REPLICAS"); do echo "$1-$n"; done; }

all_processes() {
    local s
    for s in "${SERVICES[@]}" "${WORKERS[@]}"; do replicas_of "$s"; done
}

cmd_up() {
    console_users
    console_cookies
    test_pki_trust
    internal_pki
    bash $PG start
    local s
    for s in "${SERVICES[@]}"; do bash $PG createdb "baylink_$s" >/dev/null; done
    kafka_up
    if ! running testpki-responder && (exec 3<>/dev/tcp/127.0.0.1/8399) 2>/dev/null; then
        echo "testpki-responder: 127.0.0.1:8399 already served (make up's, or another cluster's); using it"
    else
        start_support testpki-responder 8399 "-m devtools.testpki serve $TEST_PKI --port 8399"
    fi
    local_tsa
    if ! running tsa && (exec 3<>"/dev/tcp/127.0.0.1/$TSA_PORT") 2>/dev/null; then
        echo "tsa: 127.0.0.1:$TSA_PORT already served (make up's, or another cluster's); using it"
    else
        start_support tsa "$TSA_PORT" "-m services.identity.tsa"
    fi
    # One replica of each first (it migrates its database), then the others.
    for s in "${SERVICES[@]}"; do start_replica "$s-1"; done
    for s in "${SERVICES[@]}"; do
        for name in $(replicas_of "$s" | tail -n +2); do start_replica "$name"; done
    done
    for s in "${WORKERS[@]}"; do
        for name in $(replicas_of "$s"); do start_replica "$name"; done
    done
    # shellcheck disable=SC2046
    env $(kafka_env ops) BAYLINK_PAYMENTS_GRPC_PORT=$(($(grpc_base payments) + 1)) bash deploy/seed-local.sh
    echo "cluster up: $REPLICAS replicas of ${SERVICES[*]} ${WORKERS[*]}; deploy/cluster.sh ports lists the addresses"
}

cmd_down() {
    local name
    for name in $(all_processes | tac); do stop "$name"; done
    stop tsa
    stop testpki-responder
    case $KAFKA_MODE in
        cluster) bash deploy/kafka/cluster.sh stop ;;
        dev) ;;  # the dev broker belongs to `make up`
    esac
    bash $PG stop
}

cmd_status() {
    local name
    if running testpki-responder; then
        echo "testpki-responder: up (pid $(cat "$RUN/testpki-responder.pid"))"
    elif (exec 3<>/dev/tcp/127.0.0.1/8399) 2>/dev/null; then
        echo "testpki-responder: up (not ours: 127.0.0.1:8399 is served by make up or another cluster)"
    else
        echo "testpki-responder: down"
    fi
    for name in tsa $(all_processes); do
        if running "$name"; then echo "$name: up (pid $(cat "$RUN/$name.pid"))"; else echo "$name: down"; fi
    done
    bash $PG status || true
    [ "$KAFKA_MODE" = cluster ] && { bash deploy/kafka/cluster.sh status || true; }
}

cmd_ports() {
    local s n
    for s in "${SERVICES[@]}"; do echo "$s: $(target_of "$s")"; done
    for n in $(seq 1 "$REPLICAS"); do
        echo "gateway-$n: kiosk https://127.0.0.1:$((KIOSK_BASE + n)) partner 127.0.0.1:$((PARTNER_BASE + n))" \
            "console http://127.0.0.1:$((CONSOLE_BASE + n))"
    done
}

known() { all_processes | grep -x "$1" >/dev/null ||  # not -q: an early exit would SIGPIPE the list under pipefail
    { echo "unknown process $1; one of: $(all_processes | xargs)" >&2; exit 2; }; }

case "${1:-}" in
    up) cmd_up ;;
    down) cmd_down ;;
    status) cmd_status ;;
    ports) cmd_ports ;;
    kill)
        known "${2:-}"
        running "$2" && kill -KILL "$(cat "$RUN/$2.pid")" && echo "$2: killed (-9)"
        ;;
    start)
        known "${2:-}"
        console_users; console_cookies; test_pki_trust; internal_pki
        start_replica "$2"
        ;;
    stop) known "${2:-}"; stop "$2" ;;
    *) echo "usage: $0 up|down|status|ports|kill NAME|start NAME|stop NAME" >&2; exit 2 ;;
esac
