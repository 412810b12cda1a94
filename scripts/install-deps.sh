#!/usr/bin/env bash
# Installs moesim's build and test dependencies from Debian 12 packages, idempotently:
# it asks dpkg what is missing and runs `apt-get update` + install only for that.
set -euo pipefail

packages=(
  cmake g++ make clang-format            # toolchain and the format check
  libboost-graph-dev libboost-program-options-dev
  libeigen3-dev nlohmann-json3-dev
  libgtest-dev libbenchmark-dev
  qt6-base-dev qt6-charts-dev qt6-svg-dev libgl-dev
  libopenmpi-dev openmpi-bin             # `mpirun -n N moesim sweep` (MOESIM_WITH_MPI)
  poppler-utils                          # pdftoppm: the plot tests open the PDF they write
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "install-deps: installing ${missing[*]}" >&2
$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
