#!/usr/bin/env bash
# Runs gantry's bridge benchmarks and the Python-side comparators in one run.
# Installs jupyter_client, ipykernel and smolagents for the Python in use.
set -euo pipefail
cd "$(dirname "$0")/../.."
py=$(python3 -c 'import sys; print(sys.executable)')
"$py" -c 'import jupyter_client, ipykernel, smolagents' 2>/dev/null || "$py" -m pip install -q jupyter_client ipykernel smolagents
GANTRY_TEST_PYTHON="$py" go test -run XXX -bench . -benchtime 2s ./bridge | grep Benchmark
"$py" bench/bridge/compare.py "${1:-200}"
