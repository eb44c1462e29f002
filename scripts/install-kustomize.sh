#!/usr/bin/env bash
# Install kustomize into .local/tools/bin from the Go module proxy (needs Go; no Docker, no binary
# download). Does nothing when the pinned version is already there.
#
#   scripts/install-kustomize.sh          install if missing, print the binary's path
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

VERSION=v5.7.1
BIN_DIR="$PWD/.local/tools/bin"
BIN="$BIN_DIR/kustomize"

if [ -x "$BIN" ] && "$BIN" version 2>/dev/null | grep -q "$VERSION"; then
    echo "$BIN"
    exit 0
fi
# Go's own installer puts it in /usr/local/go/bin, which a non-login shell may not have on PATH.
command -v go >/dev/null || PATH="$PATH:/usr/local/go/bin"
command -v go >/dev/null || { echo "install-kustomize: needs Go (https://go.dev) on PATH" >&2; exit 1; }
mkdir -p "$BIN_DIR"
# A private module cache under .local keeps the user's GOPATH untouched.
export GOPATH="$PWD/.local/tools/gopath" GOBIN="$BIN_DIR" GOFLAGS=-modcacherw
echo "install-kustomize: go install sigs.k8s.io/kustomize/kustomize/v5@$VERSION" >&2
go install "sigs.k8s.io/kustomize/kustomize/v5@$VERSION" >&2
"$BIN" version >/dev/null
echo "$BIN"
