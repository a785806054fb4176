#!/usr/bin/env bash
# `make notebooks`: builds notebooks/*.ipynb from their TypeScript sources
# (notebooks/*.ts, type-checked by `tsc -p notebooks`), installs Jupyter's
# headless runner (Debian) and the tslab kernel, then executes every notebook;
# fails on any cell error.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/debian-packages.sh
. "$ROOT/scripts/debian-packages.sh"
ensure_debian_packages jupyter-nbconvert python3-nbclient python3-ipykernel
# The kernel spec points at this checkout's tslab.
npx --no-install tslab install --python=/usr/bin/python3 --binary="$ROOT/node_modules/.bin/tslab" >/dev/null
for src in notebooks/[0-9]*.ts; do
  name="$(basename "$src" .ts)"
  # In place by default (the committed notebooks carry their outputs);
  # K49_NOTEBOOK_OUT=dir writes the executed copies there instead (tests), built
  # beside the committed ones so that relative paths resolve the same.
  if [ -n "${K49_NOTEBOOK_OUT:-}" ]; then
    built="notebooks/.$name.build.ipynb"; WHERE=(--output-dir "$K49_NOTEBOOK_OUT" --output "$name.ipynb")
  else
    built="notebooks/$name.ipynb"; WHERE=(--inplace)
  fi
  npx --no-install tsx scripts/build-notebooks.ts "$src" "$built"
  echo "[notebooks] executing $name.ipynb (built from $src)"
  (cd notebooks && TF_CPP_MIN_LOG_LEVEL=2 jupyter nbconvert --to notebook --execute "${WHERE[@]}" \
     --ExecutePreprocessor.timeout="${K49_NOTEBOOK_TIMEOUT:-900}" --ExecutePreprocessor.kernel_name=tslab "$(basename "$built")" 2>&1 \
     | grep -v MissingIDFieldWarning) || { [ "$built" != "notebooks/$name.ipynb" ] && rm -f "$built"; exit 1; }
  if [ "$built" != "notebooks/$name.ipynb" ]; then rm -f "$built"; fi
done
echo "[notebooks] all executed without errors"
