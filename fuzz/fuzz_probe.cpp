// Fuzz target: format probing and opening any input as an image, then reading its map and
// first bytes. Exercises every registered driver's probe and open, and every recogniser of a
// format libvdisk refuses (signatures/), on hostile bytes: as a file and as a stream.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "vdisk/image.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::byte> bytes{reinterpret_cast<const std::byte*>(data), size};
  auto file = vdisk::memory_view_file(bytes);
  auto format = vdisk::probe_format(*file);
  if (!format.ok()) return 0;
  if (auto id = vdisk::identify(*file); id.ok()) {
    // A refused input names its format; a readable one has no refusal.
    if (id->readable != id->status.ok()) __builtin_trap();
    (void)id->to_properties().to_json();
  }
  // The same bytes as a stream: probe on the first bytes, a fixed VHD's footer at the end.
  if (auto stream = vdisk::open_image_stream(
          vdisk::memory_stream(std::vector<std::byte>(bytes.begin(), bytes.end()), "<fuzz>"));
      stream.ok()) {
    std::vector<std::byte> buf(4096);
    for (int i = 0; i < 512; ++i) {
      auto n = (*stream)->read(buf);
      if (!n.ok() || *n == 0) break;
    }
  }
  auto source = vdisk::open_image(std::move(file), {}, {});
  if (!source.ok()) return 0;
  const std::uint64_t n = std::min<std::uint64_t>((*source)->size(), 1 << 20);
  std::vector<vdisk::Extent> map;
  (void)(*source)->map(0, n, map);
  std::vector<std::byte> buf(static_cast<std::size_t>(n));
  (void)(*source)->read(0, buf);
  return 0;
}
