#!/usr/bin/env bash
# Fail if the contracts in protos/ break compatibility (buf's FILE rules) with
# an earlier version of them. Linting is `buf lint protos`, not this script.
#
# Baseline, first that applies:
#   1. $BUF_AGAINST, any buf input (e.g. '.git#ref=v1.2.0,subdir=protos');
#   2. branch main, when HEAD is not main's tip and main has protos/;
#   3. HEAD~1, when that commit has protos/;
#   otherwise there is nothing to compare against and the check passes.
# The working tree's protos/ (committed or not) is what gets checked.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BUF="${BUF:-$ROOT/.venv/bin/buf}"

has_contracts() {  # commit-ish -> whether it has protos/buf.yaml
  git cat-file -e "$1:protos/buf.yaml" 2>/dev/null
}

if [[ -n "${BUF_AGAINST:-}" ]]; then
  against="$BUF_AGAINST"
else
  head="$(git rev-parse -q --verify 'HEAD^{commit}' 2>/dev/null || true)"
  main="$(git rev-parse -q --verify 'refs/heads/main^{commit}' 2>/dev/null || true)"
  if [[ -n "$main" && "$head" != "$main" ]] && has_contracts "$main"; then
    base="$main" label="main"
  elif [[ -n "$head" ]] && has_contracts "$head~1"; then
    base="$(git rev-parse "$head~1")" label="HEAD~1"
  else
    echo "buf breaking: no earlier contracts to compare against"
    exit 0
  fi
  # The common dir, not .git: in a worktree .git is a file, and the objects
  # and refs live in the main checkout's git directory. A full commit id
  # rather than a name, since buf resolves names in its own clone.
  gitdir="$(git rev-parse --git-common-dir)"
  against="$gitdir#ref=$base,subdir=protos"
  echo "buf breaking: comparing protos/ against $label (${base:0:12})"
fi

exec "$BUF" breaking protos --against "$against"
