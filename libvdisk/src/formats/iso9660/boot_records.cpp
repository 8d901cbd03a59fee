#include "formats/iso9660/boot_records.h"

#include <cstring>

#include <fmt/format.h>
#include <zlib.h>

#include "base/checked.h"
#include "base/endian.h"

namespace vdisk::iso9660::detail {
namespace {

using vdisk::detail::load_le16;
using vdisk::detail::load_le32;
using vdisk::detail::load_le64;

std::uint8_t u8(std::span<const std::byte> b, std::size_t i) {
  return std::to_integer<std::uint8_t>(b[i]);
}

ElToritoEntry decode_boot_entry(std::span<const std::byte> e, std::uint8_t platform) {
  ElToritoEntry x;
  x.platform = platform;
  x.bootable = u8(e, 0) == 0x88;
  x.media = u8(e, 1) & 0x0F;
  x.load_segment = load_le16(e.subspan(2));
  x.system_type = u8(e, 4);
  x.sector_count = load_le16(e.subspan(6));
  x.load_rba = load_le32(e.subspan(8));
  return x;
}

std::uint32_t crc32_of(std::span<const std::byte> b) {
  uLong c = crc32(0L, Z_NULL, 0);
  // zlib takes uInt lengths; GPT structures here are bounded far below 4 GiB.
  c = crc32(c, reinterpret_cast<const Bytef*>(b.data()), static_cast<uInt>(b.size()));
  return static_cast<std::uint32_t>(c);
}

}  // namespace

Result<std::vector<ElToritoEntry>> decode_boot_catalog(std::span<const std::byte> cat,
                                                       std::uint64_t offset) {
  if (cat.size() < 2 * kCatalogEntry)
    return corrupt_at("iso9660", "el torito boot catalog", offset, "shorter than two entries");
  const auto val = cat.first(kCatalogEntry);
  if (u8(val, 0) != 0x01 || u8(val, 30) != 0x55 || u8(val, 31) != 0xAA)
    return corrupt_at("iso9660", "el torito validation entry", offset,
                      "expected header id 01 and key bytes 55 AA");
  std::uint16_t sum = 0;
  for (std::size_t i = 0; i < kCatalogEntry; i += 2)
    sum = static_cast<std::uint16_t>(sum + load_le16(val.subspan(i)));
  if (sum != 0)
    return corrupt_at("iso9660", "el torito validation entry", offset,
                      fmt::format("checksum words sum to 0x{:04x}, expected 0", sum));
  std::vector<ElToritoEntry> out;
  out.push_back(decode_boot_entry(cat.subspan(kCatalogEntry, kCatalogEntry), u8(val, 1)));

  const std::size_t n = std::min(cat.size() / kCatalogEntry, kMaxCatalogEntries);
  std::size_t i = 2;
  while (i < n) {
    const auto h = cat.subspan(i * kCatalogEntry, kCatalogEntry);
    const std::uint8_t id = u8(h, 0);
    if (id != 0x90 && id != 0x91) break;  // end of catalog (zeros) or unknown
    const std::uint8_t platform = u8(h, 1);
    const std::size_t count = load_le16(h.subspan(2));
    ++i;
    for (std::size_t k = 0; k < count && i < n; ++i) {
      const auto e = cat.subspan(i * kCatalogEntry, kCatalogEntry);
      if (u8(e, 0) == 0x44) continue;  // extension entry belongs to the previous entry
      if (u8(e, 0) != 0x88 && u8(e, 0) != 0x00)
        return corrupt_at(
            "iso9660", "el torito section entry", offset + i * kCatalogEntry,
            fmt::format("boot indicator expected 0x88 or 0x00, found 0x{:02x}", u8(e, 0)));
      out.push_back(decode_boot_entry(e, platform));
      ++k;
    }
    if (id == 0x91) break;
  }
  return out;
}

Mbr decode_mbr(std::span<const std::byte, 512> s) {
  Mbr m;
  m.signature = u8(s, 510) == 0x55 && u8(s, 511) == 0xAA;
  for (std::size_t i = 0; i < 440; ++i)
    if (s[i] != std::byte{0}) {
      m.code_present = true;
      break;
    }
  m.boot_lba = load_le64(s.subspan(432, 8));
  if (!m.signature) return m;
  for (int p = 0; p < 4; ++p) {
    const auto e = s.subspan(446 + 16 * static_cast<std::size_t>(p), 16);
    MbrPartition part;
    part.index = p + 1;
    part.active = u8(e, 0) == 0x80;
    part.type = u8(e, 4);
    part.start_lba = load_le32(e.subspan(8));
    part.sectors = load_le32(e.subspan(12));
    if (part.type == 0 && part.sectors == 0 && part.start_lba == 0) continue;
    m.partitions.push_back(part);
  }
  return m;
}

std::string guid_text(std::span<const std::byte, 16> g) {
  return fmt::format("{:08x}-{:04x}-{:04x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
                     load_le32(g), load_le16(g.subspan(4)), load_le16(g.subspan(6)), u8(g, 8),
                     u8(g, 9), u8(g, 10), u8(g, 11), u8(g, 12), u8(g, 13), u8(g, 14), u8(g, 15));
}

Result<GptHeader> decode_gpt_header(std::span<const std::byte, 512> s, std::uint64_t offset) {
  if (std::memcmp(s.data(), "EFI PART", 8) != 0)
    return corrupt_at("gpt", "header", offset, "signature 'EFI PART' not found");
  const std::uint32_t size = load_le32(s.subspan(12));
  if (size < 92 || size > 512)
    return corrupt_at("gpt", "header", offset,
                      fmt::format("header size expected 92..512, found {}", size));
  std::array<std::byte, 512> copy{};
  std::memcpy(copy.data(), s.data(), size);
  std::memset(copy.data() + 16, 0, 4);
  const std::uint32_t stored = load_le32(s.subspan(16));
  const std::uint32_t actual = crc32_of(std::span<const std::byte>(copy).first(size));
  if (stored != actual)
    return corrupt_at("gpt", "header", offset,
                      fmt::format("CRC32 expected 0x{:08x}, found 0x{:08x}", actual, stored));
  GptHeader h;
  h.current_lba = load_le64(s.subspan(24));
  h.backup_lba = load_le64(s.subspan(32));
  h.first_usable = load_le64(s.subspan(40));
  h.last_usable = load_le64(s.subspan(48));
  h.entries_lba = load_le64(s.subspan(72));
  h.entry_count = load_le32(s.subspan(80));
  h.entry_size = load_le32(s.subspan(84));
  h.entries_crc = load_le32(s.subspan(88));
  if (h.entry_size < 128 || h.entry_size > kMaxGptEntrySize || h.entry_size % 8 != 0)
    return corrupt_at("gpt", "header", offset,
                      fmt::format("entry size expected 128..{} (multiple of 8), found {}",
                                  kMaxGptEntrySize, h.entry_size));
  if (h.entry_count > kMaxGptEntries)
    return corrupt_at("gpt", "header", offset,
                      fmt::format("entry count {} exceeds {}", h.entry_count, kMaxGptEntries));
  return h;
}

Result<std::vector<GptPartition>> decode_gpt_entries(const GptHeader& h,
                                                     std::span<const std::byte> array,
                                                     std::uint64_t offset) {
  const std::size_t bytes = std::size_t{h.entry_count} * h.entry_size;
  if (array.size() < bytes) return corrupt_at("gpt", "entry array", offset, "truncated");
  const std::uint32_t actual = crc32_of(array.first(bytes));
  if (actual != h.entries_crc)
    return corrupt_at(
        "gpt", "entry array", offset,
        fmt::format("CRC32 expected 0x{:08x}, found 0x{:08x}", h.entries_crc, actual));
  std::vector<GptPartition> out;
  for (std::uint32_t i = 0; i < h.entry_count; ++i) {
    const auto e = array.subspan(std::size_t{i} * h.entry_size, 128);
    bool used = false;
    for (std::size_t k = 0; k < 16; ++k) used |= e[k] != std::byte{0};
    if (!used) continue;
    GptPartition p;
    p.index = static_cast<int>(i + 1);
    p.type_guid = guid_text(e.first<16>());
    p.first_lba = load_le64(e.subspan(32));
    p.last_lba = load_le64(e.subspan(40));
    p.attributes = load_le64(e.subspan(48));
    for (std::size_t k = 0; k < 36; ++k) {  // UTF-16LE name, ASCII subset kept
      const std::uint16_t c = load_le16(e.subspan(56 + 2 * k));
      if (c == 0) break;
      p.name += c < 0x80 ? static_cast<char>(c) : '?';
    }
    p.esp = p.type_guid == kEspGuid;
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace vdisk::iso9660::detail
