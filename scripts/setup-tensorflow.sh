#!/usr/bin/env bash
# Makes @tensorflow/tfjs-node's native binding usable, the 'tensorflow' backend.
#
# 1. Cache hit: a binding built earlier for this tfjs-node + TensorFlow pair is
#    linked in from $K49_CACHE (default ~/.cache/k49) in about a second.
# 2. Otherwise the package's own install script is tried first (it downloads
#    the official libtensorflow: the ordinary path on machines with internet).
# 3. If that cannot download, the binding is built from source against the
#    TensorFlow C API shipped inside the tensorflow-cpu wheel, which pip can
#    fetch from a local/mirror index. The result is cached for step 1.
# Ends by loading the backend and fails loudly if it is not 'tensorflow'.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PKG="$ROOT/node_modules/@tensorflow/tfjs-node"
TF_WHEEL_VERSION="${K49_TF_WHEEL_VERSION:-2.21.0}"
CACHE_ROOT="${K49_CACHE:-$HOME/.cache/k49}"
TFJS_VERSION="$(node -p "require('$PKG/package.json').version")"
KEY="tfjs-node-${TFJS_VERSION}_tf-${TF_WHEEL_VERSION}_$(uname -m)"
CACHE="$CACHE_ROOT/$KEY"
NAPI_DIR="lib/napi-v8"

log() { echo "[setup-tensorflow] $*"; }

check_backend() {
  TF_CPP_MIN_LOG_LEVEL=2 node -e "
    const tf = require('@tensorflow/tfjs-node');
    const backend = tf.getBackend();
    if (backend !== 'tensorflow') { console.error('backend is ' + backend); process.exit(1); }
    const s = tf.tensor([1, 2, 3]).sum().dataSync()[0];
    if (s !== 6) { console.error('tensorflow backend computed ' + s); process.exit(1); }
    const lib = require('fs').realpathSync(require.resolve('@tensorflow/tfjs-node/package.json').replace('package.json', 'deps/lib/libtensorflow.so'));
    console.log('[setup-tensorflow] OK: TensorFlow.js backend = ' + backend + ' (tfjs-node ' + tf.version['tfjs-node'] + ', ' + lib + ')');
  "
}

link_from_cache() {
  mkdir -p "$PKG/deps/lib" "$PKG/$NAPI_DIR"
  # The binding finds libtensorflow through its rpath ($ORIGIN/../../deps/lib),
  # so symlinks to the cached libraries (800 MB) are enough; no copy.
  # K49_TF_COPY=1 copies them instead: an image build whose cache is only mounted while it builds.
  for f in libtensorflow_cc.so.2 libtensorflow_framework.so.2; do
    if [ "${K49_TF_COPY:-0}" = 1 ]; then cp "$CACHE/deps/lib/$f" "$PKG/deps/lib/$f"; else ln -sfn "$CACHE/deps/lib/$f" "$PKG/deps/lib/$f"; fi
  done
  ln -sfn libtensorflow_cc.so.2 "$PKG/deps/lib/libtensorflow.so.2"
  ln -sfn libtensorflow_cc.so.2 "$PKG/deps/lib/libtensorflow.so"
  ln -sfn libtensorflow_framework.so.2 "$PKG/deps/lib/libtensorflow_framework.so"
  cp "$CACHE/$NAPI_DIR/tfjs_binding.node" "$PKG/$NAPI_DIR/tfjs_binding.node"
}

# Already working (e.g. second run of setup): nothing to do.
if [ -f "$PKG/$NAPI_DIR/tfjs_binding.node" ] && check_backend >/dev/null 2>&1; then
  log "binding already in place (nothing to do)"
  check_backend
  exit 0
fi

if [ -f "$CACHE/$NAPI_DIR/tfjs_binding.node" ]; then
  log "cache hit: $CACHE (TensorFlow build skipped)"
  link_from_cache
  check_backend
  exit 0
fi

log "cache miss ($CACHE); trying tfjs-node's own install (downloads libtensorflow)"
if (cd "$PKG" && timeout "${K49_TF_DOWNLOAD_TIMEOUT:-120}" node scripts/install.js >/tmp/k49-tfjs-install.log 2>&1) \
   && check_backend >/dev/null 2>&1; then
  log "official libtensorflow download worked"
  check_backend
  exit 0
fi
log "official download unavailable (see /tmp/k49-tfjs-install.log); building from the tensorflow-cpu $TF_WHEEL_VERSION wheel"

WORK="$CACHE_ROOT/build-$KEY"
rm -rf "$WORK" && mkdir -p "$WORK"
WHEEL_DIR="$CACHE_ROOT/wheels"
mkdir -p "$WHEEL_DIR"
WHEEL="$(ls "$WHEEL_DIR"/tensorflow_cpu-"$TF_WHEEL_VERSION"-*.whl 2>/dev/null | head -1 || true)"
if [ -z "$WHEEL" ]; then
  # Prefer a configured local index (pip's extra-index-url) over the public
  # one, which would otherwise be retried for minutes on an offline machine.
  INDEX="$(pip config list 2>/dev/null | sed -n "s/^global.extra-index-url='\([^ ']*\).*/\1/p" | head -1)"
  if [ -n "$INDEX" ]; then
    PIP_INDEX_URL="$INDEX" pip download --quiet --no-deps "tensorflow-cpu==$TF_WHEEL_VERSION" -d "$WHEEL_DIR"
  else
    pip download --quiet --no-deps "tensorflow-cpu==$TF_WHEEL_VERSION" -d "$WHEEL_DIR"
  fi
  WHEEL="$(ls "$WHEEL_DIR"/tensorflow_cpu-"$TF_WHEEL_VERSION"-*.whl | head -1)"
fi
log "extracting C API from $(basename "$WHEEL")"
unzip -q -o "$WHEEL" 'tensorflow/libtensorflow_cc.so.2' 'tensorflow/libtensorflow_framework.so.2' 'tensorflow/include/*' -d "$WORK"

rm -rf "$PKG/deps" && mkdir -p "$PKG/deps/lib"
mv "$WORK/tensorflow/include" "$PKG/deps/include"
mv "$WORK/tensorflow/libtensorflow_cc.so.2" "$WORK/tensorflow/libtensorflow_framework.so.2" "$PKG/deps/lib/"
ln -sfn libtensorflow_cc.so.2 "$PKG/deps/lib/libtensorflow.so"
ln -sfn libtensorflow_cc.so.2 "$PKG/deps/lib/libtensorflow.so.2"
ln -sfn libtensorflow_framework.so.2 "$PKG/deps/lib/libtensorflow_framework.so"

log "compiling the binding (node-pre-gyp --build-from-source)"
(cd "$PKG" && npx --no-install node-pre-gyp rebuild --build-from-source >"$WORK/build.log" 2>&1) || {
  tail -40 "$WORK/build.log"; log "FAILED to build the binding"; exit 1; }

# Store in the cache, then point the package at the cache like a hit does.
rm -rf "$CACHE.tmp" && mkdir -p "$CACHE.tmp/deps/lib" "$CACHE.tmp/$NAPI_DIR"
mv "$PKG/deps/lib/libtensorflow_cc.so.2" "$PKG/deps/lib/libtensorflow_framework.so.2" "$CACHE.tmp/deps/lib/"
cp "$PKG/$NAPI_DIR/tfjs_binding.node" "$CACHE.tmp/$NAPI_DIR/"
rm -rf "$CACHE" && mv "$CACHE.tmp" "$CACHE"
rm -rf "$PKG/deps/include" "$WORK"
link_from_cache
log "built and cached in $CACHE"
check_backend
