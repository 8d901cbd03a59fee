// The streaming hybridiser (see hybrid.h, "Streaming form"): plan from a held-back head of the
// stream, then emit the ISO with the patches laid over it and the padding (and backup GPT) after.
#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "formats/iso9660/iso_records.h"
#include "formats/iso9660/livecd/hybrid.h"
#include "formats/iso9660/livecd/stream_runs.h"
#include "base/checked.h"
#include "base/endian.h"

namespace vdisk::livecd {
namespace {

using vdisk::detail::range_inside;

constexpr std::uint64_t kBlock = 2048;
constexpr std::uint64_t kPvdAt = 16 * kBlock;
constexpr std::size_t kPullChunk = 1 << 20;

// The stream's head as a RandomAccessFile of `size()` bytes: reads pull the stream into memory
// up to the furthest byte asked for, never past `bound`. Used from one thread (planning).
class Head final : public RandomAccessFile {
 public:
  Head(StreamSource& s, std::uint64_t bound) : s_(s), bound_(bound) {}

  std::uint64_t size() const override { return size_; }
  void set_size(std::uint64_t n) { size_ = n; }

  Status read_at(std::uint64_t offset, std::span<std::byte> dst) const override {
    if (!range_inside(offset, dst.size(), size_))
      return out_of_range(fmt::format("livecd stream: read of {} bytes at {} past {} bytes",
                                      dst.size(), offset, size_));
    VDISK_RETURN_IF_ERROR(fill(offset + dst.size()));
    if (!dst.empty()) std::memcpy(dst.data(), buf_.data() + offset, dst.size());
    return ok_status();
  }

  // Pulls the stream until `end` bytes are held (or it ends, or `end` passes the bound).
  Status fill(std::uint64_t end) const {
    if (end <= buf_.size()) return ok_status();
    if (end > bound_) {
      beyond_ = std::max(beyond_, end);
      return resource_exhausted(fmt::format(
          "livecd stream: byte {} lies past the {} bytes held back from the stream", end, bound_));
    }
    while (buf_.size() < end && !ended_) {
      const std::size_t old = buf_.size();
      const auto want = static_cast<std::size_t>(
          std::min<std::uint64_t>(bound_ - old, std::max<std::uint64_t>(end - old, kPullChunk)));
      buf_.resize(old + want);
      auto n = s_.read(std::span(buf_).subspan(old, want));
      if (!n.ok()) {
        buf_.resize(old);
        failure_ = n.status();
        return failure_;
      }
      buf_.resize(old + *n);
      if (*n < want) ended_ = true;
    }
    if (buf_.size() < end) {
      short_at_ = buf_.size();
      return corrupt(fmt::format("livecd stream: the stream ended at byte {}, before byte {}",
                                 buf_.size(), end));
    }
    return ok_status();
  }

  const std::string& name() const override { return name_; }

  std::vector<std::byte>& held() { return buf_; }
  bool ended() const { return ended_; }
  std::uint64_t beyond() const { return beyond_; }
  std::optional<std::uint64_t> short_at() const { return short_at_; }
  const Status& failure() const { return failure_; }
  void forget_short() { short_at_.reset(); }

 private:
  StreamSource& s_;
  std::uint64_t bound_;
  std::uint64_t size_ = 0;
  std::string name_ = "<iso stream>";
  mutable std::vector<std::byte> buf_;
  mutable bool ended_ = false;
  mutable std::uint64_t beyond_ = 0;
  mutable std::optional<std::uint64_t> short_at_;
  mutable Status failure_;
};

class Stream final : public HybridStream {
 public:
  Stream(std::unique_ptr<StreamSource> inner, std::unique_ptr<Head> head, HybridPlan plan,
         std::vector<Patch> patches, bool size_from_pvd, bool patch)
      : inner_(std::move(inner)),
        head_(std::move(head)),
        plan_(std::move(plan)),
        patches_(std::move(patches)),
        size_from_pvd_(size_from_pvd),
        patch_(patch) {}

  const HybridPlan& plan() const override { return plan_; }
  std::optional<std::uint64_t> size() const override {
    if (patch_) return plan_.disk_size;
    return inner_->size();
  }
  std::string_view format() const override {
    return "iso9660";
  }  // the input format; describe() tells the hybrid

  Result<std::size_t> read(std::span<std::byte> dst) override { return read_from_runs(*this, dst); }

  Result<StreamRun> next(std::span<std::byte> dst) override {
    if (dst.empty()) return invalid_argument("livecd stream: next() with an empty buffer");
    if (!patch_) return pass_through(dst);
    const std::uint64_t iso = plan_.iso_size;
    if (pos_ < iso) {
      const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(dst.size(), iso - pos_));
      VDISK_ASSIGN_OR_RETURN(std::size_t n, pull(dst.first(want)));
      if (n == 0)
        return corrupt(fmt::format(
            "livecd stream: the ISO stream ended at byte {}, but the hybrid layout was made for "
            "{} bytes{}",
            pos_, iso, size_from_pvd_ ? " (its primary volume descriptor's volume size)" : ""));
      overlay(dst.first(n));
      pos_ += n;
      if (pos_ == iso) VDISK_RETURN_IF_ERROR(check_ended());
      return StreamRun{StreamRun::Kind::data, n};
    }
    if (pos_ >= plan_.disk_size) return StreamRun{StreamRun::Kind::end, 0};
    // Past the ISO: patches (the backup GPT) as data, zero runs between them.
    std::uint64_t next_patch = plan_.disk_size;
    for (const Patch& p : patches_) {
      const std::uint64_t pe = p.offset + p.bytes.size();
      if (pe <= pos_) continue;
      if (p.offset <= pos_) {
        const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(dst.size(), pe - pos_));
        std::memcpy(dst.data(), p.bytes.data() + (pos_ - p.offset), n);
        pos_ += n;
        return StreamRun{StreamRun::Kind::data, n};
      }
      next_patch = std::min(next_patch, p.offset);
    }
    const std::uint64_t n = next_patch - pos_;
    pos_ += n;
    return StreamRun{StreamRun::Kind::zero, n};
  }

 private:
  // Bytes from the held-back head first, then from the inner stream.
  Result<std::size_t> pull(std::span<std::byte> dst) {
    auto& held = head_->held();
    if (pos_ < held.size()) {
      const auto n =
          static_cast<std::size_t>(std::min<std::uint64_t>(dst.size(), held.size() - pos_));
      std::memcpy(dst.data(), held.data() + pos_, n);
      if (pos_ + n == held.size()) {
        held.clear();
        held.shrink_to_fit();
        released_ = pos_ + n;
      }
      return n;
    }
    if (pos_ < released_) return internal_error("livecd stream: held-back bytes already released");
    if (head_->ended()) return std::size_t{0};
    return inner_->read(dst);
  }

  Result<StreamRun> pass_through(std::span<std::byte> dst) {
    auto& held = head_->held();
    if (pos_ < held.size()) {
      VDISK_ASSIGN_OR_RETURN(std::size_t n, pull(dst));
      pos_ += n;
      return StreamRun{StreamRun::Kind::data, n};
    }
    if (head_->ended() && pos_ >= released_) return StreamRun{StreamRun::Kind::end, 0};
    VDISK_ASSIGN_OR_RETURN(StreamRun run, inner_->next(dst));
    pos_ += run.length;
    return run;
  }

  // After the ISO's last byte: the stream must end there.
  Status check_ended() {
    if (head_->ended() && head_->held().empty() && pos_ >= released_) {
      if (released_ > plan_.iso_size)
        return corrupt(
            fmt::format("livecd stream: the ISO stream is longer than the {} bytes the "
                        "hybrid layout was made for",
                        plan_.iso_size));
      return ok_status();
    }
    if (!head_->held().empty())
      return corrupt(
          fmt::format("livecd stream: the ISO stream is longer than the {} bytes the "
                      "hybrid layout was made for",
                      plan_.iso_size));
    std::array<std::byte, 1> probe{};
    VDISK_ASSIGN_OR_RETURN(std::size_t extra, inner_->read(probe));
    if (extra != 0)
      return corrupt(fmt::format(
          "livecd stream: the ISO stream is longer than the {} bytes the hybrid layout was made "
          "for{}",
          plan_.iso_size, size_from_pvd_ ? " (its primary volume descriptor's volume size)" : ""));
    return ok_status();
  }

  void overlay(std::span<std::byte> chunk) const {
    const std::uint64_t end = pos_ + chunk.size();
    for (const Patch& p : patches_) {
      const std::uint64_t pe = p.offset + p.bytes.size();
      if (pe <= pos_ || p.offset >= end) continue;
      const std::uint64_t s = std::max(pos_, p.offset), e = std::min(end, pe);
      std::memcpy(chunk.data() + (s - pos_), p.bytes.data() + (s - p.offset),
                  static_cast<std::size_t>(e - s));
    }
  }

  std::unique_ptr<StreamSource> inner_;
  std::unique_ptr<Head> head_;
  HybridPlan plan_;
  std::vector<Patch> patches_;  // in offset order, none overlapping
  bool size_from_pvd_ = false;
  bool patch_ = false;  // a hybridize plan, not plan_only
  std::uint64_t pos_ = 0;
  std::uint64_t released_ = 0;  // bytes of the head handed out and freed
};

void refuse(HybridPlan& p, std::string why) {
  p.action = HybridAction::impossible;
  p.bios_loader = BiosLoader::none;
  p.write_gpt = false;
  p.bios_boots = p.uefi_boots = false;
  p.refusal = std::move(why);
  p.bios_reason = p.uefi_reason = p.refusal;
  p.summary = "impossible: " + p.refusal;
}

}  // namespace

Result<std::unique_ptr<HybridStream>> hybrid_stream(std::unique_ptr<StreamSource> iso,
                                                    const HybridStreamOptions& o) {
  if (!iso) return invalid_argument("livecd: hybrid_stream needs an ISO stream");
  const std::uint64_t bound = std::max<std::uint64_t>(o.max_prefix, kSystemAreaBytes + 2 * kBlock);
  auto head = std::make_unique<Head>(*iso, bound);
  Head& h = *head;
  // The size the layout is made for: the stream's own, else the PVD's volume space size.
  bool from_pvd = false;
  if (auto stated = iso->size()) {
    h.set_size(*stated);
  } else {
    h.set_size(bound);
    if (Status s = h.fill(kPvdAt + kBlock); s.ok()) {
      std::span<const std::byte> pvd(h.held().data() + kPvdAt, kBlock);
      const auto blocks = iso9660::detail::both_endian32(pvd.subspan(80, 8));
      if (std::memcmp(pvd.data() + 1, "CD001", 5) == 0 && blocks) {
        h.set_size(std::uint64_t{*blocks} * kBlock);
        from_pvd = true;
      } else {
        h.set_size(h.held().size());
      }
    } else if (!h.failure().ok()) {
      return h.failure();
    } else {
      h.set_size(h.held().size());  // shorter than the descriptors: the plan says "not an ISO"
      h.forget_short();
    }
  }
  PlanOptions po;
  po.live_layout = false;
  auto plan = plan_hybrid(h, po);
  if (!h.failure().ok()) return h.failure();
  if (!plan.ok()) {
    if (h.beyond() == 0 && !h.short_at()) return plan.status();
    plan = HybridPlan{};
    plan->iso_size = h.size();
  }
  HybridPlan& pl = *plan;
  if (h.beyond() != 0) {
    refuse(pl, fmt::format("streaming: the ISO's boot structures reach byte {}, past the first {} "
                           "bytes held back from the stream (convert from a file instead)",
                           h.beyond(), bound));
  } else if (h.short_at()) {
    refuse(pl,
           fmt::format("streaming: the ISO stream ended at byte {}, before the {} bytes {}",
                       *h.short_at(), h.size(),
                       from_pvd ? "its primary volume descriptor states" : "the stream states"));
  }
  std::vector<Patch> patches;
  const bool patch = pl.action == HybridAction::hybridize && !o.plan_only;
  if (patch) {
    Result<BootCode> code = o.load_code ? o.load_code(pl) : load_boot_code(pl);
    if (!code.ok()) return code.status();
    VDISK_ASSIGN_OR_RETURN(patches, hybrid_patches(pl, *code, o.layout));
  }
  auto out = std::make_unique<Stream>(std::move(iso), std::move(head), std::move(pl),
                                      std::move(patches), from_pvd, patch);
  return std::unique_ptr<HybridStream>(std::move(out));
}

}  // namespace vdisk::livecd
