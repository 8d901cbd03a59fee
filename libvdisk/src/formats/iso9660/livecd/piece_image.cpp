// Pieces over zeros (see piece_image.h).
#include "formats/iso9660/livecd/piece_image.h"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "base/checked.h"

namespace vdisk::livecd {
namespace {

// The first piece that ends after `offset`.
std::vector<ImagePiece>::const_iterator first_after(const std::vector<ImagePiece>& pieces,
                                                    std::uint64_t offset) {
  return std::upper_bound(pieces.begin(), pieces.end(), offset,
                          [](std::uint64_t o, const ImagePiece& p) { return o < p.end(); });
}

}  // namespace

Result<PieceImage> PieceImage::make(std::uint64_t size, std::vector<ImagePiece> pieces) {
  std::uint64_t prev_end = 0;
  for (const auto& p : pieces) {
    if (!p.bytes || p.bytes->empty() || p.offset < prev_end ||
        !detail::range_inside(p.offset, p.bytes->size(), size)) {
      return internal_error(fmt::format(
          "livecd: generated piece at offset {} ({} bytes) overlaps the previous one (end {}) or "
          "lies outside the {}-byte image",
          p.offset, p.bytes ? p.bytes->size() : 0, prev_end, size));
    }
    prev_end = p.end();
  }
  PieceImage img;
  img.size_ = size;
  img.pieces_ = std::move(pieces);
  return img;
}

Status PieceImage::read(std::uint64_t offset, std::span<std::byte> dst) const {
  if (!detail::range_inside(offset, dst.size(), size_)) {
    return out_of_range(fmt::format("livecd: read of {} bytes at offset {} past the end ({})",
                                    dst.size(), offset, size_));
  }
  std::fill(dst.begin(), dst.end(), std::byte{0});
  const std::uint64_t end = offset + dst.size();
  for (auto it = first_after(pieces_, offset); it != pieces_.end() && it->offset < end; ++it) {
    const std::uint64_t from = std::max(offset, it->offset);
    const std::uint64_t to = std::min(end, it->end());
    std::memcpy(dst.data() + (from - offset), it->bytes->data() + (from - it->offset),
                static_cast<std::size_t>(to - from));
  }
  return ok_status();
}

void PieceImage::map(std::uint64_t offset, std::uint64_t length, std::vector<Extent>& out) const {
  const std::uint64_t end = offset + length;
  std::uint64_t pos = offset;
  for (auto it = first_after(pieces_, offset); it != pieces_.end() && it->offset < end; ++it) {
    const std::uint64_t from = std::max(pos, it->offset);
    const std::uint64_t to = std::min(end, it->end());
    append_extent(out, {pos, from - pos, ExtentKind::unallocated});
    append_extent(out, {from, to - from, ExtentKind::data});
    pos = to;
  }
  append_extent(out, {pos, end - pos, ExtentKind::unallocated});
}

std::vector<std::byte> PieceImage::to_bytes() const {
  std::vector<std::byte> out(static_cast<std::size_t>(size_));
  for (const auto& p : pieces_) {
    std::memcpy(out.data() + p.offset, p.bytes->data(), p.bytes->size());
  }
  return out;
}

}  // namespace vdisk::livecd
