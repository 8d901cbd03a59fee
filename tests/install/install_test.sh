#!/bin/bash
# Installs the build into a scratch prefix, then builds and runs a consumer with CMake
# (find_package) and with pkg-config.
set -euo pipefail
BUILD=${1:?build dir}; SRC=${2:?source dir}; WORK=${3:?scratch dir}
rm -rf "$WORK" && mkdir -p "$WORK"
cmake --install "$BUILD" --prefix "$WORK/prefix" >/dev/null
cmake -S "$SRC/tests/install" -B "$WORK/consumer" -G Ninja -DCMAKE_PREFIX_PATH="$WORK/prefix" >/dev/null
cmake --build "$WORK/consumer" >/dev/null
"$WORK/consumer/consumer"
PKG_CONFIG_PATH="$WORK/prefix/lib/pkgconfig:$WORK/prefix/lib/x86_64-linux-gnu/pkgconfig" \
  bash -c "c++ $SRC/tests/install/consumer.cpp -o $WORK/consumer-pc \$(pkg-config --cflags vdisk) \$(pkg-config --static --libs vdisk)"
"$WORK/consumer-pc"
echo "install consumer OK"
