// VHDX on-disk structures as the reader uses them: the header section (file identifier, two
// headers, two region tables), the metadata items and the BAT entry fields.
//
// Layout and rules: MS-VHDX (Microsoft's VHDX format specification v1.0), summarised in
// docs/vhdx.md. Every field taken from the image is range-checked by the decoders here before
// the reader uses it to seek or allocate.
#ifndef VDISK_VHDX_VHDX_FORMAT_H_
#define VDISK_VHDX_VHDX_FORMAT_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vdisk/status.h"

namespace vdisk::vhdx {

inline constexpr std::string_view kFormat = "vhdx";
inline constexpr std::uint64_t kMiB = 1u << 20;
inline constexpr std::uint64_t kHeaderSectionBytes = kMiB;
inline constexpr std::uint64_t kHeaderOffsets[2] = {64 * 1024, 128 * 1024};
inline constexpr std::uint64_t kRegionTableOffsets[2] = {192 * 1024, 256 * 1024};
inline constexpr std::size_t kHeaderBytes = 4096;
inline constexpr std::size_t kRegionTableBytes = 64 * 1024;
inline constexpr std::uint32_t kMaxRegionEntries = 2047;
inline constexpr std::size_t kMetadataTableBytes = 64 * 1024;
inline constexpr std::uint32_t kMaxMetadataEntries = 2047;
inline constexpr std::uint32_t kMaxMetadataItemBytes = kMiB;
inline constexpr std::uint64_t kMinBlockSize = kMiB;
inline constexpr std::uint64_t kMaxBlockSize = 256 * kMiB;
inline constexpr std::uint64_t kMaxVirtualSize = std::uint64_t{64} << 40;  // 64 TiB
inline constexpr std::uint64_t kSectorBitmapBytes = kMiB;  // one bitmap block covers 2^23 sectors
inline constexpr std::size_t kLogSector = 4096;

// A GUID as stored: Data1 (LE u32), Data2 (LE u16), Data3 (LE u16), Data4 (8 bytes).
using Guid = std::array<std::uint8_t, 16>;
Guid load_guid(std::span<const std::byte> b);
// "2dc27766-f623-4200-9d64-115e9bfd4a08" (lowercase, no braces).
std::string guid_text(const Guid& g);
bool is_zero(const Guid& g);

// Known region and metadata item GUIDs (MS-VHDX 2.2.3.1, 2.6.2).
inline constexpr std::string_view kBatRegion = "2dc27766-f623-4200-9d64-115e9bfd4a08";
inline constexpr std::string_view kMetadataRegion = "8b7ca206-4790-4b9a-b8fe-575f050f886e";
inline constexpr std::string_view kFileParametersItem = "caa16737-fa36-4d43-b3b6-33f0aa44e76b";
inline constexpr std::string_view kVirtualDiskSizeItem = "2fa54224-cd1b-4876-b211-5dbed83bf4b8";
inline constexpr std::string_view kPage83Item = "beca12ab-b2e6-4523-93ef-c309e000c746";
inline constexpr std::string_view kLogicalSectorItem = "8141bf1d-a96f-4709-ba47-f233a8faab5f";
inline constexpr std::string_view kPhysicalSectorItem = "cda348c7-445d-4471-9cc9-e9885251c556";
inline constexpr std::string_view kParentLocatorItem = "a8d35f2d-b30b-454d-abf7-d3d84834ab0c";
inline constexpr std::string_view kVhdxParentLocatorType = "b04aefb7-d19e-4a81-b789-25b8e9445913";

// One of the two 4 KiB headers.
struct Header {
  std::uint64_t sequence = 0;
  Guid file_write{}, data_write{}, log_guid{};
  std::uint16_t log_version = 0;
  std::uint16_t version = 0;
  std::uint32_t log_length = 0;
  std::uint64_t log_offset = 0;
};

// Checks signature, CRC-32C and the fixed fields of the header at `at` (4 KiB in `raw`).
Result<Header> decode_header(std::span<const std::byte> raw, std::uint64_t at);

struct Region {
  Guid id{};
  std::uint64_t offset = 0;
  std::uint32_t length = 0;
  bool required = false;
};

// Checks signature, CRC-32C, entry count and each entry's alignment; `at` is for messages.
Result<std::vector<Region>> decode_region_table(std::span<const std::byte> raw, std::uint64_t at);

// One entry of the metadata table; offsets are relative to the metadata region.
struct MetadataEntry {
  Guid id{};
  std::uint32_t offset = 0;
  std::uint32_t length = 0;
  bool is_user = false;
  bool is_virtual_disk = false;
  bool is_required = false;
};

// Checks signature, count and that every item lies inside a region of `region_length` bytes,
// past the table, without overlapping another; `at` is the region's file offset.
Result<std::vector<MetadataEntry>> decode_metadata_table(std::span<const std::byte> raw,
                                                         std::uint64_t region_length,
                                                         std::uint64_t at);

// The parent locator item (MS-VHDX 2.6.2.6): key/value pairs as UTF-8.
struct ParentLocator {
  Guid type{};
  std::vector<std::pair<std::string, std::string>> entries;
  // The value of `key`, or empty.
  std::string get(std::string_view key) const;
};

// Decodes the item bytes `raw` found at file offset `at`; every key and value must lie inside
// the item.
Result<ParentLocator> decode_parent_locator(std::span<const std::byte> raw, std::uint64_t at);

// The facts of the metadata region, checked.
struct Metadata {
  std::uint32_t block_size = 0;
  bool leave_blocks_allocated = false;
  bool has_parent = false;
  std::uint64_t virtual_size = 0;
  std::uint32_t logical_sector = 0;
  std::uint32_t physical_sector = 0;
  Guid page83{};
  std::optional<ParentLocator> parent;
};

// BAT entry fields (MS-VHDX 2.5.1).
enum State : std::uint8_t {
  kNotPresent = 0,
  kUndefined = 1,
  kZero = 2,
  kUnmapped = 3,
  kUnmappedV095 = 5,  // the v0.95 draft's value for UNMAPPED; qemu reads it as zeros
  kFullyPresent = 6,
  kPartiallyPresent = 7,
};
inline constexpr std::uint64_t kBatOffsetMask = ~std::uint64_t{0xFFFFF};
inline std::uint8_t bat_state(std::uint64_t e) { return static_cast<std::uint8_t>(e & 7); }
inline std::uint64_t bat_offset(std::uint64_t e) { return e & kBatOffsetMask; }

}  // namespace vdisk::vhdx

#endif  // VDISK_VHDX_VHDX_FORMAT_H_
