// GPT header and entry-array codec (see gpt_codec.h).
#include "gpt/gpt_codec.h"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>
#include <zlib.h>

#include "base/checked.h"
#include "base/endian.h"

namespace vdisk::gpt {
namespace {

// Header field offsets (UEFI 2.x table 5-5).
constexpr std::size_t kSignature = 0;
constexpr std::size_t kRevisionOff = 8;
constexpr std::size_t kHeaderSize = 12;
constexpr std::size_t kHeaderCrc = 16;
constexpr std::size_t kReserved = 20;
constexpr std::size_t kCurrentLba = 24;
constexpr std::size_t kAlternateLba = 32;
constexpr std::size_t kFirstUsable = 40;
constexpr std::size_t kLastUsable = 48;
constexpr std::size_t kDiskGuid = 56;
constexpr std::size_t kEntriesLba = 72;
constexpr std::size_t kEntryCount = 80;
constexpr std::size_t kEntrySize = 84;
constexpr std::size_t kEntriesCrc = 88;

constexpr char kMagic[8] = {'E', 'F', 'I', ' ', 'P', 'A', 'R', 'T'};

// Entry field offsets (UEFI 2.x table 5-6).
constexpr std::size_t kTypeGuid = 0;
constexpr std::size_t kUniqueGuid = 16;
constexpr std::size_t kFirstLba = 32;
constexpr std::size_t kLastLba = 40;
constexpr std::size_t kAttributes = 48;

std::uint32_t header_crc(std::span<const std::byte> sector, std::uint32_t size) {
  std::vector<std::byte> copy(sector.begin(), sector.begin() + size);
  std::fill_n(copy.begin() + kHeaderCrc, 4, std::byte{0});
  return crc32(copy);
}

template <std::size_t N>
std::array<std::uint8_t, N> load_bytes(std::span<const std::byte> b) {
  std::array<std::uint8_t, N> out{};
  std::memcpy(out.data(), b.data(), N);
  return out;
}

}  // namespace

std::uint32_t crc32(std::span<const std::byte> data) {
  uLong c = ::crc32(0L, Z_NULL, 0);
  while (!data.empty()) {
    const auto n = static_cast<uInt>(std::min<std::size_t>(data.size(), 1u << 30));
    c = ::crc32(c, reinterpret_cast<const Bytef*>(data.data()), n);
    data = data.subspan(n);
  }
  return static_cast<std::uint32_t>(c);
}

bool has_signature(std::span<const std::byte> sector) {
  return sector.size() >= sizeof(kMagic) &&
         std::memcmp(sector.data() + kSignature, kMagic, sizeof(kMagic)) == 0;
}

Result<Header> decode_header(std::span<const std::byte> sector, std::uint64_t lba,
                             std::uint64_t lba_size, std::uint64_t disk_lbas) {
  if ((lba_size != 512 && lba_size != 4096) || sector.size() < lba_size)
    return invalid_argument(
        fmt::format("gpt: sector of {} bytes for LBA size {}", sector.size(), lba_size));
  const std::uint64_t at = lba * lba_size;  // lba < disk_lbas, so no overflow for real disks
  auto bad = [&](std::string detail) { return corrupt_at("gpt", "header", at, detail); };
  if (!has_signature(sector)) return bad("signature is not \"EFI PART\"");
  Header h;
  h.revision = detail::load_le32(sector.subspan(kRevisionOff));
  if (h.revision != kRevision)
    return bad(fmt::format("revision 0x{:08x}, expected 0x{:08x}", h.revision, kRevision));
  h.header_size = detail::load_le32(sector.subspan(kHeaderSize));
  if (h.header_size < kHeaderMinSize || h.header_size > lba_size)
    return bad(
        fmt::format("header size {}, expected {}..{}", h.header_size, kHeaderMinSize, lba_size));
  h.header_crc = detail::load_le32(sector.subspan(kHeaderCrc));
  const std::uint32_t want_crc = header_crc(sector, h.header_size);
  if (h.header_crc != want_crc)
    return bad(fmt::format("header CRC32 0x{:08x}, computed 0x{:08x}", h.header_crc, want_crc));
  if (const auto r = detail::load_le32(sector.subspan(kReserved)); r != 0)
    return bad(fmt::format("reserved field 0x{:08x}, expected 0", r));
  h.current_lba = detail::load_le64(sector.subspan(kCurrentLba));
  h.alternate_lba = detail::load_le64(sector.subspan(kAlternateLba));
  h.first_usable_lba = detail::load_le64(sector.subspan(kFirstUsable));
  h.last_usable_lba = detail::load_le64(sector.subspan(kLastUsable));
  h.disk_guid = load_bytes<16>(sector.subspan(kDiskGuid));
  h.entries_lba = detail::load_le64(sector.subspan(kEntriesLba));
  h.entry_count = detail::load_le32(sector.subspan(kEntryCount));
  h.entry_size = detail::load_le32(sector.subspan(kEntrySize));
  h.entries_crc = detail::load_le32(sector.subspan(kEntriesCrc));

  if (h.current_lba != lba)
    return bad(
        fmt::format("current LBA {}, but the header was read from LBA {}", h.current_lba, lba));
  if (h.entry_size < 128 || !detail::is_power_of_two(h.entry_size) || h.entry_size > kMaxArrayBytes)
    return bad(fmt::format("entry size {}, expected 128 times a power of two", h.entry_size));
  if (h.entry_count == 0 || h.array_bytes() > kMaxArrayBytes)
    return bad(fmt::format("{} entries of {} bytes, expected 1..{} bytes of entries", h.entry_count,
                           h.entry_size, kMaxArrayBytes));
  for (auto [name, v] : {std::pair{"alternate LBA", h.alternate_lba},
                         std::pair{"first usable LBA", h.first_usable_lba},
                         std::pair{"last usable LBA", h.last_usable_lba},
                         std::pair{"entry array LBA", h.entries_lba}})
    if (v >= disk_lbas)
      return bad(fmt::format("{} {} is past the disk's last LBA {}", name, v, disk_lbas - 1));
  if (h.first_usable_lba > h.last_usable_lba)
    return bad(fmt::format("first usable LBA {} is after last usable LBA {}", h.first_usable_lba,
                           h.last_usable_lba));
  const std::uint64_t array_end = h.entries_lba + h.array_sectors(lba_size);  // both bounded
  if (h.current_lba < h.alternate_lba) {  // primary: header, array, usable area, ..., backup
    if (h.current_lba >= h.first_usable_lba || h.entries_lba <= h.current_lba ||
        array_end > h.first_usable_lba)
      return bad(
          fmt::format("primary layout: header LBA {}, entry array LBAs {}..{}, first "
                      "usable LBA {}; expected header < array < first usable",
                      h.current_lba, h.entries_lba, array_end - 1, h.first_usable_lba));
    if (h.alternate_lba <= h.last_usable_lba)
      return bad(fmt::format("alternate LBA {} is inside the usable area (last usable LBA {})",
                             h.alternate_lba, h.last_usable_lba));
  } else if (h.current_lba > h.alternate_lba) {  // backup: ..., usable area, array, header
    if (h.current_lba <= h.last_usable_lba || h.entries_lba <= h.last_usable_lba ||
        array_end > h.current_lba)
      return bad(
          fmt::format("backup layout: last usable LBA {}, entry array LBAs {}..{}, header "
                      "LBA {}; expected last usable < array < header",
                      h.last_usable_lba, h.entries_lba, array_end - 1, h.current_lba));
    if (h.alternate_lba >= h.first_usable_lba)
      return bad(fmt::format("alternate LBA {} is inside the usable area (first usable LBA {})",
                             h.alternate_lba, h.first_usable_lba));
  } else {
    return bad(fmt::format("alternate LBA {} is the header's own LBA", h.alternate_lba));
  }
  return h;
}

void encode_header(Header& h, std::span<std::byte> sector) {
  std::memcpy(sector.data(), kMagic, sizeof(kMagic));
  detail::store_le32(sector.subspan(kRevisionOff), h.revision);
  detail::store_le32(sector.subspan(kHeaderSize), h.header_size);
  detail::store_le32(sector.subspan(kHeaderCrc), 0);
  detail::store_le32(sector.subspan(kReserved), 0);
  detail::store_le64(sector.subspan(kCurrentLba), h.current_lba);
  detail::store_le64(sector.subspan(kAlternateLba), h.alternate_lba);
  detail::store_le64(sector.subspan(kFirstUsable), h.first_usable_lba);
  detail::store_le64(sector.subspan(kLastUsable), h.last_usable_lba);
  std::memcpy(sector.data() + kDiskGuid, h.disk_guid.data(), h.disk_guid.size());
  detail::store_le64(sector.subspan(kEntriesLba), h.entries_lba);
  detail::store_le32(sector.subspan(kEntryCount), h.entry_count);
  detail::store_le32(sector.subspan(kEntrySize), h.entry_size);
  detail::store_le32(sector.subspan(kEntriesCrc), h.entries_crc);
  h.header_crc = header_crc(sector, h.header_size);
  detail::store_le32(sector.subspan(kHeaderCrc), h.header_crc);
}

Result<std::vector<Entry>> decode_entries(std::span<const std::byte> array, const Header& h,
                                          std::uint64_t array_offset) {
  if (array.size() != h.array_bytes())
    return invalid_argument(
        fmt::format("gpt: entry array of {} bytes, header says {}", array.size(), h.array_bytes()));
  if (const std::uint32_t c = crc32(array); c != h.entries_crc)
    return corrupt_at("gpt", "partition entry array", array_offset,
                      fmt::format("CRC32 0x{:08x}, header says 0x{:08x}", c, h.entries_crc));
  std::vector<Entry> used;
  for (std::uint32_t i = 0; i < h.entry_count; ++i) {
    const auto e = array.subspan(std::size_t{i} * h.entry_size, h.entry_size);
    Entry entry;
    entry.type_guid = load_bytes<16>(e.subspan(kTypeGuid));
    if (std::all_of(entry.type_guid.begin(), entry.type_guid.end(),
                    [](std::uint8_t b) { return b == 0; }))
      continue;
    entry.unique_guid = load_bytes<16>(e.subspan(kUniqueGuid));
    entry.first_lba = detail::load_le64(e.subspan(kFirstLba));
    entry.last_lba = detail::load_le64(e.subspan(kLastLba));
    entry.attributes = detail::load_le64(e.subspan(kAttributes));
    entry.index = i;
    if (entry.first_lba > entry.last_lba || entry.first_lba < h.first_usable_lba ||
        entry.last_lba > h.last_usable_lba)
      return corrupt_at(
          "gpt", fmt::format("partition entry {}", i + 1),
          array_offset + std::uint64_t{i} * h.entry_size,
          fmt::format("LBAs {}..{}, expected inside the usable LBAs {}..{}", entry.first_lba,
                      entry.last_lba, h.first_usable_lba, h.last_usable_lba));
    used.push_back(entry);
  }
  std::vector<Entry> sorted = used;
  std::sort(sorted.begin(), sorted.end(),
            [](const Entry& a, const Entry& b) { return a.first_lba < b.first_lba; });
  for (std::size_t i = 1; i < sorted.size(); ++i)
    if (sorted[i].first_lba <= sorted[i - 1].last_lba)
      return corrupt_at(
          "gpt", fmt::format("partition entry {}", sorted[i].index + 1),
          array_offset + std::uint64_t{sorted[i].index} * h.entry_size,
          fmt::format("LBAs {}..{} overlap entry {} (LBAs {}..{})", sorted[i].first_lba,
                      sorted[i].last_lba, sorted[i - 1].index + 1, sorted[i - 1].first_lba,
                      sorted[i - 1].last_lba));
  return used;
}

std::array<std::byte, 3> mbr_chs(std::uint64_t lba) {
  constexpr std::uint64_t kHeads = 255, kSectors = 63;
  if (lba >= 1024 * kHeads * kSectors) return {std::byte{0xff}, std::byte{0xff}, std::byte{0xff}};
  const std::uint64_t cyl = lba / (kHeads * kSectors);
  const std::uint64_t head = lba % (kHeads * kSectors) / kSectors;
  const std::uint64_t sector = lba % kSectors + 1;
  return {static_cast<std::byte>(head), static_cast<std::byte>(sector | ((cyl >> 2) & 0xc0)),
          static_cast<std::byte>(cyl & 0xff)};
}

}  // namespace vdisk::gpt
