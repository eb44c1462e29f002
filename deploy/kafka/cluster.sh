#!/usr/bin/env bash
# A local three-node Apache Kafka cluster (KRaft, every node broker + controller, a 3-voter
# quorum) with TLS, SASL/SCRAM-SHA-512 and ACLs, from the jars deploy/kafka/kafka.sh resolves.
#
#   deploy/kafka/cluster.sh start|stop|status|leaders|clean
#   deploy/kafka/cluster.sh kill N | start-node N       kill -9 node N / start it again
#   deploy/kafka/cluster.sh client-env SERVICE          the BAYLINK_KAFKA_* exports of a principal
#   deploy/kafka/cluster.sh rotate-password SERVICE     a new SCRAM password for a principal
#
# Node N: client SASL_SSL 127.0.0.1:1939N, inter-broker SASL_SSL 1959N (user admin), controller
# mutual TLS 1949N. SERVICE: identity registry payments gateway flows (or gateway-flows) ops admin.
# `leaders` prints "TOPIC PARTITION LEADER_NODE_ID ISR" per partition (ISR comma-separated).
#
# Environment:
#   BAYLINK_KAFKA_CLUSTER_HOME       state dir, default <repo>/.local/kafka-cluster
#   BAYLINK_KAFKA_LIBS               broker jars, default <repo>/.local/kafka/libs
#   BAYLINK_KAFKA_CLUSTER_HEAP_OPTS  heap per node, default "-Xms192m -Xmx512m"
#   BAYLINK_KAFKA_START_TIMEOUT      seconds `start` waits for all nodes and a leader, default 120
#   BAYLINK_KAFKA_STOP_TIMEOUT       seconds `stop` waits for the nodes to exit, default 45
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)

CLUSTER_HOME=${BAYLINK_KAFKA_CLUSTER_HOME:-$REPO/.local/kafka-cluster}
LIBS=${BAYLINK_KAFKA_LIBS:-$REPO/.local/kafka/libs}
HEAP_OPTS=${BAYLINK_KAFKA_CLUSTER_HEAP_OPTS:--Xms192m -Xmx512m}
START_TIMEOUT=${BAYLINK_KAFKA_START_TIMEOUT:-120}
STOP_TIMEOUT=${BAYLINK_KAFKA_STOP_TIMEOUT:-45}
PY=${BAYLINK_PYTHON:-$REPO/.venv/bin/python}
LOG_PREFIX=cluster.sh

# shellcheck source=deploy/kafka/lib.sh
. "$HERE/lib.sh"

NODES=(1 2 3)
CLIENT_BASE=19390
CONTROLLER_BASE=19490
INTERNAL_BASE=19590
PKI_DIR=$CLUSTER_HOME/pki
SECRETS=$CLUSTER_HOME/secrets
CLUSTER_ID_FILE=$CLUSTER_HOME/cluster.id
MECHANISM=SCRAM-SHA-512
# Every SCRAM user, made at format time: the brokers' own, the operators', one per service.
USERS=(admin baylink-ops baylink-identity baylink-registry baylink-payments baylink-gateway baylink-flows)
BOOTSTRAP=127.0.0.1:$((CLIENT_BASE + 1)),127.0.0.1:$((CLIENT_BASE + 2)),127.0.0.1:$((CLIENT_BASE + 3))
OPS_CONFIG=$SECRETS/baylink-ops.properties

node_home() { echo "$CLUSTER_HOME/node-$1"; }
node_config() { echo "$(node_home "$1")/server.properties"; }
node_pid_file() { echo "$(node_home "$1")/kafka.pid"; }
node_pid() { broker_pid_of "$(node_pid_file "$1")" "$(node_config "$1")"; }

check_node() {
    case ${1:-} in 1|2|3) ;; *) die "node must be 1, 2 or 3, not '${1:-}'" ;; esac
}

# The Kafka user of a Baylink principal name.
user_of() {
    case $1 in
        identity|registry|payments|gateway|flows|ops) echo "baylink-$1" ;;
        gateway-flows) echo baylink-flows ;;
        admin) echo admin ;;
        *) die "unknown principal '$1' (identity registry payments gateway flows gateway-flows ops admin)" ;;
    esac
}

# 32 letters and digits: the password goes into JAAS strings and --add-scram as is.
new_password() {
    local chars
    chars=$(LC_ALL=C tr -dc 'A-Za-z0-9' < <(head -c 1024 /dev/urandom))
    [ ${#chars} -ge 32 ] || die "could not read enough random bytes"
    printf '%s' "${chars:0:32}"
}

password_file() { echo "$SECRETS/$1.password"; }
password_of() {
    local f
    f=$(password_file "$1")
    [ -s "$f" ] || die "no password for $1 in $f; run '$0 start' first"
    cat "$f"
}

# Passwords and the operators' tool config, made once, readable by this user only.
ensure_secrets() {
    mkdir -p "$SECRETS"
    chmod 700 "$SECRETS"
    local user f
    for user in "${USERS[@]}"; do
        f=$(password_file "$user")
        [ -s "$f" ] && continue
        (umask 077 && new_password >"$f.tmp" && mv "$f.tmp" "$f")
    done
    (
        umask 077
        cat >"$OPS_CONFIG.tmp" <<EOF
security.protocol=SASL_SSL
sasl.mechanism=$MECHANISM
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="baylink-ops" password="$(password_of baylink-ops)";
ssl.truststore.type=PEM
ssl.truststore.location=$PKI_DIR/ca.crt
EOF
        mv "$OPS_CONFIG.tmp" "$OPS_CONFIG"
    )
}

ensure_pki() {
    [ -s "$PKI_DIR/ca.crt" ] && [ -s "$PKI_DIR/node-3.pem" ] && return 0
    [ -x "$PY" ] || die "$PY not found (run make setup): it makes the cluster's certificates"
    (cd "$REPO" && "$PY" -m baylink.runtime.pki.kafka_ca "$PKI_DIR" "${#NODES[@]}" >/dev/null) ||
        die "could not make the cluster's certificates in $PKI_DIR"
}

voters() {
    local n out=""
    for n in "${NODES[@]}"; do out+="${out:+,}$n@127.0.0.1:$((CONTROLLER_BASE + n))"; done
    echo "$out"
}

render_config() {
    local n=$1 home config
    home=$(node_home "$n")
    config=$(node_config "$n")
    mkdir -p "$home/logs"
    # The rendered file holds the admin password: readable by this user only.
    (
        umask 077
        sed -e "s|@NODE_ID@|$n|g" \
            -e "s|@VOTERS@|$(voters)|g" \
            -e "s|@CLIENT_PORT@|$((CLIENT_BASE + n))|g" \
            -e "s|@INTERNAL_PORT@|$((INTERNAL_BASE + n))|g" \
            -e "s|@CONTROLLER_PORT@|$((CONTROLLER_BASE + n))|g" \
            -e "s|@ADMIN_PASSWORD@|$(password_of admin)|g" \
            -e "s|@PKI_DIR@|$PKI_DIR|g" \
            -e "s|@DATA_DIR@|$home/data|g" \
            "$HERE/cluster.properties" >"$config.tmp"
        mv "$config.tmp" "$config"
    )
}

formatted() { [ -f "$(node_home "$1")/data/meta.properties" ]; }

# Every node's storage, formatted once with the same cluster id, the static quorum and every
# SCRAM user (KIP-900: the credentials are in the bootstrap metadata, so the inter-broker
# listener can authenticate before any controller is up).
format_nodes() {
    need_java
    fetch_libs
    ensure_pki
    ensure_secrets
    if [ ! -s "$CLUSTER_ID_FILE" ]; then
        run_tool kafka.tools.StorageTool random-uuid >"$CLUSTER_ID_FILE.tmp"
        mv "$CLUSTER_ID_FILE.tmp" "$CLUSTER_ID_FILE"
    fi
    local n user scram=()
    for user in "${USERS[@]}"; do
        scram+=(--add-scram "$MECHANISM=[name=$user,password=$(password_of "$user")]")
    done
    for n in "${NODES[@]}"; do
        render_config "$n"
        formatted "$n" && continue
        log "formatting node $n (cluster id $(cat "$CLUSTER_ID_FILE"))"
        run_tool kafka.tools.StorageTool format --cluster-id "$(cat "$CLUSTER_ID_FILE")" \
            --config "$(node_config "$n")" "${scram[@]}" >/dev/null ||
            die "kafka.tools.StorageTool format failed for node $n"
    done
}

# Node ids that serve client metadata (registered, not fenced), from one tool run.
live_brokers() {
    local n open=0
    for n in "${NODES[@]}"; do port_taken $((CLIENT_BASE + n)) && open=1; done
    [ "$open" = 1 ] || return 0
    timeout 40 java "${TOOL_JAVA_OPTS[@]}" -cp "$LIBS/*" org.apache.kafka.tools.BrokerApiVersionsCommand \
        --bootstrap-server "$BOOTSTRAP" --command-config "$OPS_CONFIG" 2>/dev/null |
        sed -n 's/^127\.0\.0\.1:[0-9]* (id: \([0-9]*\) .*-> ($/\1/p' | sort -u | xargs || true
}

quorum_leader() {
    timeout 40 java "${TOOL_JAVA_OPTS[@]}" -cp "$LIBS/*" org.apache.kafka.tools.MetadataQuorumCommand \
        --bootstrap-server "$BOOTSTRAP" --command-config "$OPS_CONFIG" describe --status 2>/dev/null |
        sed -n 's/^LeaderId:[[:space:]]*\([0-9]*\).*/\1/p'
}

# Wait until every node in $@ serves metadata and the quorum has a leader.
wait_nodes() {
    local deadline=$((SECONDS + START_TIMEOUT)) n pid live leader missing
    while :; do
        for n in "$@"; do
            pid=$(node_pid "$n" || true)
            if [ -z "$pid" ]; then
                log "node $n exited during start-up"
                log_tail_of "$(node_home "$n")/logs"
                exit 1
            fi
        done
        live=" $(live_brokers) "
        missing=""
        for n in "$@"; do [[ $live == *" $n "* ]] || missing+=" $n"; done
        if [ -z "$missing" ]; then
            leader=$(quorum_leader || true)
            if [ -n "$leader" ]; then
                echo "kafka cluster up at $BOOTSTRAP (brokers $(xargs <<<"$live"), quorum leader $leader)"
                return 0
            fi
        fi
        if [ "$SECONDS" -ge "$deadline" ]; then
            log "nodes$missing not serving (or no quorum leader) within ${START_TIMEOUT}s"
            for n in $missing; do log_tail_of "$(node_home "$n")/logs"; done
            exit 1
        fi
        sleep 1
    done
}

# Start node $1 unless it runs; no waiting.
launch_node() {
    local n=$1 pid port
    pid=$(node_pid "$n" || true)
    if [ -n "$pid" ]; then
        echo "$pid" >"$(node_pid_file "$n")"
        return 0
    fi
    for port in $((CLIENT_BASE + n)) $((INTERNAL_BASE + n)) $((CONTROLLER_BASE + n)); do
        port_taken "$port" && die "port $port of node $n is already taken by another process"
    done
    pid=$(launch_broker "$(node_home "$n")" "$(node_config "$n")" "$HEAP_OPTS" "$(node_pid_file "$n")")
    log "node $n started (pid $pid, client port $((CLIENT_BASE + n)))"
}

cmd_start() {
    local started=$SECONDS n
    format_nodes
    # All three at once: a controller alone cannot elect a leader, so none would finish starting.
    for n in "${NODES[@]}"; do launch_node "$n"; done
    wait_nodes "${NODES[@]}"
    log "started in $((SECONDS - started)) s"
}

cmd_start_node() {
    check_node "$1"
    format_nodes
    launch_node "$1"
    wait_nodes "$1"
}

cmd_kill() {
    check_node "$1"
    local pid
    pid=$(node_pid "$1" || true)
    [ -n "$pid" ] || { log "node $1 is not running"; return 0; }
    kill -KILL "$pid"
    while alive "$pid"; do sleep 0.1; done
    echo "node $1: killed (-9, pid $pid)"
}

cmd_stop() {
    local n pid pids=() left lone_since=""
    for n in "${NODES[@]}"; do
        pid=$(node_pid "$n" || true)
        [ -n "$pid" ] && pids+=("$pid") && kill -TERM "$pid" 2>/dev/null
    done
    # SIGTERM to all at once: each broker's controlled shutdown needs a quorum, so stopping one
    # after another would leave the last waiting for controllers already gone. The last node
    # standing may still wait for that: it gets 10 s once it is alone, then SIGKILL.
    local deadline=$((SECONDS + STOP_TIMEOUT))
    while [ "$SECONDS" -lt "$deadline" ]; do
        left=()
        for pid in "${pids[@]}"; do alive "$pid" && left+=("$pid"); done
        [ ${#left[@]} -gt 0 ] || break
        if [ ${#left[@]} -eq 1 ] && [ ${#pids[@]} -gt 1 ]; then
            lone_since=${lone_since:-$SECONDS}
            [ $((SECONDS - lone_since)) -lt 10 ] || break
        fi
        sleep 0.5
    done
    for pid in "${pids[@]}"; do alive "$pid" && stop_broker "$pid" 0; done
    for n in "${NODES[@]}"; do rm -f "$(node_pid_file "$n")"; done
    log "stopped ${#pids[@]} node(s)"
}

cmd_status() {
    local n pid rc=0 live leader
    [ -s "$OPS_CONFIG" ] || { echo "kafka cluster down (never started)"; return 1; }
    live=" $(live_brokers) "
    for n in "${NODES[@]}"; do
        pid=$(node_pid "$n" || true)
        if [ -n "$pid" ] && [[ $live == *" $n "* ]]; then
            echo "node $n: up (pid $pid) at 127.0.0.1:$((CLIENT_BASE + n))"
        elif [ -n "$pid" ]; then
            echo "node $n: running (pid $pid), not serving"; rc=1
        else
            echo "node $n: down"; rc=1
        fi
    done
    leader=$(quorum_leader || true)
    echo "quorum leader: ${leader:-none}"
    [ -n "$leader" ] || rc=1
    return "$rc"
}

cmd_leaders() {
    [ -s "$OPS_CONFIG" ] || die "the cluster was never started"
    # TopicCommand prints "Topic: T<TAB>Partition: P<TAB>Leader: L<TAB>Replicas: ...<TAB>Isr: I ...".
    run_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$BOOTSTRAP" \
        --command-config "$OPS_CONFIG" --describe "$@" |
        awk -F'\t' '/Partition: / {
            t = p = l = i = ""
            for (k = 1; k <= NF; k++) {
                split($k, kv, ": ")
                if (kv[1] ~ /Topic$/) t = kv[2]; else if (kv[1] == "Partition") p = kv[2]
                else if (kv[1] == "Leader") l = kv[2]; else if (kv[1] == "Isr") i = kv[2]
            }
            if (l == "none" || l == "") l = -1
            print t, p, l, (i == "" ? "-" : i)
        }'
}

cmd_client_env() {
    local user
    user=$(user_of "${1:-}")
    [ -s "$PKI_DIR/ca.crt" ] || die "no cluster CA in $PKI_DIR; run '$0 start' first"
    cat <<EOF
export BAYLINK_KAFKA_BOOTSTRAP_SERVERS=$BOOTSTRAP
export BAYLINK_KAFKA_REPLICATION_FACTOR=3
export BAYLINK_KAFKA_SECURITY_PROTOCOL=SASL_SSL
export BAYLINK_KAFKA_SASL_MECHANISM=$MECHANISM
export BAYLINK_KAFKA_SASL_USERNAME=$user
export BAYLINK_KAFKA_SASL_PASSWORD=$(password_of "$user")
export BAYLINK_KAFKA_SSL_CAFILE=$PKI_DIR/ca.crt
EOF
}

# A new password for a service principal: set on the cluster first, then stored (processes
# started afterwards use it; running ones keep their connections until they reconnect).
cmd_rotate_password() {
    local user new f
    user=$(user_of "${1:-}")
    [ "$user" != admin ] || die "admin is the inter-broker user: rotating it needs a rolling restart with new configs (see deploy/README.md)"
    f=$(password_file "$user")
    new=$(new_password)
    run_tool org.apache.kafka.tools.ConfigCommand --bootstrap-server "$BOOTSTRAP" \
        --command-config "$OPS_CONFIG" --alter --entity-type users --entity-name "$user" \
        --add-config "$MECHANISM=[password=$new]" >/dev/null || die "the cluster refused the new password of $user"
    (umask 077 && printf '%s' "$new" >"$f.tmp" && mv "$f.tmp" "$f")
    [ "$user" != baylink-ops ] || ensure_secrets
    echo "$user: password rotated; restart its processes with the new '$0 client-env' values"
}

cmd_clean() {
    cmd_stop
    local n
    for n in "${NODES[@]}"; do rm -rf "$(node_home "$n")"; done
    rm -f "$CLUSTER_ID_FILE"
    log "removed the nodes' data (certificates and passwords kept in $PKI_DIR and $SECRETS)"
}

usage() {
    sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

[ $# -ge 1 ] || usage
sub=$1; shift
case "$sub" in
    start)           cmd_start ;;
    stop)            cmd_stop ;;
    status)          cmd_status ;;
    kill)            cmd_kill "${1:-}" ;;
    start-node)      cmd_start_node "${1:-}" ;;
    leaders)         cmd_leaders "$@" ;;
    client-env)      cmd_client_env "${1:-}" ;;
    rotate-password) cmd_rotate_password "${1:-}" ;;
    clean)           cmd_clean ;;
    *)               usage ;;
esac
