// ISO 9660 on-disk records: volume descriptors, directory records, dates, names. Pure codecs
// (no I/O), offsets from ECMA-119: §8 (volume descriptors), §9.1 (directory records), §8.4.26.1
// and §9.1.5 (dates), §7.5-7.6 (file and directory identifiers).
#ifndef VDISK_ISO9660_ISO_RECORDS_H_
#define VDISK_ISO9660_ISO_RECORDS_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "vdisk/status.h"

namespace vdisk::iso9660::detail {

inline constexpr std::uint32_t kBlockSize = 2048;
inline constexpr std::uint64_t kFirstDescriptorBlock = 16;
inline constexpr std::uint32_t kMaxDescriptors = 64;  // the set is a handful in practice
inline constexpr std::size_t kMinRecordLength = 34;

// Descriptor types.
inline constexpr std::uint8_t kVdBoot = 0, kVdPrimary = 1, kVdSupplementary = 2, kVdPartition = 3,
                              kVdTerminator = 255;

// Directory record flags.
inline constexpr std::uint8_t kFlagHidden = 0x01, kFlagDirectory = 0x02, kFlagAssociated = 0x04,
                              kFlagMultiExtent = 0x80;

// A "7.3.3" both-endian u32 at `b`; nullopt when the halves disagree.
std::optional<std::uint32_t> both_endian32(std::span<const std::byte> b);
std::optional<std::uint16_t> both_endian16(std::span<const std::byte> b);

struct DirRecord {
  std::uint8_t length = 0;
  std::uint8_t ext_attr_length = 0;
  std::uint32_t extent = 0;       // block
  std::uint32_t data_length = 0;  // bytes
  std::int64_t recorded = 0;      // Unix seconds
  std::uint8_t flags = 0;
  std::uint8_t unit_size = 0, gap_size = 0;
  std::span<const std::byte> identifier;
  std::span<const std::byte> system_use;  // after identifier and pad, to the record end
};

// Decodes the record at the start of `rec` (which holds at least rec[0] bytes, i.e. the caller
// passes the remainder of the sector). `offset` is the image offset, for messages.
Result<DirRecord> decode_dir_record(std::span<const std::byte> rec, std::uint64_t offset);

struct VolumeDescriptor {
  std::uint8_t type = 0;
  std::uint8_t version = 0;
  // Primary / supplementary:
  std::string system_id, volume_id, volume_set_id, publisher_id, preparer_id, application_id;
  std::uint32_t volume_blocks = 0;
  std::uint16_t block_size = 0;
  std::span<const std::byte> escape_sequences;  // 32 bytes at 88
  std::span<const std::byte> root_record;       // 34 bytes at 156
  std::optional<std::int64_t> creation, modification;
  std::string application_use;
  int joliet_level = 0;  // SVD only
  // Boot record:
  bool el_torito = false;
  std::uint32_t boot_catalog = 0;
};

// Decodes one 2048-byte descriptor at image offset `offset`. The returned spans point into
// `block`. Checks "CD001", both-endian fields and the block size.
Result<VolumeDescriptor> decode_volume_descriptor(std::span<const std::byte> block,
                                                  std::uint64_t offset);

// 7-byte recording date (years since 1900, ..., GMT offset in 15-minute units) -> Unix seconds.
std::int64_t decode_short_date(std::span<const std::byte> b);
// 17-byte "YYYYMMDDHHMMSScc"+offset -> Unix seconds; nullopt when all-zero/unset or malformed.
std::optional<std::int64_t> decode_long_date(std::span<const std::byte> b);

// Identifier to UTF-8 name. Plain: ";N" and one trailing '.' removed. Joliet: UCS-2/UTF-16 BE,
// ";N" removed. Returns corrupt for names that are empty, ".", "..", or contain '/' or NUL.
Result<std::string> plain_name(std::span<const std::byte> id, std::uint64_t offset);
Result<std::string> joliet_name(std::span<const std::byte> id, std::uint64_t offset);
// Checks a decoded name is safe as one path component.
Status check_component(std::string_view name, std::string_view what, std::uint64_t offset);

// Trims trailing spaces and NULs of an a-/d-character field.
std::string trim_field(std::span<const std::byte> b);

}  // namespace vdisk::iso9660::detail

#endif  // VDISK_ISO9660_ISO_RECORDS_H_
