// Fuzz target: the vdi driver on hostile bytes (format forced to "vdi"): header, block map and
// its entries, then map and read window by window through free, zero and allocated blocks, an
// unaligned read across block boundaries, describe() (UUIDs, sanitised comment and banner), and
// the whole disk's map at once (a huge sparse disk costs only its block map).
#include "source_walk.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
  vdisk::OpenOptions options;
  options.format = "vdi";
  auto source = vdisk::open_image(vdisk::memory_view_file(bytes), {}, options);
  if (!source.ok()) return 0;
  vdisk::fuzz::walk_source(**source);
  std::vector<vdisk::Extent> all;
  (void)(*source)->map(0, (*source)->size(), all);
  return 0;
}
