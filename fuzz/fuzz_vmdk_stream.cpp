// Fuzz target: streamOptimized VMDK read from a forward-only stream (marker walk, front grain
// tables, reorder window), reading at most the first 4 MiB of the virtual disk (alternating read()
// and next(), whose zero runs are skipped without memory) and then draining; then the same bytes
// in placed mode (grains as they come, each inflated), up to 4 MiB of grains.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "vdisk/block.h"
#include "vdisk/io.h"
#include "formats/vmdk/vmdk_stream.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<std::byte> bytes(reinterpret_cast<const std::byte*>(data),
                               reinterpret_cast<const std::byte*>(data) + size);
  if (auto p = vdisk::vmdk::open_stream_optimized(vdisk::memory_stream(bytes), {}); p.ok()) {
    vdisk::PlacedStream* placed = (*p)->placed();
    std::vector<std::byte> grain;
    for (std::uint64_t placed_bytes = 0; placed && placed_bytes < (4u << 20);) {
      auto piece = placed->next_piece();
      if (!piece.ok() || piece->length == 0) break;
      grain.resize(static_cast<std::size_t>(piece->length));
      if (!placed->decode(*piece, grain).ok()) break;
      placed_bytes += piece->length;
    }
  }
  auto s = vdisk::vmdk::open_stream_optimized(vdisk::memory_stream(std::move(bytes)), {},
                                              /*window_bytes=*/1 << 20);
  if (!s.ok()) return 0;
  std::vector<std::byte> buf(64 * 1024);
  std::uint64_t total = 0;
  for (bool use_next = false; total < (4u << 20); use_next = !use_next) {
    if (use_next) {
      auto r = (*s)->next(buf);
      if (!r.ok() || r->kind == vdisk::StreamRun::Kind::end) return 0;
      total += r->length;
    } else {
      auto n = (*s)->read(buf);
      if (!n.ok() || *n == 0) return 0;
      total += *n;
    }
  }
  return 0;
}
