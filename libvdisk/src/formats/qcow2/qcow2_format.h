// QCOW2 on-disk structures (v2 and v3) as the reader uses them, decoded field by field.
//
// Layout and rules: qemu docs/interop/qcow2.txt, summarised in docs/qcow2.md. Every field taken
// from the image is range-checked here, before the reader uses it to seek or allocate.
#ifndef VDISK_QCOW2_QCOW2_FORMAT_H_
#define VDISK_QCOW2_QCOW2_FORMAT_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "vdisk/status.h"

namespace vdisk::qcow2 {

inline constexpr std::string_view kFormat = "qcow2";
inline constexpr std::size_t kV2HeaderBytes = 72;
inline constexpr std::size_t kV3HeaderBytes = 104;
inline constexpr unsigned kMinClusterBits = 9;                  // 512 B
inline constexpr unsigned kMaxClusterBits = 21;                 // 2 MiB (qemu's limit)
inline constexpr unsigned kMinExtendedL2Bits = 14;              // subclusters of at least 512 B
inline constexpr std::uint64_t kMaxL1Entries = 32u << 20 >> 3;  // qemu QCOW_MAX_L1_SIZE, 32 MiB
inline constexpr std::uint32_t kMaxSnapshots = 65536;
inline constexpr std::uint64_t kMaxSnapshotTableBytes = 64u << 20;
inline constexpr std::uint32_t kMaxBackingNameBytes = 1023;
inline constexpr unsigned kSubclusters = 32;  // per cluster with extended L2 entries

// Incompatible feature bits (header offset 72).
inline constexpr std::uint64_t kIncompatDirty = 1u << 0;
inline constexpr std::uint64_t kIncompatCorrupt = 1u << 1;
inline constexpr std::uint64_t kIncompatDataFile = 1u << 2;
inline constexpr std::uint64_t kIncompatCompression = 1u << 3;
inline constexpr std::uint64_t kIncompatExtendedL2 = 1u << 4;
inline constexpr std::uint64_t kIncompatKnown = 0x1f;
inline constexpr std::uint64_t kCompatLazyRefcounts = 1u << 0;
inline constexpr std::uint64_t kAutoclearRawData = 1u << 1;

// Header extension types.
inline constexpr std::uint32_t kExtEnd = 0;
inline constexpr std::uint32_t kExtBackingFormat = 0xE2792ACA;
inline constexpr std::uint32_t kExtFeatureNames = 0x6803F857;
inline constexpr std::uint32_t kExtBitmaps = 0x23852875;
inline constexpr std::uint32_t kExtCrypto = 0x0537BE77;
inline constexpr std::uint32_t kExtDataFile = 0x44415441;

// L1 / L2 entry fields (spec "Cluster mapping").
inline constexpr std::uint64_t kL1OffsetMask = 0x00FFFFFFFFFFFE00ull;
inline constexpr std::uint64_t kL2OffsetMask = 0x00FFFFFFFFFFFE00ull;
inline constexpr std::uint64_t kL2Compressed = 1ull << 62;
inline constexpr std::uint64_t kL2Copied = 1ull << 63;
inline constexpr std::uint64_t kL2ZeroFlag = 1ull << 0;

enum class Compression : std::uint8_t { zlib = 0, zstd = 1 };

// One entry of the feature name table extension.
struct FeatureName {
  std::uint8_t type = 0;  // 0 incompatible, 1 compatible, 2 autoclear
  std::uint8_t bit = 0;
  std::string name;
};

// The header of cluster 0 plus what its extensions say.
struct Header {
  std::uint32_t version = 0;
  std::uint64_t backing_file_offset = 0;
  std::uint32_t backing_file_size = 0;
  std::uint32_t cluster_bits = 0;
  std::uint64_t size = 0;
  std::uint32_t crypt_method = 0;
  std::uint32_t l1_size = 0;
  std::uint64_t l1_table_offset = 0;
  std::uint64_t refcount_table_offset = 0;
  std::uint32_t refcount_table_clusters = 0;
  std::uint32_t nb_snapshots = 0;
  std::uint64_t snapshots_offset = 0;
  std::uint64_t incompatible = 0;
  std::uint64_t compatible = 0;
  std::uint64_t autoclear = 0;
  std::uint32_t refcount_order = 4;
  std::uint32_t header_length = kV2HeaderBytes;
  Compression compression = Compression::zlib;
  // From the extensions and the backing name field.
  std::string backing_file;
  std::string backing_format;
  std::string data_file;
  bool crypto_extension = false;
  std::vector<FeatureName> feature_names;

  std::uint64_t cluster_size() const { return std::uint64_t{1} << cluster_bits; }
  bool extended_l2() const { return (incompatible & kIncompatExtendedL2) != 0; }
  bool has_data_file() const { return (incompatible & kIncompatDataFile) != 0; }
  // L2 entries per table: a table is one cluster of 8-byte (16 with extended L2) entries.
  std::uint64_t l2_entries() const { return cluster_size() / (extended_l2() ? 16 : 8); }
};

// Checks the fixed header fields a probe can see in `head` (magic, version 2 or 3, enough bytes
// for the version's header, cluster_bits, v3 header_length). ok, or the corrupt/unsupported
// status naming the field. Allocates nothing in proportion to the data.
Status check_fixed_header(std::span<const std::byte> head);

// Decodes and validates the header of `cluster0` (the first min(cluster size, file size) bytes
// of a file of `file_size` bytes): the fixed fields, the feature bits, encryption, the L1 and
// snapshot table bounds against the file, the backing file name and every header extension.
// Warnings (a dirty image) are not reported here; the caller reads `incompatible`.
Result<Header> decode_header(std::span<const std::byte> cluster0, std::uint64_t file_size);

// The feature's name from the table, or "bit N" when the image does not name it.
std::string feature_name(const Header& h, std::uint8_t type, unsigned bit);

}  // namespace vdisk::qcow2

#endif  // VDISK_QCOW2_QCOW2_FORMAT_H_
