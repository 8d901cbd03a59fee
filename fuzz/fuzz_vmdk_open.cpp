// Fuzz target: whole-image VMDK open from memory (format forced to "vmdk"), then the map and
// reads of the first MiB.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "vdisk/image.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto file = vdisk::memory_view_file({reinterpret_cast<const std::byte*>(data), size});
  vdisk::OpenOptions o;
  o.format = "vmdk";
  auto source = vdisk::open_image(std::move(file), {}, o);
  if (!source.ok()) return 0;
  const std::uint64_t n = std::min<std::uint64_t>((*source)->size(), 1 << 20);
  std::vector<vdisk::Extent> map;
  (void)(*source)->map(0, n, map);
  std::vector<std::byte> buf(static_cast<std::size_t>(n));
  (void)(*source)->read(0, buf);
  if (n > 1000) (void)(*source)->read(n / 3, std::span(buf).first(777));
  (void)vdisk::describe(**source);
  return 0;
}
