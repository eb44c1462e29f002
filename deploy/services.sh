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

# shellcheck source=deploy/lib.sh
. deploy/lib.sh

# Local stand-ins for systems outside Baylink, started before the services:
# the test PKI's CRL/OCSP responder (the URLs in the test certificates point at it), and Baylink's
# time-stamping authority (deploy/lib.sh local_tsa), which the registry asks for every signature it stores.
SUPPORT_NAMES=(testpki-responder tsa)
SUPPORT_PORTS=(8399 "$TSA_PORT")
SUPPORT_COMMANDS=("-m devtools.testpki serve $TEST_PKI --port 8399" "-m services.identity.tsa")
# Workers started after the services they talk to: the flow worker, and the kiosk agent of the one
# local kiosk (the device software: the web app on this machine's loopback, its API calls forwarded
# to the gateway's kiosk door over mutual TLS with the kiosk's device certificate).
WORKER_NAMES=(gateway-flows kiosk-agent)
WORKER_COMMANDS=("-m services.gateway.flows" "-m services.gateway.kiosk.agent")

start() {
    local name=$1
    if running "$name"; then
        echo "$name: already running (pid $(cat "$RUN/$name.pid"))"
        return
    fi
    rm -f "$RUN/$name.json"
    # shellcheck disable=SC2046  # two NAME=path words, paths without spaces under the repository
    nohup env $(credentials_of "$name") "$PY" -m "services.$name" >>"$LOGS/$name.log" 2>&1 &
    echo $! >"$RUN/$name.pid"
    for _ in $(seq 1 150); do
        [ -s "$RUN/$name.json" ] && break
        running "$name" || { echo "$name: exited at start-up; see $LOGS/$name.log" >&2; tail -n 20 "$LOGS/$name.log" >&2; exit 1; }
        sleep 0.2
    done
    [ -s "$RUN/$name.json" ] || { echo "$name: not serving after 30 s; see $LOGS/$name.log" >&2; exit 1; }
    echo "$name: $(cat "$RUN/$name.json")"
    if [ "$name" = gateway ]; then  # the console's address is announced a moment after the first line
        for _ in $(seq 1 25); do grep -q '"console"' "$RUN/$name.json" 2>/dev/null && break; sleep 0.2; done
        echo "kiosk app: http://127.0.0.1:${BAYLINK_KIOSK_AGENT_PORT:-8080}/kiosk/ (the agent of kiosk $LOCAL_KIOSK;" \
            "the kiosk door $(sed -n 's/.*"kiosk": *"\([^"]*\)".*/\1/p' "$RUN/$name.json") takes device certificates only)"
        echo "operator console: $(sed -n 's/.*"console": *"\([^"]*\)".*/\1/p' "$RUN/$name.json")"
        if [ -s "$CONSOLE_PASSWORDS" ]; then
            echo "  console users (name password): $(paste -sd ';' "$CONSOLE_PASSWORDS") — from $CONSOLE_PASSWORDS"
        fi
    fi
}

start_worker() {
    local name=$1 args=$2
    if running "$name"; then
        echo "$name: already running (pid $(cat "$RUN/$name.pid"))"
        return
    fi
    # shellcheck disable=SC2086,SC2046  # args is a fixed word list above; two NAME=path words
    nohup env $(credentials_of "$name") "$PY" $args >>"$LOGS/$name.log" 2>&1 &
    echo $! >"$RUN/$name.pid"
    sleep 2
    running "$name" || { echo "$name: exited at start-up; see $LOGS/$name.log" >&2; exit 1; }
    echo "$name: running (log $LOGS/$name.log)"
}

case "${1:-}" in
    start)
        console_users
        console_cookies
        test_pki_trust
        internal_pki
        local_kiosk
        local_tsa
        for i in "${!SUPPORT_NAMES[@]}"; do
            start_support "${SUPPORT_NAMES[i]}" "${SUPPORT_PORTS[i]}" "${SUPPORT_COMMANDS[i]}"
        done
        names=$(services)
        [ -n "$names" ] || echo "no services yet (each arrives as services/<name>/__main__.py)"
        for name in $names; do start "$name"; done
        for i in "${!WORKER_NAMES[@]}"; do start_worker "${WORKER_NAMES[i]}" "${WORKER_COMMANDS[i]}"; done
        echo "kafka: 127.0.0.1:${BAYLINK_KAFKA_PORT:-9092} (topics: .venv/bin/baylink topics)"
        ;;
    stop) for name in "${WORKER_NAMES[@]}" $(services) "${SUPPORT_NAMES[@]}"; do stop "$name"; done ;;
    status)
        for name in "${SUPPORT_NAMES[@]}" $(services) "${WORKER_NAMES[@]}"; do
            if running "$name"; then echo "$name: up"; else echo "$name: down"; fi
        done
        ;;
    *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
