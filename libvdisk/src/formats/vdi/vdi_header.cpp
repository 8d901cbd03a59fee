// Decoding and validating the VDI 1.1 header: every check VirtualBox's vdiValidateHeader and
// qemu's vdi_open make, plus the bounds a hostile file needs (docs/vdi.md, "What is checked").
#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "base/checked.h"
#include "base/endian.h"
#include "base/utf.h"
#include "formats/vdi/vdi_format.h"

namespace vdisk::vdi {
namespace {

using Bytes = std::span<const std::byte>;

Status bad(std::uint64_t offset, std::string_view detail) {
  return corrupt_at(kFormat, "header", offset, detail);
}

Status truncated(std::size_t need, std::size_t have) {
  return bad(0, fmt::format("expected at least {} bytes, found {} (truncated)", need, have));
}

// Text up to the first NUL as valid UTF-8, control characters shown as '?'.
std::string sanitised(Bytes field) {
  std::string raw;
  for (std::byte b : field) {
    if (b == std::byte{0}) break;
    raw += static_cast<char>(b);
  }
  while (!raw.empty() && (raw.back() == '\n' || raw.back() == '\r' || raw.back() == ' '))
    raw.pop_back();  // the banner ends in a newline
  std::string out;
  for (std::size_t pos = 0; pos < raw.size();) {
    const std::uint32_t cp = detail::decode_utf8(raw, pos);
    detail::append_utf8(out, (cp < 0x20 || cp == 0x7f) ? '?' : cp);
  }
  return out;
}

Geometry geometry_at(Bytes head, std::uint64_t off) {
  return Geometry{detail::load_le32(head.subspan(off)), detail::load_le32(head.subspan(off + 4)),
                  detail::load_le32(head.subspan(off + 8)),
                  detail::load_le32(head.subspan(off + 12))};
}

Uuid uuid_at(Bytes head, std::uint64_t off) {
  Uuid u;
  std::memcpy(u.data(), head.data() + off, u.size());
  return u;
}

// Signature, version and the header's length; fills `h.version` and `h.header_size`.
Status check_frame(Bytes head, Header& h) {
  if (head.size() < kOffVersion) return truncated(kOffVersion, head.size());
  const std::uint32_t sig = detail::load_le32(head.subspan(0x40));
  if (sig != kSignature)
    return bad(0x40, fmt::format("signature expected 0x{:08x}, found 0x{:08x}", kSignature, sig));
  if (head.size() < kHeaderStart) return truncated(kHeaderStart, head.size());
  h.version = detail::load_le32(head.subspan(kOffVersion));
  if (h.version != kVersion11)
    return unsupported(fmt::format(
        "vdi: header at offset 68: version {}.{} is not supported (only 1.1, which VirtualBox "
        "and qemu write); let VirtualBox rewrite it (VBoxManage clonemedium SRC new.vdi)",
        h.version >> 16, h.version & 0xffff));
  const std::size_t need = kHeaderStart + kHeader1Bytes;
  if (head.size() < need) return truncated(need, head.size());
  h.header_size = detail::load_le32(head.subspan(kOffHeaderSize));
  if (h.header_size < kHeader1Bytes)
    return bad(kOffHeaderSize, fmt::format("header size expected at least {} (0x{:x}), found {}",
                                           kHeader1Bytes, kHeader1Bytes, h.header_size));
  h.has_lchs = h.header_size >= kHeader1PlusBytes;
  if (h.has_lchs && head.size() < kHeaderReadBytes) return truncated(kHeaderReadBytes, head.size());
  return {};
}

// Image type, flags and the geometries' sector size.
Status check_kind(Bytes head, Header& h) {
  const std::uint32_t type = detail::load_le32(head.subspan(kOffType));
  if (type < 1 || type > 4)
    return bad(kOffType, fmt::format("image type expected 1 (dynamic), 2 (static), 3 (undo) or 4 "
                                     "(differencing), found {}",
                                     type));
  h.type = static_cast<ImageType>(type);
  h.flags = detail::load_le32(head.subspan(kOffFlags));
  if (h.flags & ~kKnownFlags)
    return bad(kOffFlags, fmt::format("image flags expected within 0x{:08x}, found 0x{:08x}",
                                      kKnownFlags, h.flags));
  h.legacy = geometry_at(head, kOffLegacyGeometry);
  if (h.legacy.sector_size != kSectorSize)
    return bad(kOffLegacyGeometry + 12, fmt::format("legacy geometry sector size expected {}, "
                                                    "found {}",
                                                    kSectorSize, h.legacy.sector_size));
  if (h.has_lchs) {
    h.lchs = geometry_at(head, kOffLchsGeometry);
    if (h.lchs.sector_size != kSectorSize)
      return bad(kOffLchsGeometry + 12,
                 fmt::format("LCHS geometry sector size expected {}, found {}", kSectorSize,
                             h.lchs.sector_size));
  }
  return {};
}

// Block size, block extra, the block counts and the disk size they must cover.
Status check_blocks(Bytes head, Header& h) {
  h.disk_size = detail::load_le64(head.subspan(kOffDiskSize));
  h.block_size = detail::load_le32(head.subspan(kOffBlockSize));
  h.block_extra = detail::load_le32(head.subspan(kOffBlockExtra));
  h.blocks = detail::load_le32(head.subspan(kOffBlocks));
  h.allocated = detail::load_le32(head.subspan(kOffAllocated));
  if (!detail::is_power_of_two(h.block_size) || h.block_size < kMinBlockSize ||
      h.block_size > kMaxBlockSize)
    return bad(kOffBlockSize, fmt::format("block size expected a power of two from {} to {}, "
                                          "found {}",
                                          kMinBlockSize, kMaxBlockSize, h.block_size));
  if (h.block_extra != 0 && !detail::is_power_of_two(h.block_extra))
    return bad(
        kOffBlockExtra,
        fmt::format("block extra data expected 0 or a power of two, found {}", h.block_extra));
  if (h.blocks > kMaxBlocks)
    return resource_exhausted(fmt::format(
        "vdi: header at offset {}: {} blocks exceed this reader's limit of {} block map "
        "entries",
        kOffBlocks, h.blocks, kMaxBlocks));
  const std::uint64_t room = std::uint64_t{h.blocks} * h.block_size;  // < 2^61: no overflow
  if (h.disk_size > room)
    return bad(kOffDiskSize, fmt::format("disk size expected at most {} blocks x {} bytes = {}, "
                                         "found {}",
                                         h.blocks, h.block_size, room, h.disk_size));
  if (h.allocated > h.blocks)
    return bad(kOffAllocated, fmt::format("blocks allocated expected at most the {} blocks in "
                                          "the image, found {}",
                                          h.blocks, h.allocated));
  return {};
}

// The block map and data offsets: aligned, after the header, the map inside the file and
// before the data.
Status check_offsets(Bytes head, Header& h, std::uint64_t file_size) {
  h.blocks_offset = detail::load_le32(head.subspan(kOffBlocksOffset));
  h.data_offset = detail::load_le32(head.subspan(kOffDataOffset));
  const std::uint64_t header_end = kHeaderStart + std::uint64_t{h.header_size};
  if (h.blocks_offset % kSectorSize != 0 || h.blocks_offset < header_end)
    return bad(kOffBlocksOffset, fmt::format("block map offset expected a multiple of 512 at or "
                                             "after the header's end {}, found {}",
                                             header_end, h.blocks_offset));
  const std::uint64_t map_bytes = std::uint64_t{h.blocks} * 4;
  if (!detail::range_inside(h.blocks_offset, map_bytes, file_size))
    return bad(kOffBlocksOffset,
               fmt::format("block map of {} entries at {} expected inside the {}-byte file "
                           "(truncated?)",
                           h.blocks, h.blocks_offset, file_size));
  const std::uint64_t map_end = h.blocks_offset + map_bytes;
  if (h.data_offset % kSectorSize != 0 || h.data_offset < map_end)
    return bad(kOffDataOffset, fmt::format("data offset expected a multiple of 512 at or after "
                                           "the block map's end {}, found {}",
                                           map_end, h.data_offset));
  return {};
}

// The image's own UUIDs are set; a differencing or undo image names its parent.
Status check_uuids(Bytes head, Header& h) {
  h.uuid_create = uuid_at(head, kOffUuidCreate);
  h.uuid_modify = uuid_at(head, kOffUuidModify);
  h.uuid_linkage = uuid_at(head, kOffUuidLinkage);
  h.uuid_parent_modify = uuid_at(head, kOffUuidParentModify);
  if (is_nil(h.uuid_create))
    return bad(kOffUuidCreate, "image UUID expected non-nil, found the nil UUID");
  if (is_nil(h.uuid_modify))
    return bad(kOffUuidModify, "last modification UUID expected non-nil, found the nil UUID");
  if ((h.type == ImageType::differencing || h.type == ImageType::undo) && is_nil(h.uuid_linkage))
    return bad(kOffUuidLinkage, fmt::format("parent UUID of a {} image expected non-nil, found "
                                            "the nil UUID",
                                            type_name(h.type)));
  return {};
}

}  // namespace

bool is_nil(const Uuid& u) {
  return std::all_of(u.begin(), u.end(), [](std::byte b) { return b == std::byte{0}; });
}

std::string uuid_string(const Uuid& u) {
  const std::span<const std::byte> b(u);
  std::string tail;
  for (std::size_t i = 8; i < 16; ++i) {
    if (i == 10) tail += '-';
    tail += fmt::format("{:02x}", std::to_integer<unsigned>(b[i]));
  }
  return fmt::format("{:08x}-{:04x}-{:04x}-{}", detail::load_le32(b),
                     detail::load_le16(b.subspan(4)), detail::load_le16(b.subspan(6)), tail);
}

std::string_view type_name(ImageType t) {
  switch (t) {
    case ImageType::dynamic:
      return "dynamic";
    case ImageType::fixed:
      return "static";
    case ImageType::undo:
      return "undo";
    case ImageType::differencing:
      return "differencing";
  }
  return "unknown";
}

Result<Header> decode_header(std::span<const std::byte> head, std::uint64_t file_size) {
  Header h;
  VDISK_RETURN_IF_ERROR(check_frame(head, h));
  VDISK_RETURN_IF_ERROR(check_kind(head, h));
  VDISK_RETURN_IF_ERROR(check_blocks(head, h));
  VDISK_RETURN_IF_ERROR(check_offsets(head, h, file_size));
  VDISK_RETURN_IF_ERROR(check_uuids(head, h));
  h.pre_header = sanitised(head.first(kPreHeaderBytes));
  h.comment = sanitised(head.subspan(kOffComment, kCommentBytes));
  return h;
}

}  // namespace vdisk::vdi
