#!/usr/bin/env bash
# Start or stop every Baylink service that exists (a services/<name>/__main__.py),
# each as a background process with its log under .local/logs/.
#
#   deploy/services.sh start|stop|status
#
# A service announces its addresses in .local/run/<name>.json once it serves.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

RUN=.local/run
LOGS=.local/logs
PY=.venv/bin/python
mkdir -p "$RUN" "$LOGS"

services() {
    local main
    for main in services/*/__main__.py; do
        [ -e "$main" ] && basename "$(dirname "$main")"
    done
}

running() { [ -f "$RUN/$1.pid" ] && kill -0 "$(cat "$RUN/$1.pid")" 2>/dev/null; }

start() {
    local name=$1
    if running "$name"; then
        echo "$name: already running (pid $(cat "$RUN/$name.pid"))"
        return
    fi
    rm -f "$RUN/$name.json"
    nohup "$PY" -m "services.$name" >>"$LOGS/$name.log" 2>&1 &
    echo $! >"$RUN/$name.pid"
    for _ in $(seq 1 150); do
        [ -s "$RUN/$name.json" ] && break
        running "$name" || { echo "$name: exited at start-up; see $LOGS/$name.log" >&2; tail -n 20 "$LOGS/$name.log" >&2; exit 1; }
        sleep 0.2
    done
    [ -s "$RUN/$name.json" ] || { echo "$name: not serving after 30 s; see $LOGS/$name.log" >&2; exit 1; }
    echo "$name: $(cat "$RUN/$name.json")"
}

stop() {
    local name=$1 pid
    running "$name" || { rm -f "$RUN/$name.pid"; return; }
    pid=$(cat "$RUN/$name.pid")
    kill -TERM "$pid"
    for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
    rm -f "$RUN/$name.pid" "$RUN/$name.json"
    echo "$name: stopped"
}

case "${1:-}" in
    start)
        names=$(services)
        [ -n "$names" ] || echo "no services yet (each arrives as services/<name>/__main__.py)"
        for name in $names; do start "$name"; done
        echo "kafka: 127.0.0.1:${BAYLINK_KAFKA_PORT:-9092} (topics: .venv/bin/baylink topics)"
        ;;
    stop) for name in $(services); do stop "$name"; done ;;
    status) for name in $(services); do running "$name" && echo "$name: up" || echo "$name: down"; done ;;
    *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
