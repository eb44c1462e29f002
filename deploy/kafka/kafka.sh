#!/usr/bin/env bash
# Single-node KRaft Apache Kafka broker for development and tests, no Docker.
#
#   deploy/kafka/kafka.sh fetch|format|start|stop|status|wait|perf N SIZE TOPIC|clean
#
# Environment:
#   BAYLINK_KAFKA_HOME             state dir (config, data, logs, pid); default <repo>/.local/kafka
#   BAYLINK_KAFKA_LIBS             broker jars; default <repo>/.local/kafka/libs (shared by all homes)
#   BAYLINK_KAFKA_PORT             client listener port, default 9092
#   BAYLINK_KAFKA_CONTROLLER_PORT  KRaft controller port, default 9093
#   BAYLINK_KAFKA_HEAP_OPTS        broker heap, default "-Xms256m -Xmx768m"
#   BAYLINK_KAFKA_START_TIMEOUT    seconds `start`/`wait` wait for the broker, default 90
#   BAYLINK_KAFKA_STOP_TIMEOUT     seconds `stop` waits for a controlled shutdown, default 60
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)

KAFKA_HOME_DIR=${BAYLINK_KAFKA_HOME:-$REPO/.local/kafka}
LIBS=${BAYLINK_KAFKA_LIBS:-$REPO/.local/kafka/libs}
PORT=${BAYLINK_KAFKA_PORT:-9092}
CONTROLLER_PORT=${BAYLINK_KAFKA_CONTROLLER_PORT:-9093}
HEAP_OPTS=${BAYLINK_KAFKA_HEAP_OPTS:--Xms256m -Xmx768m}
START_TIMEOUT=${BAYLINK_KAFKA_START_TIMEOUT:-90}
STOP_TIMEOUT=${BAYLINK_KAFKA_STOP_TIMEOUT:-60}

HOST=127.0.0.1
BOOTSTRAP=$HOST:$PORT
DATA_DIR=$KAFKA_HOME_DIR/data
LOG_DIR=$KAFKA_HOME_DIR/logs
CONFIG=$KAFKA_HOME_DIR/server.properties
PID_FILE=$KAFKA_HOME_DIR/kafka.pid
CLUSTER_ID_FILE=$KAFKA_HOME_DIR/cluster.id
LOG_PREFIX=kafka.sh

# shellcheck source=deploy/kafka/lib.sh
. "$HERE/lib.sh"

cmd_fetch() { fetch_libs; }

# Render the template with this home's ports and data dir.
render_config() {
    mkdir -p "$KAFKA_HOME_DIR" "$LOG_DIR"
    sed -e "s|@KAFKA_PORT@|$PORT|g" \
        -e "s|@CONTROLLER_PORT@|$CONTROLLER_PORT|g" \
        -e "s|@DATA_DIR@|$DATA_DIR|g" \
        "$HERE/server.properties" >"$CONFIG.tmp"
    mv "$CONFIG.tmp" "$CONFIG"
}

formatted() { [ -f "$DATA_DIR/meta.properties" ]; }

cmd_format() {
    need_java
    cmd_fetch
    render_config
    if formatted; then
        # The standalone quorum records the controller endpoint at format
        # time; a broker restarted on another controller port cannot elect.
        local was
        was=$(cat "$DATA_DIR/.controller-port" 2>/dev/null || echo "$CONTROLLER_PORT")
        [ "$was" = "$CONTROLLER_PORT" ] ||
            die "$DATA_DIR was formatted for controller port $was, not $CONTROLLER_PORT; run '$0 clean' first"
        return 0
    fi
    if [ ! -s "$CLUSTER_ID_FILE" ]; then
        run_tool kafka.tools.StorageTool random-uuid >"$CLUSTER_ID_FILE.tmp"
        mv "$CLUSTER_ID_FILE.tmp" "$CLUSTER_ID_FILE"
    fi
    mkdir -p "$DATA_DIR"
    log "formatting $DATA_DIR (cluster id $(cat "$CLUSTER_ID_FILE"))"
    # --standalone: this node alone is the initial (dynamic) controller quorum.
    run_tool kafka.tools.StorageTool format --standalone \
        --cluster-id "$(cat "$CLUSTER_ID_FILE")" --config "$CONFIG" >/dev/null ||
        die "kafka.tools.StorageTool format failed"
    echo "$CONTROLLER_PORT" >"$DATA_DIR/.controller-port"
}

broker_pid() { broker_pid_of "$PID_FILE" "$CONFIG"; }

# True when a broker on $PORT serves metadata: BrokerApiVersionsCommand
# fetches cluster metadata, then asks each broker listed there for its API
# versions, and prints "<host>:<port> (id: N ...)" only on success.
answers() {
    (exec 3<>"/dev/tcp/$HOST/$PORT") 2>/dev/null || return 1
    local out
    out=$(timeout 30 java "${TOOL_JAVA_OPTS[@]}" -cp "$LIBS/*" \
        org.apache.kafka.tools.BrokerApiVersionsCommand \
        --bootstrap-server "$BOOTSTRAP" 2>/dev/null) || return 1
    grep -qF "$BOOTSTRAP (id: " <<<"$out"
}

log_tail() { log_tail_of "$LOG_DIR"; }

# Wait until the broker answers. $1 = pid to watch (optional).
wait_up() {
    local pid=${1:-} deadline=$((SECONDS + START_TIMEOUT))
    while :; do
        if answers; then
            echo "kafka up at $BOOTSTRAP"
            return 0
        fi
        if [ -n "$pid" ] && ! alive "$pid"; then
            rm -f "$PID_FILE"
            log "broker process $pid exited during start-up"
            log_tail
            exit 1
        fi
        if [ "$SECONDS" -ge "$deadline" ]; then
            log "broker at $BOOTSTRAP did not answer within ${START_TIMEOUT}s"
            log_tail
            exit 1
        fi
        sleep 1
    done
}

cmd_start() {
    need_java
    local pid
    pid=$(broker_pid || true)
    if [ -n "$pid" ]; then
        log "already running (pid $pid)"
        echo "$pid" >"$PID_FILE"
        wait_up "$pid"
        return 0
    fi
    if port_taken "$PORT"; then
        die "port $PORT is already taken by another process (another broker? set BAYLINK_KAFKA_PORT)"
    fi
    cmd_format
    log "starting broker (home $KAFKA_HOME_DIR, port $PORT, controller $CONTROLLER_PORT)"
    pid=$(launch_broker "$KAFKA_HOME_DIR" "$CONFIG" "$HEAP_OPTS" "$PID_FILE")
    wait_up "$pid"
}

cmd_stop() {
    local pid
    pid=$(broker_pid || true)
    if [ -z "$pid" ]; then
        rm -f "$PID_FILE"
        log "not running"
        return 0
    fi
    log "stopping broker (pid $pid)"
    stop_broker "$pid" "$STOP_TIMEOUT"
    rm -f "$PID_FILE"
    log "stopped"
}

cmd_status() {
    [ -d "$LIBS" ] || { echo "kafka down (no jars in $LIBS)"; exit 1; }
    if answers; then
        echo "kafka up at $BOOTSTRAP"
    else
        echo "kafka down at $BOOTSTRAP"
        exit 1
    fi
}

cmd_wait() {
    need_java
    [ -d "$LIBS" ] || die "no jars in $LIBS; run '$0 fetch' or '$0 start'"
    wait_up "$(broker_pid || true)"
}

cmd_perf() {
    [ $# -eq 3 ] || die "usage: $0 perf NUM_RECORDS RECORD_SIZE TOPIC"
    need_java
    local n=$1 size=$2 topic=$3 out
    # With auto.create.topics.enable=false the producer would block on every
    # record waiting for metadata of a missing topic: fail fast instead.
    run_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$BOOTSTRAP" \
        --describe --topic "$topic" >/dev/null 2>&1 ||
        die "topic '$topic' does not exist on $BOOTSTRAP (or the broker is down); create it first"
    out=$(mktemp)
    # Full progress output is kept in logs/perf.log; the summary is the last line.
    # Full JIT here (no TieredStopAtLevel): this is a measurement.
    # --producer-props is deprecated in 4.4 (--command-property) but works in
    # every release from 3.x on, so the pom's kafka.version can move freely.
    if ! java -Xmx512m -Dlog4j2.configurationFile="$HERE/tools-log4j2.yaml" -cp "$LIBS/*" \
        org.apache.kafka.tools.ProducerPerformance \
        --topic "$topic" --num-records "$n" --record-size "$size" --throughput -1 \
        --producer-props "bootstrap.servers=$BOOTSTRAP" acks=all enable.idempotence=true \
        >"$out" 2>&1; then
        cat "$out" >&2
        rm -f "$out"
        die "ProducerPerformance failed"
    fi
    mkdir -p "$LOG_DIR"
    cp "$out" "$LOG_DIR/perf.log"
    grep 'records sent' "$out" | tail -n 1
    rm -f "$out"
}

cmd_clean() {
    cmd_stop
    rm -rf "$DATA_DIR" "$CLUSTER_ID_FILE" "$CONFIG"
    log "removed $DATA_DIR (jars kept in $LIBS)"
}

usage() {
    sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

[ $# -ge 1 ] || usage
sub=$1; shift
case "$sub" in
    fetch)  need_java; cmd_fetch ;;
    format) cmd_format ;;
    start)  cmd_start ;;
    stop)   cmd_stop ;;
    status) cmd_status ;;
    wait)   cmd_wait ;;
    perf)   cmd_perf "$@" ;;
    clean)  cmd_clean ;;
    *)      usage ;;
esac
