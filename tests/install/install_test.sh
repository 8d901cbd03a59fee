#!/bin/bash
# Installs the build into a scratch prefix, then builds and runs a consumer with CMake
# (find_package) and with pkg-config.
set -euo pipefail
BUILD=${1:?build dir}; SRC=${2:?source dir}; WORK=${3:?scratch dir}
rm -rf "$WORK" && mkdir -p "$WORK"
cmake --install "$BUILD" --prefix "$WORK/prefix" >/dev/null
# The consumer uses the build's compiler; a sanitized build (VDISK_SANITIZE, or a libFuzzer
# build, whose objects all carry ASan/UBSan) is a static library that needs the sanitizer
# runtimes linked in, as any program linking it would.
cache=$BUILD/CMakeCache.txt
cxx=$(sed -n 's/^CMAKE_CXX_COMPILER:[A-Z]*=//p' "$cache")
san=""
if grep -q '^VDISK_SANITIZE:BOOL=ON' "$cache" ||
   { grep -q '^VDISK_BUILD_FUZZ:BOOL=ON' "$cache" && grep -q '^VDISK_FUZZ_LINKMAIN:BOOL=OFF' "$cache"; }; then
  san="-fsanitize=address,undefined"
fi
cmake -S "$SRC/tests/install" -B "$WORK/consumer" -G Ninja -DCMAKE_PREFIX_PATH="$WORK/prefix" \
  -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_EXE_LINKER_FLAGS="$san" >/dev/null
cmake --build "$WORK/consumer" >/dev/null
"$WORK/consumer/consumer"
PKG_CONFIG_PATH="$WORK/prefix/lib/pkgconfig:$WORK/prefix/lib/x86_64-linux-gnu/pkgconfig" \
  bash -c "$cxx $SRC/tests/install/consumer.cpp -o $WORK/consumer-pc $san \$(pkg-config --cflags vdisk) \$(pkg-config --static --libs vdisk)"
"$WORK/consumer-pc"
echo "install consumer OK"
