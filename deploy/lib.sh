# Shared by deploy/services.sh (one process per service) and deploy/cluster.sh (replicas):
# what a local Baylink needs before its services start, and starting/stopping background
# processes by pid file. Sourced, never run; the caller sets RUN, LOGS and PY and cds to the repo.

# The test PKI (TEST MATERIAL ONLY; a development tool, not part of any service).
TEST_PKI=devtools/data/testpki

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

# Baylink's time-stamping authority (services/identity/tsa) on 127.0.0.1:8398, beside the test PKI's
# responder: the registry stamps every signature it stores. Locally it signs as the test PKI's hk-tsa
# (TEST MATERIAL ONLY; the HK trust list's TSA/QTST service), unless BAYLINK_TSA_CERT_FILE etc. name
# your own; serials are counted in .local/tsa/serial (one TSA process at a time).
TSA_PORT=8398
local_tsa() {
    local certs=$PWD/$TEST_PKI/certs
    mkdir -p .local/tsa
    export BAYLINK_TSA_PORT=$TSA_PORT
    export BAYLINK_TSA_CERT_FILE=${BAYLINK_TSA_CERT_FILE:-$certs/hk-tsa.pem}
    export BAYLINK_TSA_KEY_FILE=${BAYLINK_TSA_KEY_FILE:-$PWD/$TEST_PKI/keys/hk-tsa.key.pem}
    export BAYLINK_TSA_CHAIN_FILE=${BAYLINK_TSA_CHAIN_FILE:-$certs/hk-ca.pem}
    export BAYLINK_TSA_SERIAL_FILE=${BAYLINK_TSA_SERIAL_FILE:-$PWD/.local/tsa/serial}
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
