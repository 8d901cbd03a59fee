// The GRUB repack written front to back from an ISO stream (see repack.h, "Streaming form").
#include <algorithm>
#include <array>
#include <cstring>

#include <fmt/format.h>

#include "formats/iso9660/iso_records.h"
#include "formats/iso9660/livecd/repack.h"
#include "formats/iso9660/livecd/repack_frame.h"
#include "formats/iso9660/livecd/stream_runs.h"

namespace vdisk::livecd {
namespace {

using namespace repack_detail;

constexpr std::uint64_t kBlock = 2048;
constexpr std::uint64_t kHeadBytes = 17 * kBlock;  // the system area and the PVD

// Fills `dst` from `s` until it is full or the stream ends; the bytes read.
Result<std::size_t> read_full(StreamSource& s, std::span<std::byte> dst) {
  std::size_t done = 0;
  while (done < dst.size()) {
    VDISK_ASSIGN_OR_RETURN(std::size_t n, s.read(dst.subspan(done)));
    if (n == 0) break;
    done += n;
  }
  return done;
}

class Stream final : public RepackStream {
 public:
  Stream(std::unique_ptr<StreamSource> inner, std::vector<std::byte> head, bool ended,
         bool size_from_pvd, Frame frame, PieceImage front, RepackEntryChooser choose,
         RepackOptions options, const CaptureLimits& limits)
      : inner_(std::move(inner)),
        head_(std::move(head)),
        inner_ended_(ended),
        size_from_pvd_(size_from_pvd),
        frame_(std::move(frame)),
        front_(std::move(front)),
        choose_(std::move(choose)),
        options_(std::move(options)),
        capture_(frame_.layout.iso_size, limits) {
    iso_begin_ = frame_.layout.iso_first_lba * kRepackLba;
    iso_end_ = iso_begin_ + frame_.layout.iso_size;
  }

  std::optional<std::uint64_t> size() const override { return frame_.layout.size; }
  std::string_view format() const override { return "iso9660"; }
  const RepackLayout& layout() const override { return frame_.layout; }

  Result<std::size_t> read(std::span<std::byte> dst) override { return read_from_runs(*this, dst); }

  Result<StreamRun> next(std::span<std::byte> dst) override {
    if (dst.empty()) return invalid_argument("livecd-repack stream: next() with an empty buffer");
    if (pos_ < iso_begin_) return serve(front_, iso_begin_, dst);
    if (pos_ < iso_end_) return iso_bytes(dst);
    if (pos_ >= frame_.layout.size) return StreamRun{StreamRun::Kind::end, 0};
    return serve(back_, frame_.layout.size, dst);
  }

 private:
  // The next run of a generated image, up to `limit`.
  Result<StreamRun> serve(const PieceImage& img, std::uint64_t limit, std::span<std::byte> dst) {
    const std::uint64_t n = std::min<std::uint64_t>(dst.size(), limit - pos_);
    std::vector<Extent> runs;
    img.map(pos_, n, runs);
    if (runs.empty() || runs.front().offset != pos_ || runs.front().length == 0)
      return internal_error("livecd-repack stream: the generated sectors do not map in order");
    const Extent e = runs.front();
    pos_ += e.length;
    if (e.reads_as_zero()) return StreamRun{StreamRun::Kind::zero, e.length};
    VDISK_RETURN_IF_ERROR(img.read(e.offset, dst.first(static_cast<std::size_t>(e.length))));
    return StreamRun{StreamRun::Kind::data, e.length};
  }

  Result<StreamRun> iso_bytes(std::span<std::byte> dst) {
    const std::uint64_t at = pos_ - iso_begin_;  // offset inside the ISO
    const auto want =
        static_cast<std::size_t>(std::min<std::uint64_t>(dst.size(), iso_end_ - pos_));
    std::size_t n = 0;
    if (at < head_.size()) {
      n = static_cast<std::size_t>(std::min<std::uint64_t>(want, head_.size() - at));
      std::memcpy(dst.data(), head_.data() + at, n);
    } else if (!inner_ended_) {
      VDISK_ASSIGN_OR_RETURN(n, inner_->read(dst.first(want)));
      if (n == 0) inner_ended_ = true;
    }
    if (n == 0)
      return corrupt(fmt::format(
          "livecd-repack stream: the ISO stream ended at byte {}, but the disk was laid out for "
          "{} bytes{}",
          at, frame_.layout.iso_size,
          size_from_pvd_ ? " (its primary volume descriptor's volume size)" : ""));
    VDISK_RETURN_IF_ERROR(capture_.feed(dst.first(n)));
    pos_ += n;
    if (pos_ == iso_end_) {
      head_.clear();
      head_.shrink_to_fit();
      VDISK_RETURN_IF_ERROR(check_ended());
      VDISK_RETURN_IF_ERROR(finish_iso());
    }
    return StreamRun{StreamRun::Kind::data, n};
  }

  // After the ISO's last byte: the stream must end there.
  Status check_ended() {
    if (inner_ended_) return ok_status();
    std::array<std::byte, 1> probe{};
    VDISK_ASSIGN_OR_RETURN(std::size_t extra, inner_->read(probe));
    if (extra != 0)
      return corrupt(fmt::format(
          "livecd-repack stream: the ISO stream is longer than the {} bytes the disk was laid "
          "out for{}",
          frame_.layout.iso_size,
          size_from_pvd_ ? " (its primary volume descriptor's volume size)" : ""));
    return ok_status();
  }

  // The ISO has passed: choose the entry from what was kept, build the ESP and the tail.
  Status finish_iso() {
    // A read the capture could not serve means the choice may not be the one the whole ISO
    // gives: refuse rather than guess (iso_capture.h).
    auto volume = iso9660::Volume::open(capture_.view());
    if (Status r = capture_.refusal(); !r.ok()) return r;
    if (!volume.ok()) return volume.status();
    auto entry = choose_(**volume, frame_.layout);
    if (Status r = capture_.refusal(); !r.ok()) return r;
    if (!entry.ok()) return entry.status();
    VDISK_ASSIGN_OR_RETURN(std::vector<ImagePiece> pieces, make_esp(frame_, *entry, options_));
    pieces.insert(pieces.end(), frame_.tail.begin(), frame_.tail.end());
    VDISK_ASSIGN_OR_RETURN(back_, PieceImage::make(frame_.layout.size, std::move(pieces)));
    return ok_status();
  }

  std::unique_ptr<StreamSource> inner_;
  std::vector<std::byte> head_;  // the ISO's first bytes, read to lay the disk out
  bool inner_ended_ = false;
  bool size_from_pvd_ = false;
  Frame frame_;
  PieceImage front_;  // [0, ISO): MBR, GPT, core image
  PieceImage back_;   // after the ISO: ESP, backup GPT (built at the ISO's end)
  RepackEntryChooser choose_;
  RepackOptions options_;
  IsoCapture capture_;
  std::uint64_t pos_ = 0;
  std::uint64_t iso_begin_ = 0, iso_end_ = 0;
};

}  // namespace

Result<std::unique_ptr<RepackStream>> repack_stream(std::unique_ptr<StreamSource> iso,
                                                    const RepackImages& images,
                                                    RepackEntryChooser choose,
                                                    const RepackOptions& options,
                                                    const CaptureLimits& limits) {
  if (!iso || !choose)
    return invalid_argument("livecd-repack: repack_stream needs an ISO stream and a chooser");
  std::vector<std::byte> head(kHeadBytes);
  VDISK_ASSIGN_OR_RETURN(const std::size_t got, read_full(*iso, head));
  const bool ended = got < head.size();
  head.resize(got);
  const auto pvd =
      std::span<const std::byte>(head).subspan(std::min<std::size_t>(got, 16 * kBlock));
  // The size the disk is laid out for: the stream's own, else the PVD's volume space.
  std::uint64_t size = 0;
  bool from_pvd = false;
  if (auto stated = iso->size()) {
    size = *stated;
  } else if (pvd.size() >= kBlock && std::memcmp(pvd.data() + 1, "CD001", 5) == 0) {
    const auto blocks = iso9660::detail::both_endian32(pvd.subspan(80, 8));
    size = blocks ? std::uint64_t{*blocks} * kBlock : 0;
    from_pvd = true;
  }
  if (ended) size = got;  // the whole stream is in hand
  VDISK_ASSIGN_OR_RETURN(const IsoFacts facts, iso_facts(pvd, size));
  VDISK_ASSIGN_OR_RETURN(Frame frame, make_frame(facts, images, options));
  const std::uint64_t iso_begin = frame.layout.iso_first_lba * kRepackLba;
  VDISK_ASSIGN_OR_RETURN(PieceImage front, PieceImage::make(iso_begin, frame.head));
  return std::unique_ptr<RepackStream>(
      std::make_unique<Stream>(std::move(iso), std::move(head), ended, from_pvd, std::move(frame),
                               std::move(front), std::move(choose), options, limits));
}

}  // namespace vdisk::livecd
