// Fuzz target: format probing and opening any input as an image, then reading its map and
// first bytes. Exercises every registered driver's probe and open on hostile bytes.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "vdisk/image.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto file = vdisk::memory_view_file({reinterpret_cast<const std::byte*>(data), size});
  auto format = vdisk::probe_format(*file);
  if (!format.ok()) return 0;
  auto source = vdisk::open_image(std::move(file), {}, {});
  if (!source.ok()) return 0;
  const std::uint64_t n = std::min<std::uint64_t>((*source)->size(), 1 << 20);
  std::vector<vdisk::Extent> map;
  (void)(*source)->map(0, n, map);
  std::vector<std::byte> buf(static_cast<std::size_t>(n));
  (void)(*source)->read(0, buf);
  return 0;
}
