// The block allocation table (MS-VHDX 2.5): payload entries interleaved with one sector-bitmap
// entry per chunk (docs/vhdx.md "BAT"). Every entry the disk uses is checked at open, so reads
// never meet an offset outside the file or two blocks sharing bytes. A payload block is checked
// for the bytes it holds inside the virtual disk: all of it, except for the last block of a disk
// whose size is not a whole number of blocks (qemu-img's fixed disks end inside that block).
#include <algorithm>

#include <fmt/format.h>

#include "base/checked.h"
#include "base/endian.h"
#include "formats/vhdx/vhdx_reader.h"

namespace vdisk::vhdx {
namespace {

struct Used {
  std::uint64_t offset, length, index;  // index: BAT entry, or ~0 for a region
};

Status entry_error(const Layout& l, std::uint64_t i, std::uint64_t e, std::string_view detail) {
  return corrupt_at(kFormat, "BAT entry", l.bat.offset + i * 8,
                    fmt::format("entry {} (0x{:016x}): {}", i, e, detail));
}

Status check_allocated(const Layout& l, std::uint64_t i, std::uint64_t e, std::uint64_t length,
                       std::uint64_t file_size) {
  const std::uint64_t off = bat_offset(e);
  if (off < kHeaderSectionBytes || !detail::range_inside(off, length, file_size))
    return entry_error(l, i, e,
                       fmt::format("{} bytes at 0x{:x} expected past the header section and "
                                   "inside the {}-byte file (truncated?)",
                                   length, off, file_size));
  return {};
}

Status check_apart(const Layout& l, std::vector<Used> used, const std::vector<std::uint64_t>& bat) {
  const Header& h = l.headers.current;
  used.push_back({0, kHeaderSectionBytes, ~std::uint64_t{0}});
  if (h.log_length) used.push_back({h.log_offset, h.log_length, ~std::uint64_t{0}});
  used.push_back({l.bat.offset, l.bat.length, ~std::uint64_t{0}});
  used.push_back({l.metadata.offset, l.metadata.length, ~std::uint64_t{0}});
  std::sort(used.begin(), used.end(),
            [](const Used& a, const Used& b) { return a.offset < b.offset; });
  for (std::size_t k = 1; k < used.size(); ++k) {
    const Used& a = used[k - 1];
    const Used& b = used[k];
    if (b.offset >= a.offset + a.length) continue;
    const Used& blame = b.index != ~std::uint64_t{0} ? b : a;
    const Used& other = &blame == &b ? a : b;
    return entry_error(l, blame.index, bat[blame.index],
                       other.index == ~std::uint64_t{0}
                           ? fmt::format("block at 0x{:x} overlaps the header section, log, BAT "
                                         "or metadata region at 0x{:x}",
                                         blame.offset, other.offset)
                           : fmt::format("block at 0x{:x} overlaps the block of entry {}",
                                         blame.offset, other.index));
  }
  return {};
}

}  // namespace

Result<std::vector<std::uint64_t>> read_bat(const RandomAccessFile& file, const Layout& l) {
  const std::uint64_t bytes = l.bat_entries * 8;
  if (!detail::range_inside(l.bat.offset, bytes, l.real_file_size))
    return corrupt_at(kFormat, "BAT region", l.bat.offset,
                      fmt::format("{} entries ({} bytes) expected inside the {}-byte file",
                                  l.bat_entries, bytes, l.real_file_size));
  std::vector<std::byte> raw(static_cast<std::size_t>(bytes));
  VDISK_RETURN_IF_ERROR(file.read_at(l.bat.offset, raw));
  std::vector<std::uint64_t> bat(static_cast<std::size_t>(l.bat_entries));
  std::vector<Used> used;
  const bool diff = l.md.has_parent;
  for (std::uint64_t i = 0; i < bat.size(); ++i) {
    const std::uint64_t e = bat[i] =
        detail::load_le64(std::span<const std::byte>(raw).subspan(i * 8));
    const std::uint8_t s = bat_state(e);
    if ((i + 1) % (l.chunk_ratio + 1) == 0) {  // a sector bitmap entry
      if (!diff) continue;                     // unused without a parent
      if (s != kNotPresent && s != kFullyPresent)
        return entry_error(l, i, e,
                           fmt::format("sector bitmap state expected 0 or 6, found {}", s));
      if (s == kFullyPresent) {
        VDISK_RETURN_IF_ERROR(check_allocated(l, i, e, kSectorBitmapBytes, file.size()));
        used.push_back({bat_offset(e), kSectorBitmapBytes, i});
      }
      continue;
    }
    const std::uint64_t block = i / (l.chunk_ratio + 1) * l.chunk_ratio + i % (l.chunk_ratio + 1);
    if (block >= l.payload_blocks) continue;  // padding of a differencing disk's last chunk
    if (s == 4 || (s == kPartiallyPresent && !diff))
      return entry_error(l, i, e,
                         fmt::format("payload state {} is not valid {}", s,
                                     diff ? "" : "in a disk without a parent"));
    if (s != kFullyPresent && s != kPartiallyPresent) continue;
    // block < payload_blocks, so block * block_size < virtual_size.
    const std::uint64_t in_disk =
        std::min<std::uint64_t>(l.md.block_size, l.md.virtual_size - block * l.md.block_size);
    VDISK_RETURN_IF_ERROR(check_allocated(l, i, e, in_disk, file.size()));
    if (s == kPartiallyPresent) {
      const std::uint64_t bm = i / (l.chunk_ratio + 1) * (l.chunk_ratio + 1) + l.chunk_ratio;
      if (bm >= bat.size() ||
          bat_state(detail::load_le64(std::span<const std::byte>(raw).subspan(bm * 8))) !=
              kFullyPresent)
        return entry_error(l, i, e,
                           "a partially present block expected its chunk's sector "
                           "bitmap to be present, found it absent");
    }
    used.push_back({bat_offset(e), in_disk, i});
  }
  VDISK_RETURN_IF_ERROR(check_apart(l, std::move(used), bat));
  return bat;
}

}  // namespace vdisk::vhdx
