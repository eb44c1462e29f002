#!/usr/bin/env bash
# Throwaway PostgreSQL cluster for tests, without a system service.
#
#   deploy/postgres/pg.sh start|stop|status|url|createdb NAME
#
# Environment:
#   BAYLINK_PG_HOME     cluster dir (data, socket, log); default <repo>/.local/pg
#   BAYLINK_PG_PORT     TCP port on 127.0.0.1; default 55432
#   BAYLINK_PG_BIN      PostgreSQL bin dir; default the newest /usr/lib/postgresql/*/bin
#   BAYLINK_PG_DURABLE  1: keep fsync and synchronous commit on (the local cluster of
#                       deploy/cluster.sh, whose chaos tests count what a crash loses);
#                       read when the cluster is first made
#
# Uses Debian's server binaries (apt-get install -y postgresql). Trust auth,
# loopback only, durability switched off unless BAYLINK_PG_DURABLE=1: test
# data only, never real data.
# Postgres refuses to run as root, so as root every server command runs as
# the `postgres` OS user (created when missing), which owns BAYLINK_PG_HOME.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)

PG_HOME=${BAYLINK_PG_HOME:-$REPO/.local/pg}
PORT=${BAYLINK_PG_PORT:-55432}
HOST=127.0.0.1
DB=baylink_test
DATA=$PG_HOME/data
SOCK_DIR=$PG_HOME/run
LOG=$PG_HOME/postgres.log
OS_USER=postgres

log() { printf 'pg.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

find_bin() {
    if [ -n "${BAYLINK_PG_BIN:-}" ]; then
        [ -x "$BAYLINK_PG_BIN/pg_ctl" ] || die "no pg_ctl in BAYLINK_PG_BIN=$BAYLINK_PG_BIN"
        echo "$BAYLINK_PG_BIN"
        return
    fi
    local dir
    dir=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
    if [ -z "$dir" ] || [ ! -x "$dir/pg_ctl" ]; then
        log "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin."
        log "Install them with: apt-get install -y postgresql"
        exit 1
    fi
    echo "$dir"
}

# Run a command as the cluster owner: `postgres` when we are root, else us.
as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        (cd "$PG_HOME" && runuser -u "$OS_USER" -- "$@")
    else
        (cd "$PG_HOME" && "$@")
    fi
}

prepare_home() {
    mkdir -p "$PG_HOME" "$SOCK_DIR"
    if [ "$(id -u)" -eq 0 ]; then
        if ! id -u "$OS_USER" >/dev/null 2>&1; then
            log "creating OS user $OS_USER"
            useradd --system --user-group --home-dir /var/lib/postgresql \
                --shell /bin/bash "$OS_USER"
        fi
        chown -R "$OS_USER:" "$PG_HOME"
        runuser -u "$OS_USER" -- test -w "$PG_HOME" ||
            die "user $OS_USER cannot write $PG_HOME (a parent directory is not searchable); set BAYLINK_PG_HOME elsewhere"
    fi
    chmod 700 "$PG_HOME"
    # Unix socket paths are limited to 107 bytes.
    [ ${#SOCK_DIR} -le 90 ] || die "BAYLINK_PG_HOME is too long for a unix socket path: $PG_HOME"
}

init_cluster() {
    [ -f "$DATA/PG_VERSION" ] && return 0
    log "initdb $DATA"
    as_owner "$BIN/initdb" -D "$DATA" -U postgres -E UTF8 --locale=C.UTF-8 \
        --auth=trust --no-instructions >"$PG_HOME/initdb.log" 2>&1 ||
        { cat "$PG_HOME/initdb.log" >&2; die "initdb failed"; }
    # Only the unix socket and loopback TCP, both trusted.
    cat >"$DATA/pg_hba.conf" <<'EOF'
# TYPE  DATABASE  USER  ADDRESS        METHOD
local   all       all                  trust
host    all       all   127.0.0.1/32   trust
EOF
    cat >>"$DATA/postgresql.conf" <<'EOF'

# --- deploy/postgres/pg.sh ---
listen_addresses = '127.0.0.1'
EOF
    if [ "${BAYLINK_PG_DURABLE:-0}" != 1 ]; then
        # Disposable test cluster: trade durability for speed.
        printf '%s\n' 'fsync = off' 'synchronous_commit = off' 'full_page_writes = off' >>"$DATA/postgresql.conf"
    fi
    [ "$(id -u)" -ne 0 ] || chown "$OS_USER:" "$DATA/pg_hba.conf" "$DATA/postgresql.conf"
}

running() { [ -f "$DATA/postmaster.pid" ] && as_owner "$BIN/pg_ctl" status -D "$DATA" >/dev/null 2>&1; }

ready() { "$BIN/pg_isready" -q -h "$HOST" -p "$PORT" -d postgres -U postgres; }

psql_q() { "$BIN/psql" -X -q -h "$HOST" -p "$PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 "$@"; }

cmd_start() {
    prepare_home
    init_cluster
    if running; then
        log "already running"
    else
        if (exec 3<>"/dev/tcp/$HOST/$PORT") 2>/dev/null; then
            die "port $PORT on $HOST is taken by another process (set BAYLINK_PG_PORT)"
        fi
        log "starting postgres (home $PG_HOME, port $PORT)"
        # Port and socket dir are given at start, so BAYLINK_PG_PORT can change
        # between runs without touching the cluster.
        as_owner "$BIN/pg_ctl" start -D "$DATA" -w -t 60 -l "$LOG" \
            -o "-p $PORT -k $SOCK_DIR -c listen_addresses=$HOST" >/dev/null ||
            { tail -n 30 "$LOG" >&2 || true; die "pg_ctl start failed"; }
    fi
    ready || die "postgres is running but does not answer on $HOST:$PORT (started with another BAYLINK_PG_PORT?)"
    if [ -z "$(psql_q -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB'")" ]; then
        psql_q -c "CREATE DATABASE $DB"
        log "created database $DB"
    fi
    echo "postgres up at $HOST:$PORT"
}

cmd_stop() {
    if [ ! -f "$DATA/postmaster.pid" ]; then
        log "not running"
        return 0
    fi
    # fast: roll back open sessions and shut down cleanly; -w waits until
    # the postmaster and all its children are gone.
    if ! as_owner "$BIN/pg_ctl" stop -D "$DATA" -m fast -w -t 60 >/dev/null 2>&1; then
        if running; then
            log "fast shutdown timed out; using immediate"
            as_owner "$BIN/pg_ctl" stop -D "$DATA" -m immediate -w -t 30 >/dev/null
        fi
    fi
    log "stopped"
}

cmd_status() {
    if ready; then
        echo "postgres up at $HOST:$PORT"
    else
        echo "postgres down at $HOST:$PORT"
        exit 1
    fi
}

cmd_url() { echo "postgresql+asyncpg://postgres@$HOST:$PORT/${1:-$DB}"; }

# A database of its own for one service (harmless when it exists); prints its URL.
cmd_createdb() {
    local name=$1
    [[ $name =~ ^[a-z_][a-z0-9_]*$ ]] || die "database names are lower-case letters, digits and _: $name"
    ready || die "postgres does not answer on $HOST:$PORT (run: $0 start)"
    if [ -z "$(psql_q -tAc "SELECT 1 FROM pg_database WHERE datname = '$name'")" ]; then
        psql_q -c "CREATE DATABASE $name"
        log "created database $name"
    fi
    cmd_url "$name"
}

case "${1:-}" in
    start)  BIN=$(find_bin); cmd_start ;;
    stop)   BIN=$(find_bin); cmd_stop ;;
    status) BIN=$(find_bin); cmd_status ;;
    url)    cmd_url "${2:-}" ;;
    createdb) [ $# -eq 2 ] || { echo "usage: $0 createdb NAME" >&2; exit 2; }; BIN=$(find_bin); cmd_createdb "$2" ;;
    *)      echo "usage: $0 start|stop|status|url|createdb NAME" >&2; exit 2 ;;
esac
