// The VHDX block reader: virtual offsets through the BAT to payload blocks (MS-VHDX 2.5;
// docs/vhdx.md "Reading").
//
// read() and map() walk a range as pieces (base/mapped_source.h): runs of one kind (stored data
// at consecutive file offsets, zeros, or "below": the parent's bytes, or zeros without a
// parent). map() reports
// them from the BAT and sector bitmaps alone; read() reads each data piece with one read_at, so
// contiguous blocks cost one system call. The object holds no mutable state, so concurrent
// calls are safe.
#include <algorithm>

#include <fmt/format.h>

#include "base/checked.h"
#include "base/mapped_source.h"
#include "vdisk/image.h"
#include "formats/vhdx/vhdx_reader.h"

namespace vdisk::vhdx {
namespace {

// Pieces: data (host: file offset of `guest`), zero, below; no special ones.
using Piece = detail::MappedSource::Piece;

class VhdxSource final : public detail::MappedSource {
 public:
  VhdxSource(std::unique_ptr<RandomAccessFile> file, Layout l, std::vector<std::uint64_t> bat,
             Parent parent)
      : file_(std::move(file)),
        l_(std::move(l)),
        bat_(std::move(bat)),
        parent_(std::move(parent)),
        bs_(l_.md.block_size),
        sector_(l_.md.logical_sector) {}

  std::uint64_t size() const override { return l_.md.virtual_size; }
  std::string_view format() const override { return kFormat; }

  void describe(Properties& out) const override;

 private:
  std::uint64_t entry(std::uint64_t block) const {
    return bat_[static_cast<std::size_t>(block + block / l_.chunk_ratio)];
  }

  // Bytes [a, b) of block `block` (block-relative) as pieces; a partially present block is cut
  // at its sector bitmap's runs.
  template <class Emit>
  Status classify(std::uint64_t block, std::uint64_t a, std::uint64_t b, Emit&& emit) const {
    const std::uint64_t e = entry(block);
    const std::uint64_t base = block * bs_;
    const bool diff = l_.md.has_parent;
    switch (bat_state(e)) {
      case kFullyPresent:
        return emit(Piece{Piece::Kind::data, base + a, b - a, bat_offset(e) + a});
      case kPartiallyPresent:
        return classify_partial(block, e, a, b, emit);
      case kZero:
        return emit(Piece{Piece::Kind::zero, base + a, b - a, 0});
      default:  // not present, undefined, unmapped: the parent's, or zeros
        return emit(Piece{diff ? Piece::Kind::below : Piece::Kind::zero, base + a, b - a, 0});
    }
  }

  template <class Emit>
  Status classify_partial(std::uint64_t block, std::uint64_t e, std::uint64_t a, std::uint64_t b,
                          Emit&& emit) const {
    const std::uint64_t chunk = block / l_.chunk_ratio;
    const std::uint64_t bm =
        bat_[static_cast<std::size_t>(chunk * (l_.chunk_ratio + 1) + l_.chunk_ratio)];
    const std::uint64_t s0 = a / sector_, s1 = detail::div_ceil(b, sector_);
    const std::uint64_t first_bit = (block % l_.chunk_ratio) * (bs_ / sector_) + s0;
    std::vector<std::byte> bits(static_cast<std::size_t>((first_bit % 8 + (s1 - s0) + 7) / 8));
    VDISK_RETURN_IF_ERROR(file_->read_at(bat_offset(bm) + first_bit / 8, bits));
    const std::uint64_t base = block * bs_;
    for (std::uint64_t s = s0; s < s1; ++s) {
      const std::uint64_t bit = first_bit % 8 + (s - s0);
      const bool present = (std::to_integer<unsigned>(bits[bit / 8]) >> (bit % 8)) & 1;
      const std::uint64_t from = std::max(a, s * sector_), to = std::min(b, (s + 1) * sector_);
      VDISK_RETURN_IF_ERROR(emit(Piece{present ? Piece::Kind::data : Piece::Kind::below,
                                       base + from, to - from, bat_offset(e) + from}));
    }
    return {};
  }

  // The pieces of [offset, offset + length), block by block.
  Status walk(std::uint64_t offset, std::uint64_t length, PieceSink& out) const override {
    auto emit = [&](const Piece& p) { return out.emit(p); };
    const std::uint64_t end = offset + length;
    for (std::uint64_t pos = offset; pos < end;) {
      const std::uint64_t block = pos / bs_;
      const std::uint64_t stop = std::min(end, (block + 1) * bs_);
      VDISK_RETURN_IF_ERROR(classify(block, pos - block * bs_, stop - block * bs_, emit));
      pos = stop;
    }
    return {};
  }

  Status read_data(std::uint64_t host, std::span<std::byte> dst) const override {
    return file_->read_at(host, dst);
  }

  // The parent's bytes; past its end, or without a parent, zeros (mapped as zero without one).
  const BlockSource* below() const override { return parent_.source.get(); }
  ExtentKind below_kind() const override {
    return parent_.source ? ExtentKind::unallocated : ExtentKind::zero;
  }

  std::unique_ptr<RandomAccessFile> file_;
  Layout l_;
  std::vector<std::uint64_t> bat_;
  Parent parent_;
  std::uint64_t bs_;
  std::uint64_t sector_;
};

std::string braced(const Guid& g) { return "{" + guid_text(g) + "}"; }

void VhdxSource::describe(Properties& out) const {
  const Metadata& m = l_.md;
  const Header& h = l_.headers.current;
  out.add("subformat", m.has_parent               ? "differencing"
                       : m.leave_blocks_allocated ? "fixed"
                                                  : "dynamic");
  out.add("block_size", std::uint64_t{m.block_size});
  out.add("logical_sector_size", std::uint64_t{m.logical_sector});
  out.add("physical_sector_size", std::uint64_t{m.physical_sector});
  out.add("has_parent", m.has_parent);
  out.add("leave_blocks_allocated", m.leave_blocks_allocated);
  out.add("chunk_ratio", l_.chunk_ratio);
  out.add("log", l_.log.entries == 0 ? std::string("empty")
                                     : fmt::format("replayed {} entries", l_.log.entries));
  out.add("log_entries_replayed", l_.log.entries);
  out.add("header_sequence", h.sequence);
  out.add("file_write_guid", braced(h.file_write));
  out.add("data_write_guid", braced(h.data_write));
  out.add("virtual_disk_id", braced(m.page83));
  if (!l_.creator.empty()) out.add("creator", l_.creator);
  if (parent_.source) {
    out.add("parent_linkage", m.parent->get("parent_linkage"));
    Properties& p = out.add_object("parent");
    p.add("path", parent_.path);
    p.add("located_by", parent_.tried_key);
    p.append(vdisk::describe(*parent_.source));
  }
}

}  // namespace

std::unique_ptr<BlockSource> make_source(std::unique_ptr<RandomAccessFile> file, Layout layout,
                                         std::vector<std::uint64_t> bat, Parent parent) {
  return std::make_unique<VhdxSource>(std::move(file), std::move(layout), std::move(bat),
                                      std::move(parent));
}

}  // namespace vdisk::vhdx
