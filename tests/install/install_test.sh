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
# A shared build (BUILD_SHARED_LIBS) installs libvdisk.so.0, which programs linked by hand
# (no rpath) find through the loader's path.
export LD_LIBRARY_PATH="$WORK/prefix/lib:$WORK/prefix/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
PKG_CONFIG_PATH="$WORK/prefix/lib/pkgconfig:$WORK/prefix/lib/x86_64-linux-gnu/pkgconfig" \
  bash -c "$cxx $SRC/tests/install/consumer.cpp -o $WORK/consumer-pc $san \$(pkg-config --cflags vdisk) \$(pkg-config --static --libs vdisk)"
"$WORK/consumer-pc"

# The C API from C: compiled by the C compiler of the build's family, linked via pkg-config's
# vdisk-c (a static libvdisk brings the C++ runtime through its Libs.private).
case $cxx in
  *clang++*) cc=${cxx/clang++/clang} ;;
  *g++*) cc=${cxx/g++/gcc} ;;
  *) cc=cc ;;
esac
csan=$san
# clang links UBSan's C++ part (vptr checks of the library's objects) only for C++ unless asked.
[ -n "$san" ] && "$cc" --version | grep -q clang && csan="$san -fsanitize-link-c++-runtime"
PKG_CONFIG_PATH="$WORK/prefix/lib/pkgconfig:$WORK/prefix/lib/x86_64-linux-gnu/pkgconfig" \
  bash -c "$cc -std=c11 -Wall -Wextra -Werror $SRC/tests/install/consumer_c.c -o $WORK/consumer-c $csan \$(pkg-config --cflags vdisk-c) \$(pkg-config --static --libs vdisk-c)"
"$WORK/consumer-c" "$WORK"

# The Python binding as installed: it loads the libvdisk.so.0 installed next to it. A sanitized
# library needs its runtime loaded first into the uninstrumented python3.
preload=""
if [ -n "$san" ]; then
  if "$cxx" --version | grep -q clang; then
    preload=$("$cxx" -print-file-name=libclang_rt.asan-$(uname -m).so)
  else
    preload=$("$cxx" -print-file-name=libasan.so)
  fi
fi
pydir="$WORK/prefix/lib/python3/dist-packages"
test -f "$pydir/vdisk/libvdisk.so.0"
env -u VDISK_LIBRARY PYTHONPATH="$pydir" PYTHONDONTWRITEBYTECODE=1 LD_PRELOAD="$preload" \
  ASAN_OPTIONS=detect_leaks=0 /usr/bin/python3 - "$WORK" <<'PY'
import os, sys, vdisk
work = sys.argv[1]
assert vdisk.library_path == os.path.join(os.path.dirname(vdisk.__file__), "libvdisk.so.0"), vdisk.library_path
src, dst = os.path.join(work, "c-disk.raw"), os.path.join(work, "py-disk.vhd")
report = vdisk.convert(src, dst, target="azure")
assert report["output"]["virtual_size"] == 20 << 20, report
assert vdisk.check(dst, "azure")["passed"] is True
print(f"vdisk {vdisk.version()} (Python): azure VHD of {os.path.getsize(dst)} bytes checked")
PY
echo "install consumer OK"
