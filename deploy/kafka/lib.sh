# Shared by deploy/kafka/kafka.sh (one dev broker) and deploy/kafka/cluster.sh (three nodes):
# the broker jars, short-lived Kafka tools, and starting/finding/stopping one broker JVM.
# Sourced, never run. The caller sets HERE (this directory), LIBS (the jars) and LOG_PREFIX.

POM=$HERE/pom.xml
STAMP=$LIBS/.pom.sha256

# Short-lived tools: small heap, fast JIT start-up, warnings only.
TOOL_JAVA_OPTS=(-Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1
    -Dlog4j2.configurationFile="$HERE/tools-log4j2.yaml")

log() { printf '%s: %s\n' "$LOG_PREFIX" "$*" >&2; }
die() { log "error: $*"; exit 1; }

need_java() {
    command -v java >/dev/null 2>&1 || die "java not found (Java 17+ is needed: apt-get install -y openjdk-17-jre-headless)"
}

# Run a class from the broker's jars (kafka-tools included).
run_tool() {
    local class=$1; shift
    java "${TOOL_JAVA_OPTS[@]}" -cp "$LIBS/*" "$class" "$@"
}

pom_sum() { sha256sum "$POM" | cut -d' ' -f1; }

libs_current() {
    [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$(pom_sum)" ] &&
        compgen -G "$LIBS/kafka_2.13-*.jar" >/dev/null
}

fetch_libs() {
    if libs_current; then
        return 0
    fi
    command -v mvn >/dev/null 2>&1 || die "mvn not found (apt-get install -y maven)"
    log "resolving broker jars with Maven into $LIBS"
    # Copy into a fresh directory and swap it in, so a version change in the
    # pom never leaves jars of two Kafka releases side by side.
    local tmp=$LIBS.tmp.$$
    mkdir -p "$(dirname "$LIBS")"
    rm -rf "$tmp"
    # Maven's output goes to a file (Debian's Maven prints stray ANSI codes
    # even with -q -B) and is shown only on failure.
    if ! mvn -q -B -f "$POM" dependency:copy-dependencies \
        -DoutputDirectory="$tmp" -DincludeScope=runtime >"$tmp.log" 2>&1; then
        cat "$tmp.log" >&2
        rm -rf "$tmp" "$tmp.log"
        die "Maven could not resolve the jars in $POM"
    fi
    rm -f "$tmp.log"
    pom_sum >"$tmp/.pom.sha256"
    rm -rf "$LIBS"
    mv "$tmp" "$LIBS"
}

# True while $1 runs. A zombie (exited, not yet reaped by its new parent)
# counts as gone.
alive() {
    kill -0 "$1" 2>/dev/null || return 1
    local state
    state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null || echo Z)
    [ "$state" != Z ]
}

# Pid of the broker started with config $2 (pid file $1), if it runs. Checks the
# command line so a stale pid file pointing at a recycled pid is never trusted.
broker_pid_of() {
    local pid_file=$1 config=$2 pid=""
    if [ -f "$pid_file" ]; then
        pid=$(cat "$pid_file")
        if [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] &&
            tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF "kafka.Kafka $config"; then
            echo "$pid"
            return 0
        fi
    fi
    # No (valid) pid file: look for a broker started with this very config.
    pid=$(pgrep -f -x "java .* kafka\.Kafka $config" | head -n1 || true)
    [ -n "$pid" ] && echo "$pid"
}

# Print the last lines of a broker's logs (in log dir $1).
log_tail_of() {
    local f
    for f in "$1/kafka.out" "$1/server.log"; do
        [ -s "$f" ] || continue
        echo "---- last lines of $f ----" >&2
        tail -n 15 "$f" >&2
    done
}

# Start kafka.Kafka with config $2 in home $1 (logs in $1/logs), heap flags $3,
# detached; writes the pid to $4 and prints it.
launch_broker() {
    local home=$1 config=$2 heap=$3 pid_file=$4 pid
    mkdir -p "$home/logs"
    # exec keeps $! the java pid; setsid detaches it from the caller's
    # process group and terminal. No -Xlog:gc: GC logging stays off.
    # shellcheck disable=SC2086  # heap is a list of JVM flags
    (
        cd "$home"
        exec setsid java $heap -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
            -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent \
            -Djava.awt.headless=true \
            -Dkafka.logs.dir="$home/logs" \
            -Dlog4j2.configurationFile="$HERE/log4j2.yaml" \
            -cp "$LIBS/*" kafka.Kafka "$config"
    ) </dev/null >>"$home/logs/kafka.out" 2>&1 &
    pid=$!
    echo "$pid" >"$pid_file"
    echo "$pid"
}

# SIGTERM broker $1, wait up to $2 s for a controlled shutdown, then SIGKILL.
stop_broker() {
    local pid=$1 timeout=$2 deadline
    kill -TERM "$pid" 2>/dev/null || true
    deadline=$((SECONDS + timeout))
    while alive "$pid" && [ "$SECONDS" -lt "$deadline" ]; do
        sleep 0.5
    done
    if alive "$pid"; then
        log "no controlled shutdown of pid $pid within ${timeout}s; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        deadline=$((SECONDS + 10))
        while alive "$pid" && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.2; done
        ! alive "$pid" || die "broker pid $pid survived SIGKILL"
    fi
}

port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
