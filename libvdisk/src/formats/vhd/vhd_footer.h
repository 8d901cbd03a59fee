// VHD hard disk footer: the 512-byte big-endian trailer of every VHD (and the copy at offset 0
// of dynamic/differencing VHDs). Pure codec: bytes to struct and back, no I/O.
// Field layout: Microsoft "Virtual Hard Disk Image Format Specification" (2006), "Hard Disk Footer
// Format".
#ifndef VDISK_VHD_VHD_FOOTER_H_
#define VDISK_VHD_VHD_FOOTER_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "vdisk/status.h"

namespace vdisk::vhd {

inline constexpr std::size_t kFooterSize = 512;

// Byte offsets of the footer fields.
inline constexpr std::size_t kOffCookie = 0;           // 8 bytes "conectix"
inline constexpr std::size_t kOffFeatures = 8;         // u32; bit 1 (0x2) must be set
inline constexpr std::size_t kOffVersion = 12;         // u32 0x00010000
inline constexpr std::size_t kOffDataOffset = 16;      // u64; all ones for fixed disks
inline constexpr std::size_t kOffTimestamp = 24;       // u32 seconds since 2000-01-01 UTC
inline constexpr std::size_t kOffCreatorApp = 28;      // 4 ASCII bytes
inline constexpr std::size_t kOffCreatorVersion = 32;  // u32 major << 16 | minor
inline constexpr std::size_t kOffCreatorOs = 36;       // u32 "Wi2k" / "Mac "
inline constexpr std::size_t kOffOriginalSize = 40;    // u64 bytes
inline constexpr std::size_t kOffCurrentSize = 48;     // u64 bytes: the virtual size
inline constexpr std::size_t kOffCylinders = 56;       // u16
inline constexpr std::size_t kOffHeads = 58;           // u8
inline constexpr std::size_t kOffSectors = 59;         // u8 sectors per track
inline constexpr std::size_t kOffDiskType = 60;        // u32
inline constexpr std::size_t kOffChecksum = 64;        // u32
inline constexpr std::size_t kOffUniqueId = 68;        // 16 bytes
inline constexpr std::size_t kOffSavedState = 84;      // u8

inline constexpr std::uint32_t kFeaturesReserved = 0x2;
inline constexpr std::uint32_t kVersion1 = 0x00010000;
inline constexpr std::uint64_t kNoDataOffset = ~std::uint64_t{0};
// Unix time of the VHD epoch, 2000-01-01 00:00:00 UTC.
inline constexpr std::int64_t kVhdEpochUnix = 946684800;

enum class DiskType : std::uint32_t { none = 0, fixed = 2, dynamic = 3, differencing = 4 };

struct Geometry {
  std::uint16_t cylinders = 0;
  std::uint8_t heads = 0;
  std::uint8_t sectors = 0;
  std::uint64_t bytes() const { return std::uint64_t{cylinders} * heads * sectors * 512; }
  friend bool operator==(const Geometry&, const Geometry&) = default;
};

// The VHD specification's CHS algorithm (appendix "CHS calculation"). C*H*S never exceeds the
// size; above 65535*16*255 sectors (about 127.5 GiB) the geometry is pinned at that maximum.
Geometry chs_for_size(std::uint64_t size_bytes);
inline constexpr Geometry kMaxGeometry{65535, 16, 255};

struct Footer {
  std::array<char, 8> cookie{'c', 'o', 'n', 'e', 'c', 't', 'i', 'x'};
  std::uint32_t features = kFeaturesReserved;
  std::uint32_t version = kVersion1;
  std::uint64_t data_offset = kNoDataOffset;
  std::uint32_t timestamp = 0;
  std::array<char, 4> creator_app{'w', 'i', 'n', ' '};
  std::uint32_t creator_version = 0x000A0000;
  std::uint32_t creator_os = 0x5769326B;  // "Wi2k"
  std::uint64_t original_size = 0;
  std::uint64_t current_size = 0;
  Geometry geometry;
  std::uint32_t disk_type = static_cast<std::uint32_t>(DiskType::fixed);
  std::uint32_t checksum = 0;  // as stored; encode_footer computes its own
  std::array<std::uint8_t, 16> unique_id{};
  std::uint8_t saved_state = 0;

  std::string creator_app_string() const { return std::string(creator_app.data(), 4); }
};

// One's complement of the byte sum of the 512 footer bytes with the checksum field as zero.
std::uint32_t footer_checksum(std::span<const std::byte> footer);

// Serialises `f` with a freshly computed checksum (f.checksum is ignored).
std::array<std::byte, kFooterSize> encode_footer(const Footer& f);

// Decodes 512 bytes. Checks only what makes the bytes a footer at all (cookie); the caller
// decides what else to require (checksum, type). `offset` is used in messages.
Result<Footer> decode_footer(std::span<const std::byte> bytes, std::uint64_t offset);

// The virtual size qemu derives from this footer: Current Size for the creators it trusts
// ("win ", "qem2", "d2v ", "CTXS", "tap\0") or the maximum geometry, else C*H*S*512
// (qemu block/vpc.c). Used to check that our outputs read back at their exact size.
std::uint64_t qemu_visible_size(const Footer& f);

}  // namespace vdisk::vhd

#endif  // VDISK_VHD_VHD_FOOTER_H_
