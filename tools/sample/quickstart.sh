#!/bin/bash
# The README's main job, on a fresh Debian 12 machine as root: install what is needed, build
# vdconvert, build a sample GPT disk (ESP + ext4 root), convert it for Azure, and prove the
# result with `vdconvert check` and qemu-img. Outputs go to ./out/.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends g++ cmake ninja-build pkg-config zlib1g-dev \
    libfmt-dev fdisk e2fsprogs dosfstools mtools gzip qemu-utils >/dev/null
fi
cmake -S . -B build-release -G Ninja -DCMAKE_BUILD_TYPE=Release -DVDISK_BUILD_TESTS=OFF \
  -DVDISK_BUILD_BENCH=OFF -DVDISK_BUILD_FUZZ=OFF >/dev/null
cmake --build build-release --target vdconvert -j"$(nproc)"
VD=build-release/tools/vdconvert

mkdir -p out
rm -f out/sample.raw out/sample-azure.vhd
tools/sample/make-sample-disk.sh out/sample.raw
"$VD" info out/sample.raw
"$VD" convert --to azure out/sample.raw out/sample-azure.vhd
"$VD" info out/sample-azure.vhd
# Independent reader: qemu sees the same disk, padded with zeros to the Azure size.
qemu-img compare -f raw -F vpc out/sample.raw out/sample-azure.vhd
"$VD" check --for azure out/sample-azure.vhd
