// VirtualBox VDI (header version 1.1) on-disk structures as the reader uses them, decoded field
// by field, and the interfaces between the VDI driver's files (vdi_header.cpp, vdi_map.cpp,
// vdi_source.cpp, vdi_driver.cpp).
//
// Layout and rules: VirtualBox src/VBox/Storage/VDICore.h and VDI.cpp (vdiValidateHeader), qemu
// block/vdi.c; summarised in docs/vdi.md. Every field taken from the image is range-checked here,
// before the reader uses it to seek or allocate. All integers are little-endian.
#ifndef VDISK_VDI_VDI_FORMAT_H_
#define VDISK_VDI_VDI_FORMAT_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "vdisk/block.h"
#include "vdisk/io.h"
#include "vdisk/status.h"

namespace vdisk::vdi {

inline constexpr std::string_view kFormat = "vdi";
inline constexpr std::uint32_t kSignature = 0xBEDA107F;    // at 0x40
inline constexpr std::uint32_t kVersion11 = 0x00010001;    // major 1, minor 1
inline constexpr std::uint64_t kPreHeaderBytes = 0x40;     // the text banner
inline constexpr std::uint64_t kHeaderStart = 0x48;        // header size counts from here
inline constexpr std::uint32_t kHeader1Bytes = 0x180;      // VDIHEADER1 (qemu writes this)
inline constexpr std::uint32_t kHeader1PlusBytes = 0x190;  // VDIHEADER1PLUS: adds LCHS geometry
// Bytes the decoder looks at: the pre-header, signature, version and a 1.1+ header.
inline constexpr std::size_t kHeaderReadBytes = kHeaderStart + kHeader1PlusBytes;

// Field offsets in the file (docs/vdi.md, "Header").
inline constexpr std::uint64_t kOffVersion = 0x44;
inline constexpr std::uint64_t kOffHeaderSize = 0x48;
inline constexpr std::uint64_t kOffType = 0x4C;
inline constexpr std::uint64_t kOffFlags = 0x50;
inline constexpr std::uint64_t kOffComment = 0x54;
inline constexpr std::size_t kCommentBytes = 256;
inline constexpr std::uint64_t kOffBlocksOffset = 0x154;
inline constexpr std::uint64_t kOffDataOffset = 0x158;
inline constexpr std::uint64_t kOffLegacyGeometry =
    0x15C;  // cylinders, heads, sectors, sector size
inline constexpr std::uint64_t kOffDiskSize = 0x170;
inline constexpr std::uint64_t kOffBlockSize = 0x178;
inline constexpr std::uint64_t kOffBlockExtra = 0x17C;
inline constexpr std::uint64_t kOffBlocks = 0x180;
inline constexpr std::uint64_t kOffAllocated = 0x184;
inline constexpr std::uint64_t kOffUuidCreate = 0x188;
inline constexpr std::uint64_t kOffUuidModify = 0x198;
inline constexpr std::uint64_t kOffUuidLinkage = 0x1A8;
inline constexpr std::uint64_t kOffUuidParentModify = 0x1B8;
inline constexpr std::uint64_t kOffLchsGeometry = 0x1C8;  // only when header size >= 0x190

// Image types (u32 at 0x4C).
enum class ImageType : std::uint32_t { dynamic = 1, fixed = 2, undo = 3, differencing = 4 };
// Image flags VirtualBox accepts (VD_VDI_IMAGE_FLAGS_MASK: fixed 0x10000, diff 0x20000,
// zero-expand 0x100); any other bit makes VirtualBox refuse the image.
inline constexpr std::uint32_t kKnownFlags = 0x00030100;

// Block map entries (u32 each, at offBlocks).
inline constexpr std::uint32_t kBlockFree = 0xFFFFFFFF;  // never allocated: zeros in a base image
inline constexpr std::uint32_t kBlockZero = 0xFFFFFFFE;  // reads as zeros

// Block size limits of this reader: a power of two from one sector to 256 MiB (VirtualBox and
// qemu write 1 MiB; qemu reads only 1 MiB).
inline constexpr std::uint32_t kMinBlockSize = 512;
inline constexpr std::uint32_t kMaxBlockSize = 256u << 20;
// Block map entries a source keeps in memory at most (256 MiB of map; 64 TiB at 1 MiB blocks).
inline constexpr std::uint32_t kMaxBlocks = 64u << 20;
inline constexpr std::uint32_t kSectorSize = 512;

// A UUID as VDI stores it: Microsoft GUID byte order (first three fields little-endian).
using Uuid = std::array<std::byte, 16>;
bool is_nil(const Uuid& u);
// The RFC 4122 text form, lowercase ("2dc27766-f623-4200-9d64-115e9bfd4a08").
std::string uuid_string(const Uuid& u);

struct Geometry {
  std::uint32_t cylinders = 0, heads = 0, sectors = 0, sector_size = 0;
};

struct Header {
  std::string pre_header;  // the banner text, sanitised (display only)
  std::uint32_t version = 0;
  std::uint32_t header_size = 0;
  ImageType type = ImageType::dynamic;
  std::uint32_t flags = 0;
  std::string comment;  // sanitised UTF-8 (display only)
  std::uint32_t blocks_offset = 0;
  std::uint32_t data_offset = 0;
  Geometry legacy;
  bool has_lchs = false;
  Geometry lchs;
  std::uint64_t disk_size = 0;  // as stored
  std::uint32_t block_size = 0;
  std::uint32_t block_extra = 0;
  std::uint32_t blocks = 0;     // block map entries
  std::uint32_t allocated = 0;  // physical block slots in use
  Uuid uuid_create{}, uuid_modify{}, uuid_linkage{}, uuid_parent_modify{};

  // The virtual size: disk_size rounded up to a sector, as qemu reports odd sizes (VBoxManage
  // convertfromraw writes them).
  std::uint64_t virtual_size() const {
    return (disk_size + kSectorSize - 1) / kSectorSize * kSectorSize;
  }
  // File bytes of one physical block slot: its extra data, then its data.
  std::uint64_t stride() const { return std::uint64_t{block_size} + block_extra; }
  // File offset of the data of physical slot `slot`.
  std::uint64_t slot_offset(std::uint32_t slot) const {
    return std::uint64_t{data_offset} + slot * stride() + block_extra;
  }
};

// "dynamic", "static", "undo", "differencing".
std::string_view type_name(ImageType t);

// Decodes and validates the header in `head` (the first min(kHeaderReadBytes, file size) bytes
// of a file of `file_size` bytes): signature, version 1.1, header size, image type, flags,
// geometry sector sizes, block size and extra, disk size against the block count, the block map
// and data offsets (aligned, ordered, the map inside the file), the allocated count and the
// UUIDs. corrupt naming the field's offset, or unsupported (another version).
Result<Header> decode_header(std::span<const std::byte> head, std::uint64_t file_size);

// Reads the block map and checks every entry: free, zero, or a slot below the allocated count
// whose block (the part inside the virtual disk) lies inside the file, each slot used once.
Result<std::vector<std::uint32_t>> read_block_map(const RandomAccessFile& file, const Header& h);

// The BlockSource over a validated base image.
std::unique_ptr<BlockSource> make_source(std::unique_ptr<RandomAccessFile> file, Header h,
                                         std::vector<std::uint32_t> map);

}  // namespace vdisk::vdi

#endif  // VDISK_VDI_VDI_FORMAT_H_
