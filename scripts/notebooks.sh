#!/usr/bin/env bash
# `make notebooks`: installs Jupyter's headless runner (Debian) and the tslab
# kernel, then executes every notebook in place; fails on any cell error.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/debian-packages.sh
. "$ROOT/scripts/debian-packages.sh"
ensure_debian_packages jupyter-nbconvert python3-nbclient python3-ipykernel
# The kernel spec points at this checkout's tslab.
npx --no-install tslab install --python=/usr/bin/python3 --binary="$ROOT/node_modules/.bin/tslab" >/dev/null
# In place by default (the committed notebooks carry their outputs);
# K49_NOTEBOOK_OUT=dir writes the executed copies there instead (tests).
if [ -n "${K49_NOTEBOOK_OUT:-}" ]; then WHERE=(--output-dir "$K49_NOTEBOOK_OUT"); else WHERE=(--inplace); fi
for nb in notebooks/*.ipynb; do
  echo "[notebooks] executing $nb"
  (cd notebooks && TF_CPP_MIN_LOG_LEVEL=2 jupyter nbconvert --to notebook --execute "${WHERE[@]}" \
     --ExecutePreprocessor.timeout="${K49_NOTEBOOK_TIMEOUT:-900}" --ExecutePreprocessor.kernel_name=tslab "$(basename "$nb")" 2>&1 \
     | grep -v MissingIDFieldWarning)
done
echo "[notebooks] all executed without errors"
