#!/usr/bin/env bash
# Runs the client conformance checks against a whole stack started by `exchange up`.
# Usage: scripts/smoke-stack.sh BIN_DIR PYTHON
set -euo pipefail
bin_dir=${1:-.build/debug}
python=${2:-python3}
cd "$(dirname "$0")/.."
EXCHANGE_BIN_DIR="$bin_dir" "$python" -m pytest -q Tests/Clients -p no:cacheprovider
