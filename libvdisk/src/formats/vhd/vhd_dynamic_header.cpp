#include "formats/vhd/vhd_dynamic_header.h"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "base/checked.h"
#include "base/endian.h"

namespace vdisk::vhd {

using detail::load_be32;
using detail::load_be64;
using detail::store_be32;
using detail::store_be64;

std::uint32_t dynamic_header_checksum(std::span<const std::byte> header) {
  std::uint32_t sum = 0;
  for (std::size_t i = 0; i < kDynHeaderSize; ++i) {
    if (i >= kDynOffChecksum && i < kDynOffChecksum + 4) continue;
    sum += static_cast<std::uint8_t>(header[i]);
  }
  return ~sum;
}

std::array<std::byte, kDynHeaderSize> encode_dynamic_header(const DynamicHeader& h) {
  std::array<std::byte, kDynHeaderSize> b{};
  std::span<std::byte> s(b);
  std::memcpy(b.data() + kDynOffCookie, h.cookie.data(), 8);
  store_be64(s.subspan(kDynOffDataOffset), h.data_offset);
  store_be64(s.subspan(kDynOffTableOffset), h.table_offset);
  store_be32(s.subspan(kDynOffVersion), h.version);
  store_be32(s.subspan(kDynOffMaxEntries), h.max_table_entries);
  store_be32(s.subspan(kDynOffBlockSize), h.block_size);
  std::memcpy(b.data() + kDynOffParentId, h.parent_unique_id.data(), 16);
  store_be32(s.subspan(kDynOffParentTime), h.parent_timestamp);
  std::memcpy(b.data() + kDynOffParentName, h.parent_name.data(), kDynParentNameSize);
  for (std::size_t i = 0; i < kLocatorCount; ++i) {
    auto l = s.subspan(kDynOffLocators + i * kLocatorSize, kLocatorSize);
    store_be32(l.subspan(kLocOffCode), h.locators[i].platform_code);
    store_be32(l.subspan(kLocOffSpace), h.locators[i].data_space);
    store_be32(l.subspan(kLocOffLength), h.locators[i].data_length);
    store_be64(l.subspan(kLocOffDataOffset), h.locators[i].data_offset);
  }
  store_be32(s.subspan(kDynOffChecksum), dynamic_header_checksum(b));
  return b;
}

Result<DynamicHeader> decode_dynamic_header(std::span<const std::byte> bytes,
                                            std::uint64_t offset) {
  if (bytes.size() < kDynHeaderSize)
    return corrupt_at("vhd", "dynamic header", offset,
                      fmt::format("expected {} bytes, found {}", kDynHeaderSize, bytes.size()));
  DynamicHeader h;
  if (std::memcmp(bytes.data() + kDynOffCookie, "cxsparse", 8) != 0)
    return corrupt_at("vhd", "dynamic header", offset,
                      "cookie expected \"cxsparse\", found other bytes");
  h.data_offset = load_be64(bytes.subspan(kDynOffDataOffset));
  h.table_offset = load_be64(bytes.subspan(kDynOffTableOffset));
  h.version = load_be32(bytes.subspan(kDynOffVersion));
  h.max_table_entries = load_be32(bytes.subspan(kDynOffMaxEntries));
  h.block_size = load_be32(bytes.subspan(kDynOffBlockSize));
  h.checksum = load_be32(bytes.subspan(kDynOffChecksum));
  std::memcpy(h.parent_unique_id.data(), bytes.data() + kDynOffParentId, 16);
  h.parent_timestamp = load_be32(bytes.subspan(kDynOffParentTime));
  std::memcpy(h.parent_name.data(), bytes.data() + kDynOffParentName, kDynParentNameSize);
  for (std::size_t i = 0; i < kLocatorCount; ++i) {
    auto l = bytes.subspan(kDynOffLocators + i * kLocatorSize, kLocatorSize);
    h.locators[i].platform_code = load_be32(l.subspan(kLocOffCode));
    h.locators[i].data_space = load_be32(l.subspan(kLocOffSpace));
    h.locators[i].data_length = load_be32(l.subspan(kLocOffLength));
    h.locators[i].data_offset = load_be64(l.subspan(kLocOffDataOffset));
  }
  const std::uint32_t sum = dynamic_header_checksum(bytes);
  if (h.checksum != sum)
    return corrupt_at("vhd", "dynamic header", offset,
                      fmt::format("checksum expected 0x{:08x}, found 0x{:08x}", sum, h.checksum));
  if ((h.version >> 16) != 1)
    return unsupported(
        fmt::format("vhd: dynamic header at offset {}: version expected 1.x, found 0x{:08x}",
                    offset, h.version));
  return h;
}

namespace {

bool overlaps(std::uint64_t a, std::uint64_t alen, std::uint64_t b, std::uint64_t blen) {
  return a < b + blen && b < a + alen;
}

}  // namespace

Result<DynamicLayout> plan_layout(const Footer& footer, const DynamicHeader& header,
                                  std::uint64_t file_size, bool end_footer) {
  DynamicLayout l;
  l.file_size = file_size;
  l.data_limit = end_footer && file_size >= kFooterSize ? file_size - kFooterSize : file_size;
  l.header_offset = footer.data_offset;
  l.virtual_size = footer.current_size;
  if (l.virtual_size > kMaxDynamicSize)
    return unsupported(
        fmt::format("vhd: footer: current size {} exceeds the dynamic disk limit "
                    "of {} bytes (2040 GiB)",
                    l.virtual_size, kMaxDynamicSize));
  if (l.header_offset < kFooterSize ||
      !detail::range_inside(l.header_offset, kDynHeaderSize, l.data_limit))
    return corrupt_at("vhd", "footer", 0,
                      fmt::format("data offset expected a dynamic header inside [512, {}), "
                                  "found {}",
                                  l.data_limit, l.header_offset));
  const std::uint32_t bs = header.block_size;
  if (!detail::is_power_of_two(bs) || bs < kMinBlockSize || bs > kMaxBlockSize)
    return corrupt_at("vhd", "dynamic header", l.header_offset + kDynOffBlockSize,
                      fmt::format("block size expected a power of two in [{}, {}], found {}",
                                  kMinBlockSize, kMaxBlockSize, bs));
  l.block_size = bs;
  l.bitmap_bytes = static_cast<std::uint32_t>(
      *detail::round_up(detail::div_ceil(bs / 512, 8), detail::kSectorSize));
  l.used_entries = detail::div_ceil(l.virtual_size, bs);
  const std::uint64_t entries = header.max_table_entries;
  if (entries < l.used_entries)
    return corrupt_at("vhd", "dynamic header", l.header_offset + kDynOffMaxEntries,
                      fmt::format("max table entries expected at least {} to cover the current "
                                  "size {} in blocks of {}, found {}",
                                  l.used_entries, l.virtual_size, bs, entries));
  if (l.used_entries > kMaxBatEntries)
    return resource_exhausted(
        fmt::format("vhd: dynamic header: {} BAT entries exceed the "
                    "limit of {}",
                    l.used_entries, kMaxBatEntries));
  // Tools write exactly ceil(size/block) entries (older qemu one more); a table far larger
  // than the disk it describes is not something a writer produces.
  if (entries > l.used_entries + 1 && entries > kMaxBatEntries)
    return corrupt_at(
        "vhd", "dynamic header", l.header_offset + kDynOffMaxEntries,
        fmt::format("max table entries expected about {}, found {}", l.used_entries, entries));
  l.table_offset = header.table_offset;
  l.table_bytes = entries * 4;
  if (l.table_offset < kFooterSize ||
      !detail::range_inside(l.table_offset, l.table_bytes, l.data_limit))
    return corrupt_at("vhd", "dynamic header", l.header_offset + kDynOffTableOffset,
                      fmt::format("table offset expected a {}-byte BAT inside [512, {}), found {}",
                                  l.table_bytes, l.data_limit, l.table_offset));
  if (overlaps(l.table_offset, l.table_bytes, l.header_offset, kDynHeaderSize))
    return corrupt_at("vhd", "dynamic header", l.header_offset + kDynOffTableOffset,
                      fmt::format("BAT [{}, +{}) overlaps the dynamic header at {}", l.table_offset,
                                  l.table_bytes, l.header_offset));
  return l;
}

Result<std::vector<std::uint32_t>> decode_bat(const DynamicLayout& l,
                                              std::span<const std::byte> bytes) {
  if (bytes.size() / 4 < l.used_entries)
    return corrupt_at(
        "vhd", "BAT", l.table_offset,
        fmt::format("expected {} entries, found {} bytes", l.used_entries, bytes.size()));
  std::vector<std::uint32_t> bat(static_cast<std::size_t>(l.used_entries));
  std::vector<std::uint64_t> keys;  // (sector << 22) | index, to find overlapping blocks
  for (std::size_t i = 0; i < bat.size(); ++i) {
    bat[i] = load_be32(bytes.subspan(4 * i));
    if (bat[i] == kBatUnused) continue;
    const std::uint64_t off = std::uint64_t{bat[i]} * 512;
    const std::uint64_t block_start = i * std::uint64_t{l.block_size};
    const std::uint64_t span =
        l.bitmap_bytes + std::min<std::uint64_t>(l.block_size, l.virtual_size - block_start);
    const std::uint64_t entry_at = l.table_offset + 4 * i;
    if (off < kFooterSize || !detail::range_inside(off, span, l.data_limit))
      return corrupt_at("vhd", "BAT", entry_at,
                        fmt::format("entry {} expected a block of {} bytes inside [512, {}), "
                                    "found offset {}",
                                    i, span, l.data_limit, off));
    if (overlaps(off, span, l.header_offset, kDynHeaderSize) ||
        overlaps(off, span, l.table_offset, l.table_bytes))
      return corrupt_at("vhd", "BAT", entry_at,
                        fmt::format("entry {} block [{}, +{}) overlaps the dynamic header at {} "
                                    "or the BAT at {}",
                                    i, off, span, l.header_offset, l.table_offset));
    keys.push_back(std::uint64_t{bat[i]} << 22 | i);
  }
  std::sort(keys.begin(), keys.end());
  const std::uint64_t mask = (1ull << 22) - 1;
  for (std::size_t k = 1; k < keys.size(); ++k) {
    const std::uint64_t pi = keys[k - 1] & mask, ci = keys[k] & mask;
    const std::uint64_t prev_off = (keys[k - 1] >> 22) * 512, cur_off = (keys[k] >> 22) * 512;
    const std::uint64_t prev_span =
        l.bitmap_bytes +
        std::min<std::uint64_t>(l.block_size, l.virtual_size - pi * std::uint64_t{l.block_size});
    if (prev_off + prev_span > cur_off)
      return corrupt_at("vhd", "BAT", l.table_offset + 4 * ci,
                        fmt::format("entry {} block at {} expected to start after the block of "
                                    "entry {} ending at {}",
                                    ci, cur_off, pi, prev_off + prev_span));
  }
  return bat;
}

std::string uuid_text(const std::array<std::uint8_t, 16>& id) {
  return fmt::format(
      "{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-"
      "{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
      id[0], id[1], id[2], id[3], id[4], id[5], id[6], id[7], id[8], id[9], id[10], id[11], id[12],
      id[13], id[14], id[15]);
}

}  // namespace vdisk::vhd
