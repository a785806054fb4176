#!/usr/bin/env bash
# The test command (README, CI): set up, type-check, run every mocha test.
# Mocha's reporter ends with the line CI reads: "N passed, N failed".
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh test
echo "[test] type-checking (tsc --noEmit, strict)"
npx tsc --noEmit -p . && npx tsc --noEmit -p serve/ui && npx tsc --noEmit -p notebooks
echo "[test] mocha"
npx mocha "$@"
