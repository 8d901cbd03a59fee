// GUID Partition Table codec (UEFI 2.10 §5.3, GPT disk layout): the header at LBA 1 and its
// backup at the disk's last LBA, and the partition entry array. Little-endian, CRC-32 (IEEE,
// zlib's) over the header (its CRC field zeroed) and over the entry array.
//
// Decoding checks every field before anything is derived from it: signature, revision, header
// size, CRC, the LBA fields against the disk size, the entry size and count (the array is at
// most kMaxArrayBytes, so a hostile count cannot force a large allocation), the array CRC, and
// every used entry's range (inside the usable area, no two overlapping). Errors are `corrupt`
// with one line naming the structure, its offset, what was expected and what was found.
#ifndef VDISK_GPT_GPT_CODEC_H_
#define VDISK_GPT_GPT_CODEC_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "vdisk/status.h"

namespace vdisk::gpt {

inline constexpr std::size_t kHeaderMinSize = 92;
inline constexpr std::uint32_t kRevision = 0x00010000;
inline constexpr std::uint64_t kMaxArrayBytes = 4u << 20;  // 32768 entries of 128 bytes

struct Header {
  std::uint32_t revision = kRevision;
  std::uint32_t header_size = kHeaderMinSize;
  std::uint32_t header_crc = 0;  // as stored (decode) / as computed (encode)
  std::uint64_t current_lba = 1;
  std::uint64_t alternate_lba = 0;
  std::uint64_t first_usable_lba = 0;
  std::uint64_t last_usable_lba = 0;
  std::array<std::uint8_t, 16> disk_guid{};
  std::uint64_t entries_lba = 2;
  std::uint32_t entry_count = 128;
  std::uint32_t entry_size = 128;
  std::uint32_t entries_crc = 0;

  std::uint64_t array_bytes() const { return std::uint64_t{entry_count} * entry_size; }
  // Sectors the entry array occupies.
  std::uint64_t array_sectors(std::uint64_t lba_size) const {
    return (array_bytes() + lba_size - 1) / lba_size;
  }
};

struct Entry {
  std::array<std::uint8_t, 16> type_guid{};
  std::array<std::uint8_t, 16> unique_guid{};
  std::uint64_t first_lba = 0;
  std::uint64_t last_lba = 0;  // inclusive
  std::uint64_t attributes = 0;
  std::uint32_t index = 0;  // position in the array
};

std::uint32_t crc32(std::span<const std::byte> data);

// True when `sector` starts with "EFI PART".
bool has_signature(std::span<const std::byte> sector);

// Decodes the header stored in `sector` (one LBA of `lba_size` bytes, 512 or 4096) that was read
// from `lba` of a disk of `disk_lbas` whole sectors. Checks the signature, revision 1.0, size in
// [92, lba_size], CRC, that current_lba == lba, and that every LBA field is coherent and inside
// the disk: the header and its array lie outside [first_usable, last_usable], the alternate LBA
// is the other end. Does not read the array.
Result<Header> decode_header(std::span<const std::byte> sector, std::uint64_t lba,
                             std::uint64_t lba_size, std::uint64_t disk_lbas);

// Writes `h`'s fields into `sector` (which keeps any bytes past the 92 defined ones, inside
// header_size and beyond), computes the header CRC and stores it (also into h.header_crc).
// `sector` must hold at least h.header_size bytes and header_size must be in [92, sector size].
void encode_header(Header& h, std::span<std::byte> sector);

// Checks the array CRC against h.entries_crc and decodes the used entries (non-zero type GUID),
// checking each lies inside [first_usable, last_usable], first <= last, and that no two overlap.
// `array` must be exactly h.array_bytes() long (invalid_argument otherwise). `array_offset` is
// the byte offset of the array on the disk, for messages.
Result<std::vector<Entry>> decode_entries(std::span<const std::byte> array, const Header& h,
                                          std::uint64_t array_offset);

// The CHS address of `lba` as sgdisk writes it in a protective MBR entry (geometry 255 heads, 63
// sectors per track; at or past 1024 cylinders ff ff ff, as observed from `sgdisk -e` on 100 MiB,
// 1 GiB and 10 GiB disks): head, sector | high cylinder bits, low cylinder bits.
std::array<std::byte, 3> mbr_chs(std::uint64_t lba);

}  // namespace vdisk::gpt

#endif  // VDISK_GPT_GPT_CODEC_H_
