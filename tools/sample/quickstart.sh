#!/bin/bash
# The README's main job, on a fresh Debian 12 machine as root: install what is needed, build
# vdconvert, build a sample GPT disk (ESP + ext4 root), convert it for Azure, and prove the
# result with `vdconvert check` and qemu-img. Outputs go to ./out/.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  # Finish a dpkg run that was cut short (apt refuses to install until then), waiting for
  # another apt or dpkg that holds the lock.
  for try in $(seq 60); do
    dpkg --configure -a && break
    [ "$try" = 60 ] && { echo "dpkg --configure -a kept failing" >&2; exit 1; }
    sleep 5
  done
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends g++ cmake \
    ninja-build pkg-config zlib1g-dev libzstd-dev libfmt-dev libcurl4-openssl-dev libisal-dev \
    libdeflate-dev fdisk e2fsprogs dosfstools mtools gzip qemu-utils >/dev/null
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
# Independent reader. The Azure padding moved the GPT's backup to the new end (and updated the
# primary header and protective MBR), so qemu-img's raw view equals the sample everywhere
# between the primary GPT (first 34 sectors) and the old backup (last 33 sectors), and sfdisk
# verifies the moved GPT. Without relocation (--keep-gpt) the whole disk is byte-identical.
qemu-img convert -f vpc -O raw out/sample-azure.vhd out/sample-azure.raw
size=$(stat -c %s out/sample.raw)
cmp -i $((34 * 512)) -n $((size - 67 * 512)) out/sample.raw out/sample-azure.raw
echo "qemu-img view of the Azure VHD: partition area identical to the sample"
sfdisk --verify out/sample-azure.raw
rm -f out/sample-azure.raw out/sample-azure-keep.vhd
"$VD" convert --quiet --to azure --keep-gpt out/sample.raw out/sample-azure-keep.vhd
qemu-img compare -f raw -F vpc out/sample.raw out/sample-azure-keep.vhd
rm -f out/sample-azure-keep.vhd
"$VD" check --for azure out/sample-azure.vhd
