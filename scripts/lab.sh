#!/usr/bin/env bash
# `make lab`: Jupyter on localhost with the tslab TypeScript kernel, opening
# notebooks/ (Debian's Jupyter Notebook server; the kernel runs this checkout's
# tslab, so the notebooks import the pipeline modules as they are). Prints the
# URL to open; Ctrl-C stops it. LAB_PORT (default 8888) sets the port.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/debian-packages.sh
. "$ROOT/scripts/debian-packages.sh"
ensure_debian_packages jupyter-notebook
npx --no-install tslab install --python=/usr/bin/python3 --binary="$ROOT/node_modules/.bin/tslab" >/dev/null
PORT="${LAB_PORT:-8888}"
TOKEN="$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
echo "[lab] Jupyter with the TypeScript kernel (tslab) on notebooks/: open http://127.0.0.1:$PORT/?token=$TOKEN"
echo "[lab] edit the notebooks' .ts sources for changes that last (make notebooks rebuilds the .ipynb); Ctrl-C stops"
# As root (containers, CI) Jupyter refuses to start without --allow-root.
ALLOW_ROOT=()
[ "$(id -u)" -ne 0 ] || ALLOW_ROOT=(--allow-root)
exec jupyter notebook --no-browser --ip=127.0.0.1 --port="$PORT" --port-retries=0 --notebook-dir="$ROOT/notebooks" \
  --NotebookApp.token="$TOKEN" --MultiKernelManager.default_kernel_name=tslab "${ALLOW_ROOT[@]}"
