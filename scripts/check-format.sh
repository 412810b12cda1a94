#!/usr/bin/env bash
# Fails when a tracked C++ file differs from what clang-format (the root .clang-format) makes.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files '*.cpp' '*.hpp' '*.h' 2>/dev/null || true)
if ((${#files[@]} == 0)); then
  mapfile -t files < <(find model hardware sim kernels io cli gui tests bench \
    \( -name '*.cpp' -o -name '*.hpp' \) 2>/dev/null)
fi
((${#files[@]})) || exit 0
clang-format --dry-run --Werror "${files[@]}"
echo "check-format: ${#files[@]} files formatted"
