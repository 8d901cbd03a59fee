// Fuzz target: the vdi driver on hostile bytes (format forced to "vdi"): header, block map and
// its entries, then map and read window by window through free, zero and allocated blocks, an
// unaligned read across block boundaries, and describe() (UUIDs, sanitised comment and banner).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "vdisk/image.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
  vdisk::OpenOptions options;
  options.format = "vdi";
  auto source = vdisk::open_image(vdisk::memory_view_file(bytes), {}, options);
  if (!source.ok()) return 0;
  const vdisk::BlockSource& s = **source;
  (void)vdisk::describe(s).to_json();
  const std::uint64_t n = std::min<std::uint64_t>(s.size(), 4 << 20);
  constexpr std::uint64_t kWindow = 64 * 1024;
  std::vector<std::byte> buf(kWindow);
  for (std::uint64_t off = 0; off < n; off += kWindow) {
    const std::uint64_t len = std::min(kWindow, n - off);
    std::vector<vdisk::Extent> map;
    (void)s.map(off, len, map);
    (void)s.read(off, std::span(buf).first(static_cast<std::size_t>(len)));
  }
  // The whole disk's map at once (a huge sparse disk costs only its block map).
  std::vector<vdisk::Extent> all;
  (void)s.map(0, s.size(), all);
  if (n > 1000) (void)s.read(n / 3 + 1, std::span(buf).first(999));
  return 0;
}
