#!/usr/bin/env bash
# Serves the system this one replaces (FastAPI + PyTorch, its own code in
# ../shared/peer/k49-fastapi) on 127.0.0.1:PORT, for `make bench PEER=1`:
# installs the Debian packages it needs once (its run.sh header names them,
# and torchvision, which its preprocessing imports), then runs its run.sh.
set -euo pipefail
PORT=${1:?usage: peer.sh PORT}
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PEER="${K49_PEER_DIR:-$ROOT/../shared/peer/k49-fastapi}"
[ -x "$PEER/run.sh" ] || [ -f "$PEER/run.sh" ] || { echo "[peer] no replaced system at $PEER (run.sh missing)" >&2; exit 3; }
# shellcheck source=debian-packages.sh
source "$ROOT/scripts/debian-packages.sh"
ensure_debian_packages python3-torch python3-torchvision python3-pil python3-redis python3-rq python3-venv
exec bash "$PEER/run.sh" "$PORT"
