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

# The test PKI (TEST MATERIAL ONLY; a development tool, not part of any service).
TEST_PKI=devtools/data/testpki

# Local stand-ins for systems outside Baylink, started before the services:
# the test PKI's CRL/OCSP responder (the URLs in the test certificates point at it).
SUPPORT_NAMES=(testpki-responder)
SUPPORT_PORTS=(8399)
SUPPORT_COMMANDS=("-m devtools.testpki serve $TEST_PKI --port 8399")
# Workers started after the services they talk to: the flow worker, and the kiosk agent of the one
# local kiosk (the device software: the web app on this machine's loopback, its API calls forwarded
# to the gateway's kiosk door over mutual TLS with the kiosk's device certificate).
WORKER_NAMES=(gateway-flows kiosk-agent)
WORKER_COMMANDS=("-m services.gateway.flows" "-m services.gateway.kiosk.agent")

# The local kiosk: its device certificate from the kiosk CA, issued once (docs/security/kiosk.md).
LOCAL_KIOSK=LOCAL-01
local_kiosk() {
    local pki=${BAYLINK_GATEWAY_PKI_DIR:-.local/pki}
    case $pki in /*) ;; *) pki=$PWD/$pki ;; esac
    [ -s "$pki/kiosk/devices/$LOCAL_KIOSK.crt" ] || .venv/bin/baylink pki issue-kiosk "$LOCAL_KIOSK" --dir "$pki" >/dev/null
    export BAYLINK_KIOSK_AGENT_KIOSK_ID=$LOCAL_KIOSK BAYLINK_KIOSK_AGENT_PKI_DIR=$pki
}

running() { [ -f "$RUN/$1.pid" ] && kill -0 "$(cat "$RUN/$1.pid")" 2>/dev/null; }

# Local operator-console users: made once with random passwords (kept in .local/, mode 0600),
# unless BAYLINK_GATEWAY_CONSOLE_USERS_FILE already names a file of your own.
CONSOLE_USERS=.local/console-users.toml
CONSOLE_PASSWORDS=.local/console-passwords
console_users() {
    if [ -n "${BAYLINK_GATEWAY_CONSOLE_USERS_FILE:-}" ]; then return; fi
    if [ ! -s "$CONSOLE_USERS" ]; then
        (
            umask 077
            : >"$CONSOLE_PASSWORDS"
            : >"$CONSOLE_USERS.tmp"
            for entry in operator:operator viewer:viewer; do
                local name=${entry%%:*} role=${entry##*:} password hash
                password=$("$PY" -c 'import secrets; print(secrets.token_urlsafe(12))')
                hash=$(printf '%s\n' "$password" | .venv/bin/baylink console hash-password --password-stdin)
                printf '[[user]]\nname = "%s"\nrole = "%s"\npassword_hash = "%s"\n\n' "$name" "$role" "$hash" \
                    >>"$CONSOLE_USERS.tmp"
                echo "$name $password" >>"$CONSOLE_PASSWORDS"
            done
            mv "$CONSOLE_USERS.tmp" "$CONSOLE_USERS"
        )
    fi
    export BAYLINK_GATEWAY_CONSOLE_USERS_FILE=$PWD/$CONSOLE_USERS
}

# The local console is plain http://127.0.0.1:8090, where a browser would not send back a Secure cookie;
# anywhere else the console sits behind TLS and this stays unset (cookies are Secure by default).
console_cookies() {
    export BAYLINK_GATEWAY_CONSOLE_INSECURE_COOKIES=${BAYLINK_GATEWAY_CONSOLE_INSECURE_COOKIES:-1}
}

# The local identity service trusts the test PKI's lists (its users hold test-PKI certificates),
# unless BAYLINK_IDENTITY_TRUST_LISTS_DIR / _TRUSTED_LIST_SIGNERS already name lists of your own.
test_pki_trust() {
    local certs=$PWD/$TEST_PKI/certs signers
    signers=$(printf '{"HK": ["%s"], "MO": ["%s"], "GD": ["%s"]}' \
        "$certs/tl-signer-hk.pem" "$certs/tl-signer-mo.pem" "$certs/tl-signer-gd.pem")
    export BAYLINK_IDENTITY_TRUST_LISTS_DIR=${BAYLINK_IDENTITY_TRUST_LISTS_DIR:-$PWD/$TEST_PKI/trustlists}
    export BAYLINK_IDENTITY_TRUSTED_LIST_SIGNERS=${BAYLINK_IDENTITY_TRUSTED_LIST_SIGNERS:-$signers}
}

# Internal gRPC is mutual TLS: `baylink pki init` (idempotent) makes the internal CA and one
# certificate per service and one for the operators' CLIs; each process is pointed at its own.
# Plaintext only if BAYLINK_INSECURE_INTERNAL=1 is set by you; this script never sets it.
INTERNAL_PKI=$PWD/.local/pki/internal
internal_pki() {
    .venv/bin/baylink pki init --internal-dir "$INTERNAL_PKI" >/dev/null
    export BAYLINK_INTERNAL_PKI_DIR=$INTERNAL_PKI
    if [ "${BAYLINK_INSECURE_INTERNAL:-}" = 1 ]; then
        echo "warning: BAYLINK_INSECURE_INTERNAL=1 is set: internal gRPC is plaintext and unauthenticated" >&2
    fi
}

# The environment that names a process's own certificate and key (identity: its service name).
credentials_of() {
    echo "BAYLINK_INTERNAL_CERT_FILE=$INTERNAL_PKI/$1.crt" "BAYLINK_INTERNAL_KEY_FILE=$INTERNAL_PKI/$1.key"
}

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

start_support() {
    local name=$1 port=$2 args=$3
    if running "$name"; then
        echo "$name: already running (pid $(cat "$RUN/$name.pid"))"
        return
    fi
    # shellcheck disable=SC2086  # args is a fixed word list above
    nohup "$PY" $args >>"$LOGS/$name.log" 2>&1 &
    echo $! >"$RUN/$name.pid"
    for _ in $(seq 1 100); do
        running "$name" || break
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            sleep 0.3  # the port may be another process's: ours must still be alive
            running "$name" && { echo "$name: http://127.0.0.1:$port"; return; }
            break
        fi
        sleep 0.2
    done
    echo "$name: not listening on $port; see $LOGS/$name.log" >&2
    exit 1
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
        console_users
        console_cookies
        test_pki_trust
        internal_pki
        local_kiosk
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
