// Decoders of the fixed VHDX structures (vhdx_format.h): headers, region tables, the metadata
// table and the parent locator item. MS-VHDX sections 2.2 (header section) and 2.6 (metadata).
#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "checksum/crc32c.h"
#include "base/checked.h"
#include "base/endian.h"
#include "base/utf.h"
#include "formats/vhdx/vhdx_format.h"

namespace vdisk::vhdx {
namespace {

bool has_signature(std::span<const std::byte> b, std::string_view sig) {
  return b.size() >= sig.size() && std::memcmp(b.data(), sig.data(), sig.size()) == 0;
}

// CRC-32C of `raw` with the 4-byte checksum field at `field` taken as zero.
std::uint32_t crc_without_field(std::span<const std::byte> raw, std::size_t field) {
  std::uint32_t c = checksum::crc32c(0, raw.first(field));
  c = checksum::crc32c_zeros(c, 4);
  return checksum::crc32c(c, raw.subspan(field + 4));
}

Status check_crc(std::span<const std::byte> raw, std::string_view structure, std::uint64_t at) {
  const std::uint32_t stored = detail::load_le32(raw.subspan(4));
  const std::uint32_t computed = crc_without_field(raw, 4);
  if (stored != computed)
    return corrupt_at(kFormat, structure, at + 4,
                      fmt::format("CRC-32C over {} bytes expected 0x{:08x}, found 0x{:08x}",
                                  raw.size(), computed, stored));
  return {};
}

Status check_table_head(std::span<const std::byte> raw, std::string_view sig,
                        std::string_view structure, std::uint64_t at) {
  if (has_signature(raw, sig)) return {};
  return corrupt_at(kFormat, structure, at, fmt::format("signature expected '{}', not found", sig));
}

Status check_count(std::uint32_t count, std::uint32_t max, std::string_view structure,
                   std::uint64_t at) {
  if (count <= max) return {};
  return corrupt_at(kFormat, structure, at,
                    fmt::format("entry count expected at most {}, found {}", max, count));
}

}  // namespace

Guid load_guid(std::span<const std::byte> b) {
  Guid g{};
  for (std::size_t i = 0; i < g.size(); ++i) g[i] = std::to_integer<std::uint8_t>(b[i]);
  return g;
}

std::string guid_text(const Guid& g) {
  return fmt::format(
      "{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-"
      "{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
      g[3], g[2], g[1], g[0], g[5], g[4], g[7], g[6], g[8], g[9], g[10], g[11], g[12], g[13], g[14],
      g[15]);
}

bool is_zero(const Guid& g) {
  return std::all_of(g.begin(), g.end(), [](std::uint8_t b) { return b == 0; });
}

Result<Header> decode_header(std::span<const std::byte> raw, std::uint64_t at) {
  VDISK_RETURN_IF_ERROR(check_table_head(raw, "head", "header", at));
  VDISK_RETURN_IF_ERROR(check_crc(raw.first(kHeaderBytes), "header", at));
  Header h;
  h.sequence = detail::load_le64(raw.subspan(8));
  h.file_write = load_guid(raw.subspan(16));
  h.data_write = load_guid(raw.subspan(32));
  h.log_guid = load_guid(raw.subspan(48));
  h.log_version = detail::load_le16(raw.subspan(64));
  h.version = detail::load_le16(raw.subspan(66));
  h.log_length = detail::load_le32(raw.subspan(68));
  h.log_offset = detail::load_le64(raw.subspan(72));
  if (h.version != 1)
    return unsupported(
        fmt::format("vhdx: header at 0x{:x}: version expected 1, found {}", at, h.version));
  if (h.log_version != 0)
    return unsupported(
        fmt::format("vhdx: header at 0x{:x}: log version expected 0, found {}", at, h.log_version));
  if (h.log_length % kMiB != 0 || h.log_offset % kMiB != 0 ||
      (h.log_length != 0 && h.log_offset < kHeaderSectionBytes))
    return corrupt_at(kFormat, "header", at + 68,
                      fmt::format("log expected at a 1 MiB multiple past the header section "
                                  "with a 1 MiB-multiple length, found {} bytes at 0x{:x}",
                                  h.log_length, h.log_offset));
  return h;
}

Result<std::vector<Region>> decode_region_table(std::span<const std::byte> raw, std::uint64_t at) {
  VDISK_RETURN_IF_ERROR(check_table_head(raw, "regi", "region table", at));
  VDISK_RETURN_IF_ERROR(check_crc(raw.first(kRegionTableBytes), "region table", at));
  const std::uint32_t count = detail::load_le32(raw.subspan(8));
  VDISK_RETURN_IF_ERROR(check_count(count, kMaxRegionEntries, "region table", at + 8));
  std::vector<Region> out;
  for (std::uint32_t i = 0; i < count; ++i) {
    const auto e = raw.subspan(16 + std::size_t{i} * 32, 32);
    Region r;
    r.id = load_guid(e);
    r.offset = detail::load_le64(e.subspan(16));
    r.length = detail::load_le32(e.subspan(24));
    r.required = (detail::load_le32(e.subspan(28)) & 1) != 0;
    if (r.offset < kHeaderSectionBytes || r.offset % kMiB != 0 || r.length == 0 ||
        r.length % kMiB != 0 || !detail::checked_add(r.offset, r.length))
      return corrupt_at(kFormat, "region table", at + 16 + std::size_t{i} * 32,
                        fmt::format("region {} ({}) expected a 1 MiB-aligned, non-empty 1 MiB "
                                    "multiple past the header section, found {} bytes at 0x{:x}",
                                    i, guid_text(r.id), r.length, r.offset));
    out.push_back(r);
  }
  return out;
}

Result<std::vector<MetadataEntry>> decode_metadata_table(std::span<const std::byte> raw,
                                                         std::uint64_t region_length,
                                                         std::uint64_t at) {
  VDISK_RETURN_IF_ERROR(check_table_head(raw, "metadata", "metadata table", at));
  const std::uint16_t count = detail::load_le16(raw.subspan(10));
  VDISK_RETURN_IF_ERROR(check_count(count, kMaxMetadataEntries, "metadata table", at + 10));
  std::vector<MetadataEntry> out;
  for (std::uint16_t i = 0; i < count; ++i) {
    const std::uint64_t eat = at + 32 + std::uint64_t{i} * 32;
    const auto e = raw.subspan(32 + std::size_t{i} * 32, 32);
    MetadataEntry m;
    m.id = load_guid(e);
    m.offset = detail::load_le32(e.subspan(16));
    m.length = detail::load_le32(e.subspan(20));
    const std::uint32_t flags = detail::load_le32(e.subspan(24));
    m.is_user = flags & 1;
    m.is_virtual_disk = flags & 2;
    m.is_required = flags & 4;
    const bool placed = m.length == 0 ? m.offset == 0
                                      : m.offset >= kMetadataTableBytes &&
                                            m.length <= kMaxMetadataItemBytes &&
                                            detail::range_inside(m.offset, m.length, region_length);
    if (!placed)
      return corrupt_at(kFormat, "metadata table", eat,
                        fmt::format("item {} ({}) expected at most {} bytes inside the {}-byte "
                                    "region past its table, found {} bytes at +0x{:x}",
                                    i, guid_text(m.id), kMaxMetadataItemBytes, region_length,
                                    m.length, m.offset));
    for (const MetadataEntry& o : out) {
      if (o.id == m.id && o.is_user == m.is_user)
        return corrupt_at(
            kFormat, "metadata table", eat,
            fmt::format("item {} ({}) expected once, found twice", i, guid_text(m.id)));
      if (m.length != 0 && o.length != 0 && m.offset < o.offset + o.length &&
          o.offset < m.offset + m.length)
        return corrupt_at(kFormat, "metadata table", eat,
                          fmt::format("item {} ({}) at +0x{:x} expected apart from item {}, "
                                      "found overlapping",
                                      i, guid_text(m.id), m.offset, guid_text(o.id)));
    }
    out.push_back(m);
  }
  return out;
}

std::string ParentLocator::get(std::string_view key) const {
  for (const auto& [k, v] : entries)
    if (k == key) return v;
  return {};
}

Result<ParentLocator> decode_parent_locator(std::span<const std::byte> raw, std::uint64_t at) {
  if (raw.size() < 20)
    return corrupt_at(kFormat, "parent locator", at,
                      fmt::format("expected at least 20 bytes, found {}", raw.size()));
  ParentLocator p;
  p.type = load_guid(raw);
  const std::uint16_t count = detail::load_le16(raw.subspan(18));
  if (20 + std::uint64_t{count} * 12 > raw.size())
    return corrupt_at(
        kFormat, "parent locator", at + 18,
        fmt::format("{} key/value entries expected inside the {}-byte item", count, raw.size()));
  for (std::uint16_t i = 0; i < count; ++i) {
    const auto e = raw.subspan(20 + std::size_t{i} * 12, 12);
    const std::uint32_t ko = detail::load_le32(e), vo = detail::load_le32(e.subspan(4));
    const std::uint16_t kl = detail::load_le16(e.subspan(8)), vl = detail::load_le16(e.subspan(10));
    if (!detail::range_inside(ko, kl, raw.size()) || !detail::range_inside(vo, vl, raw.size()) ||
        kl == 0)
      return corrupt_at(kFormat, "parent locator", at + 20 + std::size_t{i} * 12,
                        fmt::format("entry {}: key ({} bytes at +{}) and value ({} bytes at "
                                    "+{}) expected inside the {}-byte item",
                                    i, kl, ko, vl, vo, raw.size()));
    p.entries.emplace_back(
        detail::utf16_to_utf8(raw.subspan(ko, kl), false, detail::Utf16End::whole),
        detail::utf16_to_utf8(raw.subspan(vo, vl), false, detail::Utf16End::whole));
  }
  return p;
}

}  // namespace vdisk::vhdx
