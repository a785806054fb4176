#!/usr/bin/env bash
# Builds the Dockerfile's `serve` image with podman, without a Docker engine or
# an image registry (what CI does; test/image.test.ts then runs it):
#   1. podman, runc and debootstrap from Debian, if missing; podman set up for
#      this kind of machine (deploy/podman/containers.conf: runc, cgroupfs, no
#      default ulimits).
#   2. The base image: a minimal Debian bookworm root file system from
#      debootstrap (cached in $K49_CACHE/image and in podman's store), with this
#      machine's Node.js 20, npm and trusted certificates added: localhost/k49-base.
#   3. `podman build --target serve` of the unchanged Dockerfile on that base,
#      with the set-up cache ($K49_CACHE: the TensorFlow build) mounted
#      read-only while it builds. Layers stay in podman's store between runs.
# Prints the image name on its last line. Usage: scripts/image.sh [Dockerfile] [tag]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
DOCKERFILE="${1:-Dockerfile}"
TAG="${2:-localhost/k49:serve}"
CACHE_ROOT="${K49_CACHE:-$HOME/.cache/k49}"
export CONTAINERS_CONF="${CONTAINERS_CONF:-$ROOT/deploy/podman/containers.conf}"
log() { echo "[image] $*" >&2; }

# shellcheck source=scripts/debian-packages.sh
. "$ROOT/scripts/debian-packages.sh"
ensure_debian_packages podman runc debootstrap

DEBIAN="localhost/k49-debian:bookworm-minbase"
if podman image exists "$DEBIAN"; then
  log "base $DEBIAN: present"
else
  TARBALL="$CACHE_ROOT/image/debian-bookworm-minbase.tar"
  if [ ! -f "$TARBALL" ]; then
    log "debootstrap: minimal Debian bookworm (about 2 minutes, once)"
    WORK="$(mktemp -d)"
    trap 'rm -rf "$WORK"' EXIT
    debootstrap --variant=minbase --include=ca-certificates bookworm "$WORK/rootfs" http://deb.debian.org/debian >"$WORK/debootstrap.log" 2>&1 \
      || { tail -20 "$WORK/debootstrap.log" >&2; log "debootstrap FAILED"; exit 1; }
    rm -rf "$WORK/rootfs/var/cache/apt/archives/"*.deb
    mkdir -p "$(dirname "$TARBALL")"
    tar -C "$WORK/rootfs" -cf "$TARBALL.tmp" . && mv "$TARBALL.tmp" "$TARBALL"
  fi
  log "importing $TARBALL as $DEBIAN"
  podman import --quiet "$TARBALL" "$DEBIAN" >/dev/null
fi

# Node.js 20, npm and Node's headers of this machine, and the certificates it trusts (its
# network may inspect TLS with its own authority), on that Debian: the NODE_IMAGE of the build.
NODE_VERSION="$(node -p process.version)"
BASE="localhost/k49-base:bookworm-node-${NODE_VERSION#v}"
CTX="$(mktemp -d)"
trap 'rm -rf "$CTX" "${WORK:-}"' EXIT
cp "$(command -v node)" "$CTX/node"
cp -a "$(cd "$(dirname "$(readlink -f "$(command -v npm)")")/.." && pwd)" "$CTX/npm"
cp "${NODE_EXTRA_CA_CERTS:-/etc/ssl/certs/ca-certificates.crt}" "$CTX/ca-certificates.crt"
# Node's headers, so that native addons compile without downloading them (npm's nodedir).
NODE_HEADERS="$(npm config get nodedir 2>/dev/null || true)"
[ -d "$NODE_HEADERS/include/node" ] || NODE_HEADERS="$(dirname "$(dirname "$(command -v node)")")"
cp -a "$NODE_HEADERS/include/node" "$CTX/include-node"
printf '%s\n' \
  "FROM $DEBIAN" \
  'COPY node /usr/local/bin/node' \
  'COPY npm /usr/local/lib/node_modules/npm' \
  'COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt' \
  'COPY include-node /usr/local/include/node' \
  'RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx' \
  'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt npm_config_nodedir=/usr/local' >"$CTX/Containerfile"
log "base $BASE (this machine's Node.js $NODE_VERSION)"
podman build --quiet --network host -t "$BASE" "$CTX" >/dev/null

log "podman build --target serve ($DOCKERFILE on $BASE)"
podman build --format docker --network host --target serve \
  --build-arg NODE_IMAGE="$BASE" \
  --build-arg K49_CACHE=/k49-cache --volume "$CACHE_ROOT:/k49-cache:ro" \
  -f "$DOCKERFILE" -t "$TAG" . >&2
echo "$TAG"
