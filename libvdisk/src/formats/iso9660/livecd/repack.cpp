// The GRUB repack's disk view over an ISO file (see repack.h); the generated sectors come from
// repack_frame.cpp.
#include "formats/iso9660/livecd/repack.h"

#include <algorithm>

#include <fmt/format.h>

#include "formats/iso9660/livecd/piece_image.h"
#include "formats/iso9660/livecd/repack_frame.h"
#include "base/checked.h"

namespace vdisk::livecd {
namespace {

using namespace repack_detail;

constexpr std::uint64_t kIsoBlock = 2048;
constexpr std::uint64_t kPvdOffset = 16 * kIsoBlock;

Result<IsoFacts> read_iso(const BlockSource& iso) {
  const std::uint64_t size = iso.size();
  std::vector<std::byte> pvd;
  if (size >= kPvdOffset + kIsoBlock) {
    pvd.resize(kIsoBlock);
    VDISK_RETURN_IF_ERROR(iso.read(kPvdOffset, pvd));
  }
  return iso_facts(pvd, size);
}

class Repack final : public RepackSource {
 public:
  Repack(const BlockSource& iso, PieceImage generated, RepackLayout layout)
      : iso_(iso), gen_(std::move(generated)), layout_(std::move(layout)) {
    iso_offset_ = layout_.iso_first_lba * kRepackLba;
    iso_end_ = iso_offset_ + layout_.iso_size;
  }

  std::uint64_t size() const override { return layout_.size; }
  std::string_view format() const override { return "livecd-repack"; }
  const RepackLayout& layout() const override { return layout_; }

  Status read(std::uint64_t offset, std::span<std::byte> dst) const override {
    if (!detail::range_inside(offset, dst.size(), layout_.size)) {
      return out_of_range(
          fmt::format("livecd-repack: read of {} bytes at offset {} past the "
                      "end of the {}-byte disk",
                      dst.size(), offset, layout_.size));
    }
    const std::uint64_t end = offset + dst.size();
    std::uint64_t pos = offset;
    while (pos < end) {
      const auto chunk = dst.subspan(static_cast<std::size_t>(pos - offset));
      if (pos < iso_offset_) {
        const std::uint64_t n = std::min(end, iso_offset_) - pos;
        VDISK_RETURN_IF_ERROR(gen_.read(pos, chunk.first(static_cast<std::size_t>(n))));
        pos += n;
      } else if (pos < iso_end_) {
        const std::uint64_t n = std::min(end, iso_end_) - pos;
        VDISK_RETURN_IF_ERROR(
            iso_.read(pos - iso_offset_, chunk.first(static_cast<std::size_t>(n))));
        pos += n;
      } else {
        VDISK_RETURN_IF_ERROR(gen_.read(pos, chunk));
        pos = end;
      }
    }
    return ok_status();
  }

  Status map(std::uint64_t offset, std::uint64_t length, std::vector<Extent>& out) const override {
    if (!detail::range_inside(offset, length, layout_.size)) {
      return out_of_range(
          fmt::format("livecd-repack: map of {} bytes at offset {} past the end "
                      "of the {}-byte disk",
                      length, offset, layout_.size));
    }
    const std::uint64_t end = offset + length;
    if (offset < iso_offset_) gen_.map(offset, std::min(end, iso_offset_) - offset, out);
    if (offset < iso_end_ && end > iso_offset_) {
      const std::uint64_t from = std::max(offset, iso_offset_);
      const std::uint64_t to = std::min(end, iso_end_);
      std::vector<Extent> inner;
      VDISK_RETURN_IF_ERROR(iso_.map(from - iso_offset_, to - from, inner));
      std::uint64_t expect = from;
      for (const Extent& e : inner) {
        const Extent shifted{e.offset + iso_offset_, e.length, e.kind};
        if (shifted.offset != expect || e.length == 0 || shifted.end() > to) {
          return internal_error(
              fmt::format("livecd-repack: the ISO's map does not cover [{}, {}) in order",
                          from - iso_offset_, to - iso_offset_));
        }
        append_extent(out, shifted);
        expect = shifted.end();
      }
      if (expect != to) {
        return internal_error(fmt::format("livecd-repack: the ISO's map ends at {}, not at {}",
                                          expect - iso_offset_, to - iso_offset_));
      }
    }
    if (end > iso_end_) {
      const std::uint64_t from = std::max(offset, iso_end_);
      gen_.map(from, end - from, out);
    }
    return ok_status();
  }

  void describe(Properties& out) const override {
    out.add("iso_volume_id", layout_.iso_volume_id);
    out.add("iso_first_lba", layout_.iso_first_lba);
    out.add("esp_first_lba", layout_.esp_first_lba);
    out.add("esp_last_lba", layout_.esp_last_lba);
  }

 private:
  const BlockSource& iso_;
  PieceImage gen_;
  RepackLayout layout_;
  std::uint64_t iso_offset_ = 0;
  std::uint64_t iso_end_ = 0;
};

}  // namespace

Result<std::string> repack_iso_partuuid(const BlockSource& iso) {
  VDISK_ASSIGN_OR_RETURN(const IsoFacts facts, read_iso(iso));
  return iso_partuuid(facts);
}

Result<std::unique_ptr<RepackSource>> make_repack(const BlockSource& iso, const BootEntry& entry,
                                                  const RepackImages& images,
                                                  const RepackOptions& options) {
  VDISK_ASSIGN_OR_RETURN(const IsoFacts facts, read_iso(iso));
  VDISK_ASSIGN_OR_RETURN(Frame frame, make_frame(facts, images, options));
  VDISK_ASSIGN_OR_RETURN(std::vector<ImagePiece> esp, make_esp(frame, entry, options));
  std::vector<ImagePiece> pieces = std::move(frame.head);
  pieces.insert(pieces.end(), esp.begin(), esp.end());
  pieces.insert(pieces.end(), frame.tail.begin(), frame.tail.end());
  VDISK_ASSIGN_OR_RETURN(auto generated, PieceImage::make(frame.layout.size, std::move(pieces)));
  return std::unique_ptr<RepackSource>(
      std::make_unique<Repack>(iso, std::move(generated), std::move(frame.layout)));
}

}  // namespace vdisk::livecd
