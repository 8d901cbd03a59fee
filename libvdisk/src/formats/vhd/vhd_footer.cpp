#include "formats/vhd/vhd_footer.h"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "base/endian.h"

namespace vdisk::vhd {

using detail::load_be16;
using detail::load_be32;
using detail::load_be64;
using detail::store_be16;
using detail::store_be32;
using detail::store_be64;

Geometry chs_for_size(std::uint64_t size_bytes) {
  // Integer arithmetic exactly as the specification's appendix states it.
  constexpr std::uint64_t kMaxSectors = 65535ull * 16 * 255;
  std::uint64_t total = std::min(size_bytes / 512, kMaxSectors);
  std::uint64_t spt, heads, cth;
  if (total >= 65535ull * 16 * 63) {
    spt = 255;
    heads = 16;
    cth = total / spt;
  } else {
    spt = 17;
    cth = total / spt;
    heads = (cth + 1023) / 1024;
    if (heads < 4) heads = 4;
    if (cth >= heads * 1024 || heads > 16) {
      spt = 31;
      heads = 16;
      cth = total / spt;
    }
    if (cth >= heads * 1024) {
      spt = 63;
      heads = 16;
      cth = total / spt;
    }
  }
  Geometry g;
  g.cylinders = static_cast<std::uint16_t>(std::min<std::uint64_t>(cth / heads, 65535));
  g.heads = static_cast<std::uint8_t>(heads);
  g.sectors = static_cast<std::uint8_t>(spt);
  return g;
}

std::uint32_t footer_checksum(std::span<const std::byte> footer) {
  std::uint32_t sum = 0;
  for (std::size_t i = 0; i < kFooterSize; ++i) {
    if (i >= kOffChecksum && i < kOffChecksum + 4) continue;
    sum += static_cast<std::uint8_t>(footer[i]);
  }
  return ~sum;
}

std::array<std::byte, kFooterSize> encode_footer(const Footer& f) {
  std::array<std::byte, kFooterSize> b{};
  std::span<std::byte> s(b);
  std::memcpy(b.data() + kOffCookie, f.cookie.data(), 8);
  store_be32(s.subspan(kOffFeatures), f.features);
  store_be32(s.subspan(kOffVersion), f.version);
  store_be64(s.subspan(kOffDataOffset), f.data_offset);
  store_be32(s.subspan(kOffTimestamp), f.timestamp);
  std::memcpy(b.data() + kOffCreatorApp, f.creator_app.data(), 4);
  store_be32(s.subspan(kOffCreatorVersion), f.creator_version);
  store_be32(s.subspan(kOffCreatorOs), f.creator_os);
  store_be64(s.subspan(kOffOriginalSize), f.original_size);
  store_be64(s.subspan(kOffCurrentSize), f.current_size);
  store_be16(s.subspan(kOffCylinders), f.geometry.cylinders);
  b[kOffHeads] = static_cast<std::byte>(f.geometry.heads);
  b[kOffSectors] = static_cast<std::byte>(f.geometry.sectors);
  store_be32(s.subspan(kOffDiskType), f.disk_type);
  std::memcpy(b.data() + kOffUniqueId, f.unique_id.data(), 16);
  b[kOffSavedState] = static_cast<std::byte>(f.saved_state);
  store_be32(s.subspan(kOffChecksum), footer_checksum(b));
  return b;
}

Result<Footer> decode_footer(std::span<const std::byte> bytes, std::uint64_t offset) {
  if (bytes.size() < kFooterSize)
    return corrupt_at("vhd", "footer", offset,
                      fmt::format("expected {} bytes, found {}", kFooterSize, bytes.size()));
  Footer f;
  std::memcpy(f.cookie.data(), bytes.data() + kOffCookie, 8);
  if (std::memcmp(f.cookie.data(), "conectix", 8) != 0)
    return corrupt_at("vhd", "footer", offset, "cookie is not \"conectix\"");
  f.features = load_be32(bytes.subspan(kOffFeatures));
  f.version = load_be32(bytes.subspan(kOffVersion));
  f.data_offset = load_be64(bytes.subspan(kOffDataOffset));
  f.timestamp = load_be32(bytes.subspan(kOffTimestamp));
  std::memcpy(f.creator_app.data(), bytes.data() + kOffCreatorApp, 4);
  f.creator_version = load_be32(bytes.subspan(kOffCreatorVersion));
  f.creator_os = load_be32(bytes.subspan(kOffCreatorOs));
  f.original_size = load_be64(bytes.subspan(kOffOriginalSize));
  f.current_size = load_be64(bytes.subspan(kOffCurrentSize));
  f.geometry.cylinders = load_be16(bytes.subspan(kOffCylinders));
  f.geometry.heads = static_cast<std::uint8_t>(bytes[kOffHeads]);
  f.geometry.sectors = static_cast<std::uint8_t>(bytes[kOffSectors]);
  f.disk_type = load_be32(bytes.subspan(kOffDiskType));
  f.checksum = load_be32(bytes.subspan(kOffChecksum));
  std::memcpy(f.unique_id.data(), bytes.data() + kOffUniqueId, 16);
  f.saved_state = static_cast<std::uint8_t>(bytes[kOffSavedState]);
  return f;
}

std::uint64_t qemu_visible_size(const Footer& f) {
  static constexpr std::array<std::array<char, 4>, 5> kTrusted{{{'w', 'i', 'n', ' '},
                                                                {'q', 'e', 'm', '2'},
                                                                {'d', '2', 'v', ' '},
                                                                {'C', 'T', 'X', 'S'},
                                                                {'t', 'a', 'p', '\0'}}};
  if (std::find(kTrusted.begin(), kTrusted.end(), f.creator_app) != kTrusted.end() ||
      f.geometry == kMaxGeometry)
    return f.current_size;
  return f.geometry.bytes();
}

}  // namespace vdisk::vhd
