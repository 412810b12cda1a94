#!/usr/bin/env bash
# Installs what is missing, builds the CLI and estimates Mixtral 8x7B on 64 H100s.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)" --target moesim
./build/cli/moesim estimate --model mixtral-8x7b --cluster dgx-h100 --devices 64 "$@"
