// monolithicSparse writer (layout and contract: vmdk_writer.h; the technote's hosted sparse
// extent order, with qemu-img's placement of the tables).
//
// Everything but the grain tables is known up front: header, descriptor, the redundant GD and
// the GD (every entry points at its pre-allocated table) are written at once, the tables' space
// as zero runs (holes), padding to overHead. Grains follow in LBA order, whole grains (the last
// one zero-padded past the disk's end), all-zero grains left out. When the disk moves past a
// table's range, that table (both copies) is written in place with ByteSink::write_at(), so only
// one table is held in memory. Whole aligned grains are written straight from the caller's
// buffer; partial ones are assembled in one 64 KiB buffer.
#include <algorithm>
#include <array>
#include <cstring>
#include <vector>

#include <fmt/format.h>

#include "base/checked.h"
#include "base/endian.h"
#include "base/zero.h"
#include "formats/vmdk/vmdk_format.h"
#include "formats/vmdk/vmdk_writer.h"

namespace vdisk::vmdk {
namespace writer {
namespace {

constexpr std::uint64_t kRgdSector = 1 + kDescriptorSectors;  // 21, as qemu writes it

struct SparseLayout {
  Tables t;
  std::uint64_t rgd = kRgdSector, rgts = 0, gd = 0, gts = 0, overhead = 0;  // sectors
};

SparseLayout layout_for(std::uint64_t sectors) {
  SparseLayout l;
  l.t = tables_for(sectors);
  l.rgts = l.rgd + l.t.gd_sectors;
  l.gd = l.rgts + l.t.gts * kGtSectors;
  l.gts = l.gd + l.t.gd_sectors;
  l.overhead = *detail::round_up(l.gts + l.t.gts * kGtSectors, kGrainSectors);
  return l;
}

class SparseWriter final : public OrderedWriter {
 public:
  SparseWriter(std::unique_ptr<ByteSink> out, std::uint64_t disk_size, const WriterOptions& o)
      : OrderedWriter(disk_size),
        out_(std::move(out)),
        options_(o),
        layout_(layout_for(disk_size / kSector)),
        grain_(kGrainBytes) {}

  Status write(std::uint64_t offset, std::span<const std::byte> data) override {
    VDISK_RETURN_IF_ERROR(check_call(offset, data.size()));
    while (!data.empty()) {
      const std::size_t in_grain = static_cast<std::size_t>(pos_ % kGrainBytes);
      const std::size_t n = std::min<std::size_t>(data.size(), kGrainBytes - in_grain);
      if (in_grain == 0 && n == kGrainBytes) {
        VDISK_RETURN_IF_ERROR(store_grain(pos_ / kGrainBytes, data.first(n)));
      } else {
        if (!touched_) std::memset(grain_.data(), 0, in_grain);
        touched_ = true;
        std::memcpy(grain_.data() + in_grain, data.data(), n);
        VDISK_RETURN_IF_ERROR(end_of_grain(n));
      }
      pos_ += n;
      data = data.subspan(n);
    }
    return {};
  }

  Status write_zeroes(std::uint64_t offset, std::uint64_t length) override {
    VDISK_RETURN_IF_ERROR(check_call(offset, length));
    while (length > 0) {
      const std::size_t in_grain = static_cast<std::size_t>(pos_ % kGrainBytes);
      const auto n =
          static_cast<std::size_t>(std::min<std::uint64_t>(length, kGrainBytes - in_grain));
      if (in_grain == 0 && length >= kGrainBytes) {
        // Whole grains of zeros: not stored; jump to the last whole one.
        const std::uint64_t whole = length / kGrainBytes * kGrainBytes;
        VDISK_RETURN_IF_ERROR(advance_table((pos_ + whole - 1) / kGrainBytes));
        pos_ += whole;
        length -= whole;
        continue;
      }
      if (touched_) std::memset(grain_.data() + in_grain, 0, n);
      VDISK_RETURN_IF_ERROR(end_of_grain(n));
      pos_ += n;
      length -= n;
    }
    return {};
  }

  Status finish() override {
    VDISK_RETURN_IF_ERROR(check_complete());
    VDISK_RETURN_IF_ERROR(flush_table());
    finished_ = true;
    return fail_on(out_->finish());
  }

  // Header, descriptor, both GDs, the tables' space and padding up to overHead.
  Status write_front() {
    std::vector<std::byte> front((1 + kDescriptorSectors) * kSector);
    SparseHeader h;
    h.version = 1;
    h.flags = kFlagNewlineTest | kFlagRedundantGrainTable;
    h.capacity = disk_size_ / kSector;
    h.grain_size = kGrainSectors;
    h.descriptor_offset = 1;
    h.descriptor_size = kDescriptorSectors;
    h.num_gtes_per_gt = kGtes;
    h.rgd_offset = layout_.rgd;
    h.gd_offset = layout_.gd;
    h.overhead = layout_.overhead;
    encode_sparse_header(h, front);
    const std::string text = descriptor_text(disk_size_ / kSector, options_);
    if (text.size() >= kDescriptorSectors * kSector)
      return internal_error("vmdk: descriptor does not fit its 20 sectors");
    std::memcpy(front.data() + kSector, text.data(), text.size());
    VDISK_RETURN_IF_ERROR(fail_on(out_->write(front)));
    VDISK_RETURN_IF_ERROR(write_gd(layout_.rgts));
    VDISK_RETURN_IF_ERROR(fail_on(out_->write_zeroes(layout_.t.gts * kGtSectors * kSector)));
    VDISK_RETURN_IF_ERROR(write_gd(layout_.gts));
    return fail_on(out_->write_zeroes((layout_.overhead - layout_.gts) * kSector));
  }

 private:
  // A GD whose entry i points at table i of the copy starting at `tables` (in pieces).
  Status write_gd(std::uint64_t tables) {
    std::vector<std::byte> piece;
    const std::uint64_t entries = layout_.t.gd_sectors * (kSector / 4);
    constexpr std::uint64_t kPiece = 16384;
    for (std::uint64_t first = 0; first < entries; first += kPiece) {
      const std::uint64_t n = std::min(kPiece, entries - first);
      piece.assign(n * 4, std::byte{0});
      for (std::uint64_t i = first; i < first + n && i < layout_.t.gts; ++i)
        detail::store_le32(std::span(piece).subspan((i - first) * 4),
                           static_cast<std::uint32_t>(tables + i * kGtSectors));
      VDISK_RETURN_IF_ERROR(fail_on(out_->write(piece)));
    }
    return {};
  }

  // After `n` bytes went into grain_ at pos_: at the grain's end (or the disk's), store it.
  Status end_of_grain(std::size_t n) {
    const std::uint64_t end = pos_ + n;
    if (end % kGrainBytes != 0 && end != disk_size_) return {};
    const bool had = touched_;
    touched_ = false;
    if (!had) return advance_table(pos_ / kGrainBytes);
    const std::size_t used = static_cast<std::size_t>((end - 1) % kGrainBytes + 1);
    std::memset(grain_.data() + used, 0, kGrainBytes - used);  // past the disk's end
    return store_grain(pos_ / kGrainBytes, grain_);
  }

  // Writes grain `g` (whole) unless it is all zero, and records it in its table.
  Status store_grain(std::uint64_t g, std::span<const std::byte> data) {
    VDISK_RETURN_IF_ERROR(advance_table(g));
    if (detail::is_zero(data)) return {};
    const std::uint64_t sector = out_->position() / kSector;
    if (sector + kGrainSectors > (1ull << 32))
      return fail_on(resource_exhausted(fmt::format(
          "vmdk: monolithicSparse file reaches sector {}, past the 2^32 sectors a grain table "
          "entry addresses",
          sector)));
    VDISK_RETURN_IF_ERROR(fail_on(out_->write(data)));
    gt_[g % kGtes] = static_cast<std::uint32_t>(sector);
    gt_used_ = true;
    return {};
  }

  // Grain `g` is next: flush the current table if `g` lies in a later one.
  Status advance_table(std::uint64_t g) {
    if (g / kGtes != gt_index_) VDISK_RETURN_IF_ERROR(flush_table());
    gt_index_ = g / kGtes;
    return {};
  }

  // Writes the current table into both copies (when it has entries).
  Status flush_table() {
    if (!gt_used_) return {};
    std::array<std::byte, kGtSectors * kSector> buf{};
    for (std::size_t e = 0; e < kGtes; ++e)
      detail::store_le32(std::span(buf).subspan(4 * e), gt_[e]);
    for (std::uint64_t copy : {layout_.rgts, layout_.gts})
      VDISK_RETURN_IF_ERROR(
          fail_on(out_->write_at((copy + gt_index_ * kGtSectors) * kSector, buf)));
    gt_.fill(0);
    gt_used_ = false;
    return {};
  }

  std::unique_ptr<ByteSink> out_;
  WriterOptions options_;
  SparseLayout layout_;
  std::vector<std::byte> grain_;  // the grain being assembled
  bool touched_ = false;          // grain_ holds data of the current grain
  std::array<std::uint32_t, kGtes> gt_{};
  std::uint64_t gt_index_ = 0;
  bool gt_used_ = false;
};

}  // namespace

std::uint64_t sparse_overhead(std::uint64_t sectors) noexcept {
  return layout_for(sectors).overhead;
}

Result<std::unique_ptr<BlockSink>> make_sparse_writer(std::unique_ptr<ByteSink> out,
                                                      std::uint64_t disk_size,
                                                      const WriterOptions& options) {
  if (!out->can_write_at())
    return unsupported(
        "vmdk: monolithicSparse needs a seekable output file; use the default streamOptimized "
        "for a pipe");
  auto w = std::make_unique<SparseWriter>(std::move(out), disk_size, options);
  VDISK_RETURN_IF_ERROR(w->write_front());
  return std::unique_ptr<BlockSink>(std::move(w));
}

}  // namespace writer
}  // namespace vdisk::vmdk
