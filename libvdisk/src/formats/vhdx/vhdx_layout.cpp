// The header section and the metadata region (MS-VHDX 2.2, 2.6; docs/vhdx.md): which header
// is current, the region table, the metadata items and the numbers derived from them.
#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "base/checked.h"
#include "base/endian.h"
#include "formats/vhdx/vhdx_reader.h"

namespace vdisk::vhdx {
namespace {

struct Range {
  std::uint64_t offset, length;
  std::string what;
};

// Regions, the log and the header section never overlap (MS-VHDX 2.2).
Status check_no_overlap(std::vector<Range> ranges, std::uint64_t at) {
  std::sort(ranges.begin(), ranges.end(),
            [](const Range& a, const Range& b) { return a.offset < b.offset; });
  for (std::size_t i = 1; i < ranges.size(); ++i)
    if (ranges[i].offset < ranges[i - 1].offset + ranges[i - 1].length)
      return corrupt_at(kFormat, "region table", at,
                        fmt::format("the {} at 0x{:x} expected apart from the {} ({} bytes at "
                                    "0x{:x}), found overlapping",
                                    ranges[i].what, ranges[i].offset, ranges[i - 1].what,
                                    ranges[i - 1].length, ranges[i - 1].offset));
  return {};
}

// The region table to use: table 1, or table 2 when table 1 fails its checks.
Result<std::vector<Region>> read_region_table(const RandomAccessFile& file, int& used) {
  std::vector<std::byte> raw(kRegionTableBytes);
  Status first;
  for (int i = 0; i < 2; ++i) {
    VDISK_RETURN_IF_ERROR(file.read_at(kRegionTableOffsets[i], raw));
    auto t = decode_region_table(raw, kRegionTableOffsets[i]);
    if (t.ok()) {
      used = i;
      return t;
    }
    if (i == 0) first = t.status();
  }
  return first;
}

Status pick_regions(const std::vector<Region>& table, Layout& l) {
  const std::uint64_t at = kRegionTableOffsets[l.region_table];
  bool have_bat = false, have_md = false;
  std::vector<Range> ranges{{0, kHeaderSectionBytes, "header section"}};
  const Header& h = l.headers.current;
  if (h.log_length != 0) ranges.push_back({h.log_offset, h.log_length, "log"});
  for (const Region& r : table) {
    const std::string id = guid_text(r.id);
    bool* seen = id == kBatRegion ? &have_bat : id == kMetadataRegion ? &have_md : nullptr;
    if (!seen) {
      if (r.required)
        return unsupported(
            fmt::format("vhdx: region table at 0x{:x}: unknown region {} is "
                        "marked required; this reader does not know it",
                        at, id));
      ranges.push_back({r.offset, r.length, "region " + id});
      continue;
    }
    if (*seen)
      return corrupt_at(kFormat, "region table", at,
                        fmt::format("region {} expected once, found twice", id));
    *seen = true;
    (id == kBatRegion ? l.bat : l.metadata) = r;
    ranges.push_back({r.offset, r.length, id == kBatRegion ? "BAT region" : "metadata region"});
  }
  if (!have_bat || !have_md)
    return corrupt_at(
        kFormat, "region table", at,
        fmt::format("the {} region expected, not found", have_bat ? "metadata" : "BAT"));
  return check_no_overlap(std::move(ranges), at);
}

// One known metadata item's bytes (exactly `size` of them).
Result<std::vector<std::byte>> read_item(const RandomAccessFile& file, const Layout& l,
                                         const MetadataEntry& e, std::uint32_t size,
                                         std::string_view name) {
  const std::uint64_t at = l.metadata.offset + e.offset;
  if (e.length != size && size != 0)
    return corrupt_at(kFormat, "metadata item", at,
                      fmt::format("{} expected {} bytes, found {}", name, size, e.length));
  std::vector<std::byte> raw(e.length);
  if (!detail::range_inside(at, e.length, file.size()))
    return corrupt_at(
        kFormat, "metadata item", at,
        fmt::format("{} ({} bytes) expected inside the {}-byte file", name, e.length, file.size()));
  VDISK_RETURN_IF_ERROR(file.read_at(at, raw));
  return raw;
}

Status decode_known_item(const RandomAccessFile& file, Layout& l, const MetadataEntry& e,
                         const std::string& id, unsigned& found) {
  Metadata& m = l.md;
  const std::uint64_t at = l.metadata.offset + e.offset;
  if (id == kFileParametersItem) {
    VDISK_ASSIGN_OR_RETURN(auto raw, read_item(file, l, e, 8, "file parameters"));
    m.block_size = detail::load_le32(raw);
    const std::uint32_t flags = detail::load_le32(std::span(raw).subspan(4));
    m.leave_blocks_allocated = flags & 1;
    m.has_parent = flags & 2;
    if (m.block_size < kMinBlockSize || m.block_size > kMaxBlockSize ||
        !detail::is_power_of_two(m.block_size))
      return corrupt_at(kFormat, "metadata item", at,
                        fmt::format("block size expected a power of two from 1 MiB to 256 MiB, "
                                    "found {}",
                                    m.block_size));
    found |= 1;
  } else if (id == kVirtualDiskSizeItem) {
    VDISK_ASSIGN_OR_RETURN(auto raw, read_item(file, l, e, 8, "virtual disk size"));
    m.virtual_size = detail::load_le64(raw);
    found |= 2;
  } else if (id == kPage83Item) {
    VDISK_ASSIGN_OR_RETURN(auto raw, read_item(file, l, e, 16, "virtual disk id"));
    m.page83 = load_guid(raw);
    found |= 4;
  } else if (id == kLogicalSectorItem || id == kPhysicalSectorItem) {
    const bool logical = id == kLogicalSectorItem;
    VDISK_ASSIGN_OR_RETURN(auto raw, read_item(file, l, e, 4, "sector size"));
    const std::uint32_t v = detail::load_le32(raw);
    if (v != 512 && v != 4096)
      return corrupt_at(kFormat, "metadata item", at,
                        fmt::format("{} sector size expected 512 or 4096, found {}",
                                    logical ? "logical" : "physical", v));
    (logical ? m.logical_sector : m.physical_sector) = v;
    found |= logical ? 8 : 16;
  } else if (id == kParentLocatorItem) {
    VDISK_ASSIGN_OR_RETURN(auto raw, read_item(file, l, e, 0, "parent locator"));
    VDISK_ASSIGN_OR_RETURN(m.parent, decode_parent_locator(raw, at));
  } else if (e.is_required) {
    return unsupported(
        fmt::format("vhdx: metadata table at 0x{:x}: unknown item {} is marked "
                    "required; this reader does not know it",
                    l.metadata.offset, id));
  }
  return {};
}

Status derive(Layout& l) {
  Metadata& m = l.md;
  const std::uint64_t at = l.metadata.offset;
  if (m.virtual_size == 0 || m.virtual_size > kMaxVirtualSize ||
      m.virtual_size % m.logical_sector != 0)
    return corrupt_at(kFormat, "metadata item", at,
                      fmt::format("virtual disk size expected a multiple of the {}-byte logical "
                                  "sector from 1 to {}, found {}",
                                  m.logical_sector, kMaxVirtualSize, m.virtual_size));
  if (m.has_parent && !m.parent)
    return corrupt_at(kFormat, "metadata table", at,
                      "the file parameters say the disk has a parent, but no parent locator "
                      "item was found");
  l.chunk_ratio = (std::uint64_t{1} << 23) * m.logical_sector / m.block_size;
  l.payload_blocks = detail::div_ceil(m.virtual_size, m.block_size);
  l.bat_entries = m.has_parent
                      ? detail::div_ceil(l.payload_blocks, l.chunk_ratio) * (l.chunk_ratio + 1)
                      : l.payload_blocks + (l.payload_blocks - 1) / l.chunk_ratio;
  if (l.bat_entries * 8 > l.bat.length)
    return corrupt_at(kFormat, "region table", kRegionTableOffsets[l.region_table],
                      fmt::format("BAT region expected at least {} bytes for {} entries, found {}",
                                  l.bat_entries * 8, l.bat_entries, l.bat.length));
  return {};
}

}  // namespace

Result<Headers> read_headers(const RandomAccessFile& file) {
  if (file.size() < kHeaderSectionBytes)
    return corrupt_at(kFormat, "header section", 0,
                      fmt::format("expected at least {} bytes, found {} (truncated)",
                                  kHeaderSectionBytes, file.size()));
  std::vector<std::byte> raw[2] = {std::vector<std::byte>(kHeaderBytes),
                                   std::vector<std::byte>(kHeaderBytes)};
  Result<Header> h[2] = {Header{}, Header{}};
  for (int i = 0; i < 2; ++i) {
    VDISK_RETURN_IF_ERROR(file.read_at(kHeaderOffsets[i], raw[i]));
    h[i] = decode_header(raw[i], kHeaderOffsets[i]);
  }
  if (!h[0].ok() && !h[1].ok()) return h[0].status();
  Headers out;
  out.both_valid = h[0].ok() && h[1].ok();
  if (out.both_valid && h[0]->sequence == h[1]->sequence && raw[0] != raw[1])
    return corrupt_at(kFormat, "header", kHeaderOffsets[1] + 8,
                      fmt::format("the two headers expected different sequence numbers or "
                                  "identical contents, found sequence {} in both with "
                                  "different contents",
                                  h[0]->sequence));
  out.index = !h[0].ok() || (h[1].ok() && h[1]->sequence > h[0]->sequence) ? 1 : 0;
  out.current = *h[out.index];
  return out;
}

Status read_regions_and_metadata(const RandomAccessFile& file, Layout& l) {
  VDISK_ASSIGN_OR_RETURN(const auto table, read_region_table(file, l.region_table));
  VDISK_RETURN_IF_ERROR(pick_regions(table, l));
  if (!detail::range_inside(l.metadata.offset, kMetadataTableBytes, file.size()))
    return corrupt_at(kFormat, "metadata region", l.metadata.offset,
                      fmt::format("table expected inside the {}-byte file", file.size()));
  std::vector<std::byte> raw(kMetadataTableBytes);
  VDISK_RETURN_IF_ERROR(file.read_at(l.metadata.offset, raw));
  VDISK_ASSIGN_OR_RETURN(const auto items,
                         decode_metadata_table(raw, l.metadata.length, l.metadata.offset));
  unsigned found = 0;
  for (const MetadataEntry& e : items)
    if (!e.is_user)
      VDISK_RETURN_IF_ERROR(decode_known_item(file, l, e, guid_text(e.id), found));
    else if (e.is_required)
      return unsupported(
          fmt::format("vhdx: metadata table at 0x{:x}: user item {} is marked "
                      "required; this reader does not know it",
                      l.metadata.offset, guid_text(e.id)));
  static constexpr std::string_view kNames[] = {"file parameters", "virtual disk size",
                                                "virtual disk id", "logical sector size",
                                                "physical sector size"};
  for (unsigned i = 0; i < 5; ++i)
    if (!(found & (1u << i)))
      return corrupt_at(kFormat, "metadata table", l.metadata.offset,
                        fmt::format("the {} item expected, not found", kNames[i]));
  return derive(l);
}

}  // namespace vdisk::vhdx
