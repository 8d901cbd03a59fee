// VMDK on-disk structures as pure codecs: the hosted sparse extent header ("KDMV"), the
// stream-optimized markers and the footer trio at the end of VMware stream files.
// Field layout: VMware "Virtual Disk Format 5.0" technote, "Hosted Sparse Extents" and
// "Stream-Optimized Compressed Sparse Extents"; docs/vmdk.md §1.
#ifndef VDISK_VMDK_VMDK_FORMAT_H_
#define VDISK_VMDK_VMDK_FORMAT_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "vdisk/status.h"

namespace vdisk::vmdk {

inline constexpr std::size_t kSector = 512;
inline constexpr std::size_t kHeaderSize = 512;

// Header field offsets (little-endian, packed).
inline constexpr std::size_t kOffMagic = 0;               // u32 "KDMV"
inline constexpr std::size_t kOffVersion = 4;             // u32 1..3
inline constexpr std::size_t kOffFlags = 8;               // u32
inline constexpr std::size_t kOffCapacity = 12;           // u64 sectors
inline constexpr std::size_t kOffGrainSize = 20;          // u64 sectors
inline constexpr std::size_t kOffDescriptorOffset = 28;   // u64 sector, 0 = none
inline constexpr std::size_t kOffDescriptorSize = 36;     // u64 sectors
inline constexpr std::size_t kOffNumGtesPerGt = 44;       // u32
inline constexpr std::size_t kOffRgdOffset = 48;          // u64 sector
inline constexpr std::size_t kOffGdOffset = 56;           // u64 sector or kGdAtEnd
inline constexpr std::size_t kOffOverhead = 64;           // u64 sectors
inline constexpr std::size_t kOffUncleanShutdown = 72;    // u8
inline constexpr std::size_t kOffNewlineChars = 73;       // 4 bytes '\n' ' ' '\r' '\n'
inline constexpr std::size_t kOffCompressAlgorithm = 77;  // u16 (unaligned)

inline constexpr std::uint32_t kSparseMagic = 0x564D444B;  // "KDMV" as LE u32
inline constexpr std::uint32_t kCowdMagic = 0x44574F43;    // "COWD" as LE u32
inline constexpr std::uint64_t kGdAtEnd = 0xFFFFFFFFFFFFFFFFull;

inline constexpr std::uint32_t kFlagNewlineTest = 1u << 0;
inline constexpr std::uint32_t kFlagRedundantGrainTable = 1u << 1;
inline constexpr std::uint32_t kFlagZeroedGrainGte = 1u << 2;
inline constexpr std::uint32_t kFlagCompressed = 1u << 16;
inline constexpr std::uint32_t kFlagMarkers = 1u << 17;
// Bits 16-31 are incompatible features; only these two are known.
inline constexpr std::uint32_t kIncompatibleMask = 0xFFFF0000u;
inline constexpr std::uint32_t kKnownIncompatible = kFlagCompressed | kFlagMarkers;

inline constexpr std::uint16_t kCompressNone = 0;
inline constexpr std::uint16_t kCompressDeflate = 1;

// Bounds this reader accepts (documented limits, not format limits):
// - grain size: a power of two of 1 to 32768 sectors (16 MiB). VMware and qemu write 128;
//   qemu accepts up to 0x200000 sectors (1 GiB), which would make every grain read a 1 GiB
//   allocation, so libvdisk stops at 16 MiB.
// - numGTEsPerGT: 1 to 4096 (VMware 512; qemu rejects > 512; COWD uses 4096).
// - capacity: at most 2^40 sectors (512 TiB); a hosted sparse extent addresses 2^32 sectors of
//   its own file, but thin virtual disks can be larger.
inline constexpr std::uint64_t kMaxGrainSectors = 32768;
inline constexpr std::uint32_t kMaxGtesPerGt = 4096;
inline constexpr std::uint64_t kMaxCapacitySectors = 1ull << 40;

struct SparseHeader {
  std::uint32_t version = 0;
  std::uint32_t flags = 0;
  std::uint64_t capacity = 0;    // sectors
  std::uint64_t grain_size = 0;  // sectors
  std::uint64_t descriptor_offset = 0;
  std::uint64_t descriptor_size = 0;
  std::uint32_t num_gtes_per_gt = 0;
  std::uint64_t rgd_offset = 0;
  std::uint64_t gd_offset = 0;
  std::uint64_t overhead = 0;
  std::uint8_t unclean_shutdown = 0;
  std::uint16_t compress_algorithm = 0;

  bool zeroed_grains() const { return (flags & kFlagZeroedGrainGte) != 0; }
  bool compressed() const { return (flags & kFlagCompressed) != 0; }
  bool markers() const { return (flags & kFlagMarkers) != 0; }
  bool gd_at_end() const { return gd_offset == kGdAtEnd; }
  std::uint64_t grain_bytes() const { return grain_size * kSector; }
  // Sectors covered by one grain table.
  std::uint64_t gt_coverage() const { return grain_size * num_gtes_per_gt; }
  // Number of grain directory entries for the capacity.
  std::uint64_t gd_entries() const;
};

// Decodes and validates a 512-byte header read at file offset `at` (for messages). Checks the
// magic, version 1..3, incompatible flags, the newline bytes (only when flag bit 0 is set), the
// grain size, numGTEsPerGT and capacity bounds above, and compressAlgorithm (0 or 1; 1 requires
// the compressed flag). Does not check offsets against a file size.
Result<SparseHeader> decode_sparse_header(std::span<const std::byte> bytes, std::uint64_t at);

// Encodes a header (tests and builders). Writes 512 bytes; newline bytes are always the
// canonical ones.
void encode_sparse_header(const SparseHeader& h, std::span<std::byte> out);

// Stream-optimized markers (512-byte aligned).
inline constexpr std::size_t kMarkerSize = 512;
inline constexpr std::size_t kGrainMarkerHeader = 12;  // u64 lba, u32 size, then data
enum class MarkerType : std::uint32_t { eos = 0, grain_table = 1, grain_directory = 2, footer = 3 };

struct Marker {
  std::uint64_t value = 0;  // grain: LBA in sectors; metadata: sectors that follow the marker
  std::uint32_t size = 0;   // grain: compressed bytes (non-zero); metadata: 0
  std::uint32_t type = 0;   // metadata only
  bool is_grain() const { return size != 0; }
};

// Decodes the first 16 bytes of a marker. `bytes` must hold at least 16 bytes.
Marker decode_marker(std::span<const std::byte> bytes);
void encode_metadata_marker(std::uint64_t sectors, MarkerType type, std::span<std::byte> out);
void encode_grain_marker_header(std::uint64_t lba, std::uint32_t size, std::span<std::byte> out);

// The last three sectors of a VMware stream file: footer marker, footer header, EOS marker.
inline constexpr std::size_t kFooterTrioBytes = 3 * kSector;
// Validates the trio read at file offset `at` and returns the footer header (which takes
// precedence over the header at offset 0). corrupt when any of the markers or the header is
// wrong.
Result<SparseHeader> decode_footer_trio(std::span<const std::byte> bytes, std::uint64_t at);

// The footer (read at file offset `at`) must agree with the header at offset 0 on what shapes
// the disk and its grains: capacity, grainSize, numGTEsPerGT, compressAlgorithm and the flags
// that change how grains are read (zeroed-grain GTEs, compressed, markers). A stream reader has
// already used the header's values when it meets the footer, so the file reader refuses a
// disagreement too (qemu-img follows the footer; `vdconvert check` reports every field).
// corrupt naming the first field that differs.
Status check_footer_agrees(const SparseHeader& header, const SparseHeader& footer,
                           std::uint64_t at);

// COWD (vmfsSparse redo log) header: 2048 bytes, little-endian (technote, "ESX Server
// Sparse Extents").
inline constexpr std::size_t kCowdHeaderSize = 2048;
inline constexpr std::uint32_t kCowdGtes = 4096;  // entries per grain table (16 KiB)
struct CowdHeader {
  std::uint32_t version = 1;
  std::uint32_t flags = 3;
  std::uint32_t capacity = 0;    // sectors
  std::uint32_t grain_size = 1;  // sectors
  std::uint32_t gd_offset = 4;   // sector
  std::uint32_t gd_entries = 0;
  std::uint32_t free_sector = 0;
  std::string parent_file;  // child redo logs: parentFileName (NUL-terminated, 1024 bytes)
  std::uint32_t generation = 0;
  std::uint32_t unclean_shutdown = 0;
  // Grain directory entries the capacity needs: ceil(capacity / (4096 * grainSize)).
  std::uint64_t needed_gd_entries() const;
};
// Validates magic "COWD", version 1, grain size 1..kMaxGrainSectors and a grain directory
// count that covers the capacity (at most 2^20 entries). Does not check offsets.
Result<CowdHeader> decode_cowd_header(std::span<const std::byte> bytes);
void encode_cowd_header(const CowdHeader& h, std::span<std::byte> out);  // 2048 bytes

// SESparse constant header: 512 bytes of u64 LE (as qemu block/vmdk.c reads it;
// docs/vmdk.md §1). Offsets and sizes in sectors.
inline constexpr std::uint64_t kSeSparseMagic = 0x00000000CAFEBABEull;
inline constexpr std::uint64_t kSeSparseVersion = 0x0000000200000001ull;
inline constexpr std::uint64_t kSeSparseVolatileMagic = 0x00000000CAFECAFEull;
struct SeSparseHeader {
  std::uint64_t version = kSeSparseVersion;
  std::uint64_t capacity = 0;           // sectors
  std::uint64_t grain_size = 8;         // sectors (only 8 is valid)
  std::uint64_t grain_table_size = 64;  // sectors (only 64: 4096 u64 entries)
  std::uint64_t flags = 0;
  std::uint64_t volatile_header_offset = 0;
  std::uint64_t grain_dir_offset = 0, grain_dir_size = 0;
  std::uint64_t grain_tables_offset = 0, grain_tables_size = 0;
  std::uint64_t grains_offset = 0, grains_size = 0;
};
// Validates magic, version, grain and table sizes, flags 0, capacity bound, and a grain
// directory large enough for the capacity. unsupported for versions/geometries qemu refuses.
Result<SeSparseHeader> decode_sesparse_header(std::span<const std::byte> bytes);

// True when the two bytes start a zlib stream (CM 8, window <= 32 KiB, FCHECK valid).
bool looks_like_zlib(std::span<const std::byte> bytes);

// Inflates one compressed grain into `out` (through codec/codec.h: ISA-L when built in, else
// zlib), which must be filled exactly: zlib framing, or raw
// deflate when the data does not start with a zlib header. corrupt (naming `at`) when the data
// is malformed, inflates to fewer bytes, or would inflate to more.
Status inflate_grain(std::span<const std::byte> in, std::span<std::byte> out, std::uint64_t at);

// Inflates the grain that holds the end of a disk whose capacity is not a multiple of the grain
// size: `out` receives the bytes inside the disk (fewer than `grain_bytes`). Writers differ: the
// technote and open-vmdk compress only those bytes, VMware products compress the whole grain
// zero-padded past the disk's end, and qemu-img reads either (it inflates into a full grain
// buffer). So the data may inflate to anything from out.size() to grain_bytes bytes; the bytes
// past out.size() are dropped. corrupt when it inflates to fewer than out.size() or more than
// grain_bytes. Returns true when a dropped byte was not zero (the header's capacity may be
// smaller than the disk the image was made from: worth a warning).
Result<bool> inflate_last_grain(std::span<const std::byte> in, std::span<std::byte> out,
                                std::uint64_t grain_bytes, std::uint64_t at);

}  // namespace vdisk::vmdk

#endif  // VDISK_VMDK_VMDK_FORMAT_H_
