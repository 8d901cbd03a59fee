// Reading and validating the VDI block map (docs/vdi.md, "Block map"). The header has already
// bounded the map by the file's size and kMaxBlocks, so the allocation below is bounded by both.
#include <algorithm>

#include <fmt/format.h>

#include "base/checked.h"
#include "base/endian.h"
#include "formats/vdi/vdi_format.h"

namespace vdisk::vdi {
namespace {

constexpr std::size_t kChunkEntries = 256 * 1024;  // entries read per call (1 MiB)

Status bad_entry(const Header& h, std::uint64_t i, std::string_view detail) {
  return corrupt_at(kFormat, "block map", h.blocks_offset + i * 4,
                    fmt::format("entry {}: {}", i, detail));
}

// Virtual-disk bytes block `i` holds (the last block may be partly past the disk's end, and
// map entries past the disk hold none).
std::uint64_t bytes_in_disk(const Header& h, std::uint64_t i) {
  const std::uint64_t start = i * h.block_size;
  if (start >= h.virtual_size()) return 0;
  return std::min<std::uint64_t>(h.block_size, h.virtual_size() - start);
}

Status check_entry(const Header& h, std::uint64_t i, std::uint32_t e, std::uint64_t file_size) {
  if (e == kBlockFree || e == kBlockZero) return {};
  if (e >= h.allocated)
    return bad_entry(h, i,
                     fmt::format("block slot expected below the {} allocated blocks (or "
                                 "0xffffffff free, 0xfffffffe zero), found {}",
                                 h.allocated, e));
  const std::uint64_t off = h.slot_offset(e);  // < 2^62: no overflow
  const std::uint64_t need = bytes_in_disk(h, i);
  if (need != 0 && !detail::range_inside(off, need, file_size))
    return bad_entry(h, i,
                     fmt::format("block slot {} ({} bytes at file offset {}) expected inside "
                                 "the {}-byte file (truncated?)",
                                 e, need, off, file_size));
  return {};
}

// Names the two entries that share a slot (called once a duplicate is known).
Status duplicate(const Header& h, const std::vector<std::uint32_t>& map, std::size_t second) {
  const std::size_t first =
      static_cast<std::size_t>(std::find(map.begin(), map.end(), map[second]) - map.begin());
  return bad_entry(h, second,
                   fmt::format("block slot {} expected to be used once, found it also in entry "
                               "{}",
                               map[second], first));
}

}  // namespace

Result<std::vector<std::uint32_t>> read_block_map(const RandomAccessFile& file, const Header& h) {
  std::vector<std::uint32_t> map(h.blocks);
  std::vector<bool> used(h.allocated);
  std::vector<std::byte> raw;
  for (std::size_t first = 0; first < map.size(); first += kChunkEntries) {
    const std::size_t n = std::min(kChunkEntries, map.size() - first);
    raw.resize(n * 4);
    VDISK_RETURN_IF_ERROR(file.read_at(h.blocks_offset + std::uint64_t{first} * 4, raw));
    for (std::size_t k = 0; k < n; ++k) {
      const std::size_t i = first + k;
      map[i] = detail::load_le32(std::span<const std::byte>(raw).subspan(k * 4));
      VDISK_RETURN_IF_ERROR(check_entry(h, i, map[i], file.size()));
      if (map[i] >= h.allocated) continue;  // free or zero
      if (used[map[i]]) return duplicate(h, map, i);
      used[map[i]] = true;
    }
  }
  return map;
}

}  // namespace vdisk::vdi
