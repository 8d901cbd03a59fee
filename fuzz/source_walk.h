// The walk the image fuzz targets share: describe() a source, then map and read its first 4 MiB
// window by window (64 KiB), and one unaligned read across sector, block and cluster boundaries.
// Errors are expected (hostile input); only crashes, leaks and hangs matter.
#ifndef VDISK_FUZZ_SOURCE_WALK_H_
#define VDISK_FUZZ_SOURCE_WALK_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "vdisk/image.h"

namespace vdisk::fuzz {

inline void walk_source(const BlockSource& s) {
  (void)describe(s).to_json();
  const std::uint64_t n = std::min<std::uint64_t>(s.size(), 4 << 20);
  constexpr std::uint64_t kWindow = 64 * 1024;
  std::vector<std::byte> buf(kWindow);
  for (std::uint64_t off = 0; off < n; off += kWindow) {
    const std::uint64_t len = std::min(kWindow, n - off);
    std::vector<Extent> map;
    (void)s.map(off, len, map);
    (void)s.read(off, std::span(buf).first(static_cast<std::size_t>(len)));
  }
  if (n > 1000) (void)s.read(n / 3 + 1, std::span(buf).first(999));
}

}  // namespace vdisk::fuzz

#endif  // VDISK_FUZZ_SOURCE_WALK_H_
