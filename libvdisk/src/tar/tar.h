// GNU / old-GNU tar headers for one disk image member, including the old GNU sparse map
// (GNU tar manual, "Basic Tar Format" and "Storing Sparse Files"; the bytes GNU tar 1.34 writes:
// docs/cloud.md, "GCP image tarballs" rules 3 and 4). Pure codec: no I/O.
//
// Layout written for a sparse member ('S'):
//   header block (4 map entries at 386, isextended at 482, realsize at 483)
//   extension blocks (21 entries each, isextended at 504) while entries remain
//   region data, each region whole 512-byte blocks, in map order
// The map always ends with the terminating entry (realsize, 0), as GNU tar writes it.
#ifndef VDISK_GCP_TAR_H_
#define VDISK_GCP_TAR_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "vdisk/status.h"

namespace vdisk::gcp {

inline constexpr std::size_t kTarBlock = 512;
inline constexpr std::size_t kTarRecord = 10240;  // GNU tar's default blocking factor 20
inline constexpr std::size_t kHeaderMapEntries = 4;
inline constexpr std::size_t kExtensionMapEntries = 21;

// A data region of a sparse member: bytes [offset, offset + length) of the file are stored.
struct SparseRegion {
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  friend bool operator==(const SparseRegion&, const SparseRegion&) = default;
};

struct MemberSpec {
  std::string name = "disk.raw";  // at most 100 bytes
  std::uint64_t real_size = 0;    // apparent file size
  std::int64_t mtime = 0;         // Unix seconds, >= 0
  bool sparse = false;            // 'S' with `regions`, else a regular '0' member
  // Data regions of a sparse member: sorted, disjoint, non-empty, offsets and lengths multiples
  // of 512, inside real_size. Adjacent regions are allowed (GNU tar never merges them either).
  std::vector<SparseRegion> regions;
};

// Bytes of member data that follow the header blocks (before padding): real_size for a regular
// member, the sum of region lengths for a sparse one.
std::uint64_t stored_bytes(const MemberSpec& spec);

// The header block and any sparse extension blocks, or invalid_argument when `spec` breaks a
// rule above.
Result<std::vector<std::byte>> encode_member_header(const MemberSpec& spec);

// Zero bytes that end the archive when `archive_bytes` have been written so far (a multiple of
// 512): two zero blocks, then padding up to a whole 10240-byte record.
std::uint64_t end_of_archive_bytes(std::uint64_t archive_bytes);

// --- decoding (hostile input) ---

enum class TarMagic : std::uint8_t { gnu, ustar, other };

struct DecodedHeader {
  std::string name;
  char typeflag = 0;
  std::uint64_t mode = 0;
  std::uint64_t size = 0;  // stored bytes following the header (and extension blocks)
  std::uint64_t mtime = 0;
  TarMagic magic = TarMagic::other;
  std::uint32_t stored_checksum = 0;
  std::uint32_t unsigned_checksum = 0;  // computed, bytes 148..155 as spaces
  std::int32_t signed_checksum = 0;     // computed as historic tars did
  bool checksum_ok = false;             // either form matches
  // Old GNU sparse fields (meaningful when typeflag == 'S').
  bool is_extended = false;
  std::uint64_t real_size = 0;
  std::vector<SparseRegion> map;  // entries from the header, zero entries skipped
};

bool is_zero_block(std::span<const std::byte> block);

// Parses a numeric field: octal (leading spaces, ended by NUL/space/end) or base-256 (0x80
// prefix). corrupt for anything else, negative values or values above 2^64 - 1.
Result<std::uint64_t> parse_number(std::span<const std::byte> field);

// Decodes a 512-byte header found at archive offset `offset` (for messages). Checksum mismatch
// is reported in the result, not as an error; malformed numeric fields are corrupt.
Result<DecodedHeader> decode_header(std::span<const std::byte> block, std::uint64_t offset);

// Decodes a sparse extension block: appends its non-empty entries to `map`, returns isextended.
// `max_entries` bounds the total map size (resource_exhausted beyond it).
Result<bool> decode_sparse_extension(std::span<const std::byte> block, std::uint64_t offset,
                                     std::vector<SparseRegion>& map, std::size_t max_entries);

// Checks a decoded map against real_size and stored size: sorted, disjoint, inside real_size,
// each region except the terminator a whole number of 512-byte blocks, the terminator
// (real_size, 0) present, and the stored size equal to the sum of the region lengths. Returns
// ok or corrupt naming the first broken rule.
Status validate_sparse_map(const std::vector<SparseRegion>& map, std::uint64_t real_size,
                           std::uint64_t stored_size);

}  // namespace vdisk::gcp

#endif  // VDISK_GCP_TAR_H_
