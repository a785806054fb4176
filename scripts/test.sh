#!/usr/bin/env bash
# The test command (README, CI): set up, type-check, lint, look for unused code, run every mocha test.
# Mocha's reporter ends with the line CI reads: "N passed, N failed".
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh test
echo "[test] type-checking (tsc --noEmit, strict)"
npx tsc --noEmit -p . && npx tsc --noEmit -p serve/ui && npx tsc --noEmit -p notebooks
echo "[test] lint and format (Biome: biome.jsonc), unused files, exports and dependencies (knip: knip.jsonc)"
npm run -s lint && npm run -s unused
echo "[test] mocha"
npx mocha "$@"
