// The VDI block reader: virtual offsets through the block map to physical block slots
// (docs/vdi.md, "Block map"). Free blocks (0xFFFFFFFF) map as unallocated and zero blocks
// (0xFFFFFFFE) as zero, from the map alone; neither is read. Neighbouring blocks of one kind are
// merged into one piece (base/mapped_source.h), and data blocks whose slots follow each other in
// the file are read with one read_at. The map is validated at open and never changes, so
// concurrent calls are safe.
#include <fmt/format.h>

#include "base/mapped_source.h"
#include "formats/vdi/vdi_format.h"

namespace vdisk::vdi {
namespace {

// Pieces: data (host: file offset of `guest`), zero, and below for free blocks (zeros, mapped as
// unallocated: a VDI here has no parent).
using Piece = detail::MappedSource::Piece;

class VdiSource final : public detail::MappedSource {
 public:
  VdiSource(std::unique_ptr<RandomAccessFile> file, Header h, std::vector<std::uint32_t> map)
      : file_(std::move(file)), h_(std::move(h)), map_(std::move(map)) {}

  std::uint64_t size() const override { return h_.virtual_size(); }
  std::string_view format() const override { return kFormat; }

  void describe(Properties& out) const override;

 private:
  // The pieces of [offset, offset + length), block by block.
  Status walk(std::uint64_t offset, std::uint64_t length, PieceSink& out) const override {
    const std::uint64_t end = offset + length;
    for (std::uint64_t pos = offset; pos < end;) {
      const std::uint64_t bi = pos / h_.block_size;
      const std::uint64_t within = pos % h_.block_size;
      const std::uint64_t stop = std::min(end, (bi + 1) * h_.block_size);
      const std::uint32_t e = map_[static_cast<std::size_t>(bi)];
      Piece p{Piece::Kind::data, pos, stop - pos, 0, 0};
      if (e == kBlockFree)
        p.kind = Piece::Kind::below;
      else if (e == kBlockZero)
        p.kind = Piece::Kind::zero;
      else
        p.host = h_.slot_offset(e) + within;
      VDISK_RETURN_IF_ERROR(out.emit(p));
      pos = stop;
    }
    return {};
  }

  Status read_data(std::uint64_t host, std::span<std::byte> dst) const override {
    return file_->read_at(host, dst);
  }

  std::unique_ptr<RandomAccessFile> file_;
  Header h_;
  std::vector<std::uint32_t> map_;
};

void VdiSource::describe(Properties& out) const {
  out.add("image_type", type_name(h_.type));
  out.add("header_version", fmt::format("{}.{}", h_.version >> 16, h_.version & 0xffff));
  out.add("header_size", std::uint64_t{h_.header_size});
  if (!h_.pre_header.empty()) out.add("pre_header", h_.pre_header);
  if (!h_.comment.empty()) out.add("comment", h_.comment);
  out.add("flags", fmt::format("0x{:08x}", h_.flags));
  out.add("disk_size", h_.disk_size);
  out.add("block_size", std::uint64_t{h_.block_size});
  out.add("block_extra", std::uint64_t{h_.block_extra});
  out.add("blocks", std::uint64_t{h_.blocks});
  out.add("allocated_blocks", std::uint64_t{h_.allocated});
  out.add("blocks_offset", std::uint64_t{h_.blocks_offset});
  out.add("data_offset", std::uint64_t{h_.data_offset});
  out.add("uuid", uuid_string(h_.uuid_create));
  out.add("modification_uuid", uuid_string(h_.uuid_modify));
  if (!is_nil(h_.uuid_linkage)) out.add("parent_uuid", uuid_string(h_.uuid_linkage));
  if (!is_nil(h_.uuid_parent_modify))
    out.add("parent_modification_uuid", uuid_string(h_.uuid_parent_modify));
  if (h_.has_lchs) {
    Properties& g = out.add_object("geometry");
    g.add("cylinders", std::uint64_t{h_.lchs.cylinders});
    g.add("heads", std::uint64_t{h_.lchs.heads});
    g.add("sectors", std::uint64_t{h_.lchs.sectors});
  }
}

}  // namespace

std::unique_ptr<BlockSource> make_source(std::unique_ptr<RandomAccessFile> file, Header h,
                                         std::vector<std::uint32_t> map) {
  return std::make_unique<VdiSource>(std::move(file), std::move(h), std::move(map));
}

}  // namespace vdisk::vdi
