// VHD dynamic disk header (the 1024-byte "cxsparse" structure of dynamic and differencing
// disks), the block allocation table and the per-block sector bitmaps. Pure codec and layout
// checks: bytes and numbers in, structs or Status out, no I/O. Field layout: Microsoft "Virtual
// Hard Disk Image Format Specification" (2006), "Dynamic Disk Header Format" and "Block
// Allocation Table and Data Blocks".
#ifndef VDISK_VHD_VHD_DYNAMIC_HEADER_H_
#define VDISK_VHD_VHD_DYNAMIC_HEADER_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/utf.h"
#include "vdisk/status.h"
#include "formats/vhd/vhd_footer.h"

namespace vdisk::vhd {

inline constexpr std::size_t kDynHeaderSize = 1024;

// Byte offsets of the dynamic header fields (all big-endian).
inline constexpr std::size_t kDynOffCookie = 0;        // 8 bytes "cxsparse"
inline constexpr std::size_t kDynOffDataOffset = 8;    // u64, unused: all ones
inline constexpr std::size_t kDynOffTableOffset = 16;  // u64 absolute BAT offset
inline constexpr std::size_t kDynOffVersion = 24;      // u32 0x00010000
inline constexpr std::size_t kDynOffMaxEntries = 28;   // u32 BAT entries
inline constexpr std::size_t kDynOffBlockSize = 32;    // u32 bytes of data per block
inline constexpr std::size_t kDynOffChecksum = 36;     // u32
inline constexpr std::size_t kDynOffParentId = 40;     // 16 bytes
inline constexpr std::size_t kDynOffParentTime = 56;   // u32
inline constexpr std::size_t kDynOffParentName = 64;   // 512 bytes UTF-16BE
inline constexpr std::size_t kDynParentNameSize = 512;
inline constexpr std::size_t kDynOffLocators = 576;  // 8 entries of 24 bytes
inline constexpr std::size_t kLocatorSize = 24;
inline constexpr std::size_t kLocatorCount = 8;
// Offsets inside one parent locator entry.
inline constexpr std::size_t kLocOffCode = 0;         // u32 platform code
inline constexpr std::size_t kLocOffSpace = 4;        // u32 sectors reserved
inline constexpr std::size_t kLocOffLength = 8;       // u32 bytes of path text
inline constexpr std::size_t kLocOffDataOffset = 16;  // u64 absolute offset

inline constexpr std::uint32_t kBatUnused = 0xFFFFFFFF;
// Platform codes of the parent locators we follow (UTF-16LE paths).
inline constexpr std::uint32_t kPlatformW2ru = 0x57327275;  // "W2ru" relative path
inline constexpr std::uint32_t kPlatformW2ku = 0x57326B75;  // "W2ku" absolute path

// Bounds that keep hostile headers from driving allocations or loops.
inline constexpr std::uint32_t kMinBlockSize = 512;
inline constexpr std::uint32_t kMaxBlockSize = 256u << 20;    // bitmap <= 64 KiB
inline constexpr std::uint64_t kMaxBatEntries = 1ull << 22;   // 2040 GiB at 512 KiB blocks
inline constexpr std::uint32_t kMaxLocatorBytes = 64 * 1024;  // a path, not a payload
// Largest dynamic disk: 0xFF000000 sectors (2040 GiB), the limit of the format's tools.
inline constexpr std::uint64_t kMaxDynamicSize = 0xFF000000ull * 512;

struct ParentLocator {
  std::uint32_t platform_code = 0;
  std::uint32_t data_space = 0;
  std::uint32_t data_length = 0;
  std::uint64_t data_offset = 0;
};

struct DynamicHeader {
  std::array<char, 8> cookie{'c', 'x', 's', 'p', 'a', 'r', 's', 'e'};
  std::uint64_t data_offset = kNoDataOffset;
  std::uint64_t table_offset = 0;
  std::uint32_t version = kVersion1;
  std::uint32_t max_table_entries = 0;
  std::uint32_t block_size = 2u << 20;
  std::uint32_t checksum = 0;  // as stored; encode computes its own
  std::array<std::uint8_t, 16> parent_unique_id{};
  std::uint32_t parent_timestamp = 0;
  std::array<std::byte, kDynParentNameSize> parent_name{};  // raw UTF-16BE
  std::array<ParentLocator, kLocatorCount> locators{};
};

// One's complement of the byte sum of the 1024 header bytes with the checksum field as zero.
std::uint32_t dynamic_header_checksum(std::span<const std::byte> header);

// Serialises `h` with a freshly computed checksum.
std::array<std::byte, kDynHeaderSize> encode_dynamic_header(const DynamicHeader& h);

// Decodes 1024 bytes; checks the cookie and the checksum. `offset` is used in messages.
Result<DynamicHeader> decode_dynamic_header(std::span<const std::byte> bytes, std::uint64_t offset);

// Parent names are UTF-16 (big-endian in the header, little-endian in W2ku/W2ru locators),
// ending at the first NUL; see base/utf.h.
using detail::utf16_to_utf8;
using detail::utf8_to_utf16;

// The checked geometry of a dynamic disk, derived from its footer and header.
struct DynamicLayout {
  std::uint64_t file_size = 0;
  std::uint64_t data_limit = 0;     // end of the area blocks may occupy (before the end footer)
  std::uint64_t header_offset = 0;  // footer.data_offset
  std::uint64_t virtual_size = 0;
  std::uint32_t block_size = 0;
  std::uint32_t bitmap_bytes = 0;  // sector bitmap, padded to a whole sector
  std::uint64_t used_entries = 0;  // ceil(virtual_size / block_size): entries we read
  std::uint64_t table_offset = 0;
  std::uint64_t table_bytes = 0;  // max_table_entries * 4 as stored
};

// Validates footer and header against each other and the file size: block size a power of two
// within bounds, the header and the BAT inside the file and apart from each other and the
// footers, the BAT covering the whole virtual size, sizes within the format's limits.
// `end_footer` says whether the file ends with a footer (blocks must end before it).
Result<DynamicLayout> plan_layout(const Footer& footer, const DynamicHeader& header,
                                  std::uint64_t file_size, bool end_footer);

// Decodes `layout.used_entries` big-endian BAT entries from `bytes` (at least 4 per entry) and
// checks every allocated one: its bitmap and the data covering the virtual disk lie inside
// layout.data_limit and overlap neither the footer copy, the header, the BAT nor another block.
Result<std::vector<std::uint32_t>> decode_bat(const DynamicLayout& layout,
                                              std::span<const std::byte> bytes);

// True when sector `sector` of a block is marked present in its bitmap (MSB-first).
inline bool bitmap_bit(std::span<const std::byte> bitmap, std::uint64_t sector) {
  return (static_cast<unsigned>(bitmap[sector / 8]) & (0x80u >> (sector % 8))) != 0;
}

// "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" of 16 raw bytes in stored order.
std::string uuid_text(const std::array<std::uint8_t, 16>& id);

}  // namespace vdisk::vhd

#endif  // VDISK_VHD_VHD_DYNAMIC_HEADER_H_
