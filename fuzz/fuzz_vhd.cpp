// Fuzz target: the VHD driver on hostile bytes (footer choice, dynamic header, BAT, bitmaps,
// parent lookup without a path), then map and read window by window, and the stream reader.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "vdisk/image.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
  vdisk::OpenOptions options;
  options.format = "vhd";
  auto source = vdisk::open_image(vdisk::memory_view_file(bytes), {}, options);
  if (source.ok()) {
    const vdisk::BlockSource& s = **source;
    (void)vdisk::describe(s);
    const std::uint64_t n = std::min<std::uint64_t>(s.size(), 4 << 20);
    constexpr std::uint64_t kWindow = 64 * 1024;
    std::vector<std::byte> buf(kWindow);
    for (std::uint64_t off = 0; off < n; off += kWindow) {
      const std::uint64_t len = std::min(kWindow, n - off);
      std::vector<vdisk::Extent> map;
      (void)s.map(off, len, map);
      (void)s.read(off, std::span(buf).first(static_cast<std::size_t>(len)));
    }
    // Unaligned reads cross sector and block boundaries.
    if (n > 1000) (void)s.read(n / 3 + 1, std::span(buf).first(999));
  }
  auto stream = vdisk::open_image_stream(
      vdisk::memory_stream(std::vector<std::byte>(bytes.begin(), bytes.end())), options);
  if (stream.ok()) {
    std::vector<std::byte> buf(1000);
    for (int i = 0; i < 100000; ++i) {
      auto r = (*stream)->read(buf);
      if (!r.ok() || *r == 0) break;
    }
  }
  return 0;
}
