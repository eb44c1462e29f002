#!/usr/bin/env bash
# Install the system packages Baylink needs, only those that are missing.
#
#   scripts/system-deps.sh run    what `make up` needs: Java 17 and Maven (the Kafka broker jars)
#   scripts/system-deps.sh test   what `make test` needs besides: PostgreSQL, Chromium and CJK fonts
#                                 (the browser tests drive Debian's Chromium by path; no test tool
#                                 may download a browser here)
#
# Uses apt-get as root. As another user it installs nothing: it names the missing packages and the
# command that installs them, and fails.
set -euo pipefail

need=()
want() {  # want PACKAGE CHECK...: the package is needed when the check fails
    local package=$1
    shift
    "$@" >/dev/null 2>&1 || need+=("$package")
}
has_command() { command -v "$1"; }
has_glob() { compgen -G "$1"; }

want python3.11-venv python3.11 -c "import ensurepip"
want openjdk-17-jre-headless has_command java
want maven has_command mvn
if [ "${1:-run}" = test ]; then
    want postgresql has_glob "/usr/lib/postgresql/*/bin/postgres"
    want chromium test -x /usr/bin/chromium
    want fonts-noto-cjk has_glob "/usr/share/fonts/opentype/noto/NotoSansCJK*"
fi

[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
    echo "system-deps: missing packages: ${need[*]}" >&2
    echo "system-deps: install them as root: apt-get update && apt-get install -y ${need[*]}" >&2
    exit 1
fi
echo "system-deps: installing ${need[*]}" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
