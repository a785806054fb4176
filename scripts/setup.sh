#!/usr/bin/env bash
# `make setup`: everything the project needs on a fresh Debian machine, idempotent.
# One argument says for what, each a superset of the one before:
#   serve (default: make run, serve, worker, evaluate...), train (make synth,
#   train, eda, notebooks: + the fonts the synthetic data is rendered from),
#   bench (make bench, soak: + Chromium and redis-server), test (make test, CI:
#   + Jupyter's runner).
#   1. Debian packages for that purpose, only those missing.
#   2. npm dependencies from the lock file. tfjs-node's install script downloads
#      libtensorflow, which fails offline and would fail the whole install, so
#      packages are installed with --ignore-scripts and the native ones are
#      built afterwards (compiled addons are cached in $K49_CACHE).
#   3. Native TensorFlow for tfjs-node (scripts/setup-tensorflow.sh).
# Heavy results live in $K49_CACHE (default ~/.cache/k49), outside the clone.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
CACHE_ROOT="${K49_CACHE:-$HOME/.cache/k49}"
mkdir -p "$CACHE_ROOT"
log() { echo "[setup] $*"; }

# --- 1. Debian packages ------------------------------------------------------
PURPOSE="${1:-serve}"
# shellcheck source=scripts/debian-packages.sh
. "$ROOT/scripts/debian-packages.sh"
APT_LIST="$(debian_packages_for "$PURPOSE")"
read -r -a APT_PACKAGES <<<"$APT_LIST"
log "for: $PURPOSE"
ensure_debian_packages "${APT_PACKAGES[@]}" ${K49_EXTRA_APT:-}

# --- 2. npm dependencies -----------------------------------------------------
LOCK_HASH="$(sha256sum package-lock.json | cut -c1-16)"
STAMP="node_modules/.k49-setup-$LOCK_HASH"
if [ ! -f "$STAMP" ]; then
  log "npm ci (lock $LOCK_HASH)"
  npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
  # Native addons other than tfjs-node: reuse a cached build when one exists.
  ABI="$(node -p process.versions.modules)"
  SQLITE_VERSION="$(node -p "require('./node_modules/better-sqlite3/package.json').version")"
  SQLITE_CACHE="$CACHE_ROOT/native/better-sqlite3-$SQLITE_VERSION-abi$ABI-$(uname -m).node"
  if [ -f "$SQLITE_CACHE" ]; then
    log "better-sqlite3: cached build"
    mkdir -p node_modules/better-sqlite3/build/Release
    cp "$SQLITE_CACHE" node_modules/better-sqlite3/build/Release/better_sqlite3.node
  else
    log "better-sqlite3: building (prebuilt download, else compile; about 1.5 min)"
    npm rebuild better-sqlite3 --loglevel=error
    mkdir -p "$(dirname "$SQLITE_CACHE")"
    cp node_modules/better-sqlite3/build/Release/better_sqlite3.node "$SQLITE_CACHE"
  fi
  npm rebuild zeromq esbuild --loglevel=error
  node -e "new (require('better-sqlite3'))(':memory:').close(); require('sharp'); require('@napi-rs/canvas')"
  touch "$STAMP"
else
  log "npm dependencies: up to date with package-lock.json"
fi

# --- 3. Native TensorFlow ----------------------------------------------------
bash scripts/setup-tensorflow.sh
log "done"
