#include "formats/iso9660/iso_records.h"

#include <cstring>

#include <fmt/format.h>

#include "base/endian.h"
#include "base/utf.h"

namespace vdisk::iso9660::detail {
namespace {

using vdisk::detail::load_be16;
using vdisk::detail::load_be32;
using vdisk::detail::load_le16;
using vdisk::detail::load_le32;

// Directory record offsets.
constexpr std::size_t kRecLength = 0, kRecExtAttr = 1, kRecExtent = 2, kRecDataLength = 10,
                      kRecDate = 18, kRecFlags = 25, kRecUnit = 26, kRecGap = 27, kRecIdLen = 32,
                      kRecId = 33;
// Volume descriptor offsets.
constexpr std::size_t kVdType = 0, kVdMagic = 1, kVdVersion = 6, kVdSystemId = 8, kVdVolumeId = 40,
                      kVdSpaceSize = 80, kVdEscapes = 88, kVdSetSize = 120, kVdSeqNumber = 124,
                      kVdBlockSize = 128, kVdRoot = 156, kVdSetId = 190, kVdPublisher = 318,
                      kVdPreparer = 446, kVdApplication = 574, kVdCreation = 813,
                      kVdModification = 830, kVdAppUse = 883;
constexpr std::size_t kBootSystemId = 7, kBootCatalog = 71;
constexpr char kElTorito[] = "EL TORITO SPECIFICATION";

std::uint8_t u8(std::span<const std::byte> b, std::size_t i) {
  return std::to_integer<std::uint8_t>(b[i]);
}

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's civil algorithm).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? static_cast<unsigned>(-3) : 9u)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

std::int64_t to_unix(std::int64_t year, unsigned mon, unsigned day, unsigned h, unsigned mi,
                     unsigned s, int gmt_quarters) {
  if (mon < 1 || mon > 12) mon = 1;
  if (day < 1 || day > 31) day = 1;
  const std::int64_t days = days_from_civil(year, mon, day);
  return days * 86400 + h * 3600 + mi * 60 + s - std::int64_t{gmt_quarters} * 15 * 60;
}

// Removes a ";<digits>" version suffix.
void strip_version(std::string& s) {
  const auto semi = s.rfind(';');
  if (semi == std::string::npos) return;
  for (std::size_t i = semi + 1; i < s.size(); ++i)
    if (s[i] < '0' || s[i] > '9') return;
  s.resize(semi);
}

}  // namespace

std::optional<std::uint32_t> both_endian32(std::span<const std::byte> b) {
  const std::uint32_t le = load_le32(b), be = load_be32(b.subspan(4));
  if (le != be) return std::nullopt;
  return le;
}
std::optional<std::uint16_t> both_endian16(std::span<const std::byte> b) {
  const std::uint16_t le = load_le16(b), be = load_be16(b.subspan(2));
  if (le != be) return std::nullopt;
  return le;
}

std::string trim_field(std::span<const std::byte> b) {
  std::string s(reinterpret_cast<const char*>(b.data()), b.size());
  while (!s.empty() && (s.back() == ' ' || s.back() == '\0')) s.pop_back();
  return s;
}

Result<DirRecord> decode_dir_record(std::span<const std::byte> rec, std::uint64_t offset) {
  if (rec.empty()) return corrupt_at("iso9660", "directory record", offset, "no bytes");
  DirRecord r;
  r.length = u8(rec, kRecLength);
  if (r.length < kMinRecordLength)
    return corrupt_at("iso9660", "directory record", offset,
                      fmt::format("length expected >= {}, found {}", kMinRecordLength, r.length));
  if (r.length > rec.size())
    return corrupt_at(
        "iso9660", "directory record", offset,
        fmt::format("length {} crosses the sector end ({} bytes left)", r.length, rec.size()));
  rec = rec.first(r.length);
  r.ext_attr_length = u8(rec, kRecExtAttr);
  const auto extent = both_endian32(rec.subspan(kRecExtent));
  const auto length = both_endian32(rec.subspan(kRecDataLength));
  if (!extent || !length)
    return corrupt_at("iso9660", "directory record", offset,
                      "little- and big-endian copies of the extent or length disagree");
  r.extent = *extent;
  r.data_length = *length;
  r.recorded = decode_short_date(rec.subspan(kRecDate, 7));
  r.flags = u8(rec, kRecFlags);
  r.unit_size = u8(rec, kRecUnit);
  r.gap_size = u8(rec, kRecGap);
  const std::size_t id_len = u8(rec, kRecIdLen);
  if (kRecId + id_len > r.length)
    return corrupt_at(
        "iso9660", "directory record", offset,
        fmt::format("identifier of {} bytes runs past the record length {}", id_len, r.length));
  if (id_len == 0) return corrupt_at("iso9660", "directory record", offset, "empty identifier");
  r.identifier = rec.subspan(kRecId, id_len);
  std::size_t su = kRecId + id_len + (id_len % 2 == 0 ? 1 : 0);
  if (su > r.length) su = r.length;
  r.system_use = rec.subspan(su);
  return r;
}

std::int64_t decode_short_date(std::span<const std::byte> b) {
  const int off = static_cast<std::int8_t>(u8(b, 6));
  return to_unix(1900 + std::int64_t{u8(b, 0)}, u8(b, 1), u8(b, 2), u8(b, 3), u8(b, 4), u8(b, 5),
                 off);
}

std::optional<std::int64_t> decode_long_date(std::span<const std::byte> b) {
  unsigned v[7] = {};
  const std::size_t widths[7] = {4, 2, 2, 2, 2, 2, 2};
  std::size_t pos = 0;
  bool all_zero = true;
  for (int f = 0; f < 7; ++f) {
    unsigned n = 0;
    for (std::size_t i = 0; i < widths[f]; ++i) {
      const char c = static_cast<char>(b[pos + i]);
      if (c < '0' || c > '9') return std::nullopt;
      n = n * 10 + static_cast<unsigned>(c - '0');
    }
    pos += widths[f];
    v[f] = n;
    if (n != 0) all_zero = false;
  }
  if (all_zero) return std::nullopt;
  return to_unix(v[0], v[1], v[2], v[3], v[4], v[5], static_cast<std::int8_t>(u8(b, 16)));
}

Status check_component(std::string_view name, std::string_view what, std::uint64_t offset) {
  if (name.empty() || name == "." || name == "..")
    return corrupt_at("iso9660", what, offset,
                      fmt::format("name '{}' is not a usable file name", name));
  if (name.find('/') != std::string_view::npos || name.find('\0') != std::string_view::npos)
    return corrupt_at("iso9660", what, offset, "name contains '/' or NUL");
  return {};
}

Result<std::string> plain_name(std::span<const std::byte> id, std::uint64_t offset) {
  std::string s(reinterpret_cast<const char*>(id.data()), id.size());
  strip_version(s);
  if (!s.empty() && s.back() == '.') s.pop_back();
  VDISK_RETURN_IF_ERROR(check_component(s, "directory record", offset));
  return s;
}

Result<std::string> joliet_name(std::span<const std::byte> id, std::uint64_t offset) {
  // Joliet names are UCS-2/UTF-16 big-endian; a NUL is kept so check_component refuses it.
  std::string s =
      vdisk::detail::utf16_to_utf8(id, /*big_endian=*/true, vdisk::detail::Utf16End::whole);
  strip_version(s);
  VDISK_RETURN_IF_ERROR(check_component(s, "joliet directory record", offset));
  return s;
}

Result<VolumeDescriptor> decode_volume_descriptor(std::span<const std::byte> block,
                                                  std::uint64_t offset) {
  if (block.size() < kBlockSize)
    return corrupt_at("iso9660", "volume descriptor", offset, "truncated");
  if (std::memcmp(block.data() + kVdMagic, "CD001", 5) != 0)
    return corrupt_at("iso9660", "volume descriptor", offset,
                      "standard identifier expected 'CD001'");
  VolumeDescriptor vd;
  vd.type = u8(block, kVdType);
  vd.version = u8(block, kVdVersion);
  if (vd.type == kVdBoot) {
    vd.el_torito = std::memcmp(block.data() + kBootSystemId, kElTorito, sizeof kElTorito - 1) == 0;
    vd.boot_catalog = load_le32(block.subspan(kBootCatalog));
    return vd;
  }
  if (vd.type != kVdPrimary && vd.type != kVdSupplementary) return vd;

  vd.system_id = trim_field(block.subspan(kVdSystemId, 32));
  vd.volume_id = trim_field(block.subspan(kVdVolumeId, 32));
  vd.volume_set_id = trim_field(block.subspan(kVdSetId, 128));
  vd.publisher_id = trim_field(block.subspan(kVdPublisher, 128));
  vd.preparer_id = trim_field(block.subspan(kVdPreparer, 128));
  vd.application_id = trim_field(block.subspan(kVdApplication, 128));
  vd.application_use = trim_field(block.subspan(kVdAppUse, 512));
  const auto space = both_endian32(block.subspan(kVdSpaceSize));
  const auto set_size = both_endian16(block.subspan(kVdSetSize));
  const auto seq = both_endian16(block.subspan(kVdSeqNumber));
  const auto bsize = both_endian16(block.subspan(kVdBlockSize));
  if (!space || !set_size || !seq || !bsize)
    return corrupt_at("iso9660", "volume descriptor", offset,
                      "little- and big-endian copies of a size field disagree");
  vd.volume_blocks = *space;
  vd.block_size = *bsize;
  if (vd.block_size != kBlockSize)
    return unsupported(fmt::format(
        "iso9660: volume descriptor at offset {}: logical block size {} (only 2048 supported)",
        offset, vd.block_size));
  vd.escape_sequences = block.subspan(kVdEscapes, 32);
  vd.root_record = block.subspan(kVdRoot, kMinRecordLength);
  vd.creation = decode_long_date(block.subspan(kVdCreation, 17));
  vd.modification = decode_long_date(block.subspan(kVdModification, 17));
  if (vd.type == kVdSupplementary) {
    const auto* e = vd.escape_sequences.data();
    for (std::size_t i = 0; i + 2 < 32; ++i) {
      if (static_cast<char>(e[i]) != '%' || static_cast<char>(e[i + 1]) != '/') continue;
      const char c = static_cast<char>(e[i + 2]);
      vd.joliet_level = c == '@' ? 1 : c == 'C' ? 2 : c == 'E' ? 3 : 0;
      break;
    }
  }
  // ECMA-119 root record: flags must say "directory" and nothing odd (as libarchive checks).
  if ((u8(vd.root_record, kRecFlags) & 0x8E) != kFlagDirectory ||
      u8(vd.root_record, kRecLength) != kMinRecordLength)
    return corrupt_at("iso9660", "volume descriptor root record", offset + kVdRoot,
                      "not a 34-byte directory record");
  return vd;
}

}  // namespace vdisk::iso9660::detail
