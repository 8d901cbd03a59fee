// Padding for streams (see gpt_stream.h).
//
// Positions: `taken_` counts the inner stream's bytes this view has consumed; `pos_` is the
// offset of the next byte it emits. They differ only while held bytes (the head, the old backup)
// wait in `pend_`, which always ends at `taken_`.
#include "gpt/gpt_stream.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include <fmt/format.h>

#include "gpt/gpt_codec.h"
#include "base/checked.h"

namespace vdisk::gpt {
namespace {

constexpr std::uint64_t kProbe = 8192;  // LBA 1 with 512- or 4096-byte LBAs
constexpr std::uint64_t kNoLimit = std::numeric_limits<std::uint64_t>::max();

// The held head as a source of the full size; anything past it is not available.
class HeadSource final : public BlockSource {
 public:
  HeadSource(const std::vector<std::byte>& head, std::uint64_t size) : head_(head), size_(size) {}
  std::uint64_t size() const override { return size_; }
  Status read(std::uint64_t offset, std::span<std::byte> dst) const override {
    if (!detail::range_inside(offset, dst.size(), head_.size()))
      return unsupported(
          fmt::format("gpt: bytes [{}, +{}) of a streamed input are not held", offset, dst.size()));
    std::memcpy(dst.data(), head_.data() + offset, dst.size());
    return {};
  }
  std::string_view format() const override { return "stream"; }

 private:
  const std::vector<std::byte>& head_;
  std::uint64_t size_;
};

class Padded final : public PaddedStream {
 public:
  Padded(StreamSource& inner, PadFn pad, bool relocate, std::optional<std::uint64_t> out_size)
      : inner_(inner), pad_(std::move(pad)), in_size_(inner.size()), out_size_(out_size) {
    relocate_ = relocate && (!in_size_ || *out_size_ != *in_size_);
    if (!relocate_ && in_size_ && *out_size_ == *in_size_)
      a_.outcome = Analysis::Outcome::unchanged;
  }

  std::optional<std::uint64_t> size() const override { return out_size_; }
  std::string_view format() const override { return inner_.format(); }
  const Analysis& analysis() const override { return a_; }
  std::uint64_t source_bytes() const override {
    return in_size_ && (used_placed_ || in_ended_) ? *in_size_ : taken_;
  }
  PlacedStream* placed() override {
    PlacedStream* p = !relocate_ && in_size_ ? inner_.placed() : nullptr;
    if (p) used_placed_ = true;
    return p;
  }

  Result<StreamRun> next(std::span<std::byte> dst) override {
    if (dst.empty()) return invalid_argument("stream: next() needs a buffer");
    if (!started_) {
      started_ = true;
      if (relocate_) VDISK_RETURN_IF_ERROR(hold_head());
    }
    for (;;) {
      if (pend_at_ < pend_.size()) return emit_pending(dst);
      if (holding_ && taken_ == hold_begin_) {
        VDISK_RETURN_IF_ERROR(hold_old_backup());
        continue;
      }
      if (!in_ended_) {
        VDISK_ASSIGN_OR_RETURN(auto r, pass(dst));
        if (r.kind != StreamRun::Kind::end) return r;
        VDISK_RETURN_IF_ERROR(end_of_source());
      }
      return emit_padding(dst);
    }
  }

  Result<std::size_t> read(std::span<std::byte> dst) override {
    std::size_t filled = 0;
    while (filled < dst.size()) {
      cap_ = dst.size() - filled;
      auto r = next(dst.subspan(filled));
      cap_ = kNoLimit;
      if (!r.ok()) return r.status();
      if (r->kind == StreamRun::Kind::end) break;
      if (r->kind == StreamRun::Kind::zero)
        std::memset(dst.data() + filled, 0, static_cast<std::size_t>(r->length));
      filled += static_cast<std::size_t>(r->length);
    }
    return filled;
  }

 private:
  // ---- the inner stream ----

  // The next run of the inner stream, at most `limit` bytes (and dst.size() for data). A longer
  // zero run is split: the rest waits in carry_zero_.
  Result<StreamRun> take(std::span<std::byte> dst, std::uint64_t limit) {
    limit = std::min(limit, cap_);
    if (carry_zero_ > 0) {
      const std::uint64_t n = std::min(carry_zero_, limit);
      carry_zero_ -= n;
      taken_ += n;
      return StreamRun{StreamRun::Kind::zero, n};
    }
    if (in_ended_) return StreamRun{};
    if (limit < dst.size()) dst = dst.first(static_cast<std::size_t>(limit));
    VDISK_ASSIGN_OR_RETURN(auto r, inner_.next(dst));
    if (r.kind == StreamRun::Kind::end) {
      in_ended_ = true;
      return r;
    }
    if (r.kind == StreamRun::Kind::zero && r.length > limit) {
      carry_zero_ = r.length - limit;
      r.length = limit;
    }
    taken_ += r.length;
    return r;
  }

  // Appends the inner stream's bytes up to `until` (or its end) to `buf`.
  Status collect(std::vector<std::byte>& buf, std::uint64_t until) {
    std::vector<std::byte> tmp(64 * 1024);
    while (taken_ < until) {
      VDISK_ASSIGN_OR_RETURN(auto r, take(tmp, until - taken_));
      if (r.kind == StreamRun::Kind::end) break;
      const auto n = static_cast<std::size_t>(r.length);
      if (r.kind == StreamRun::Kind::data)
        buf.insert(buf.end(), tmp.begin(), tmp.begin() + static_cast<std::ptrdiff_t>(n));
      else
        buf.resize(buf.size() + n, std::byte{0});
    }
    return {};
  }

  // Inner bytes after the held parts, with the patches applied.
  Result<StreamRun> pass(std::span<std::byte> dst) {
    std::uint64_t limit = holding_ ? hold_begin_ - taken_ : kNoLimit;
    const Patch* p = next_data_patch(pos_);
    if (p && p->offset <= pos_) {
      // Inside a patch with new bytes: whatever the source has there is replaced.
      limit = std::min<std::uint64_t>({limit, p->end() - pos_, dst.size()});
      VDISK_ASSIGN_OR_RETURN(auto r, take(dst, limit));
      if (r.kind == StreamRun::Kind::end) return r;
      if (r.kind == StreamRun::Kind::zero)
        std::memset(dst.data(), 0, static_cast<std::size_t>(r.length));
      return emit_data(dst.first(static_cast<std::size_t>(r.length)));
    }
    if (p) limit = std::min(limit, p->offset - pos_);
    VDISK_ASSIGN_OR_RETURN(auto r, take(dst, limit));
    if (r.kind == StreamRun::Kind::data)
      return emit_data(dst.first(static_cast<std::size_t>(r.length)));
    if (r.kind == StreamRun::Kind::zero) pos_ += r.length;  // zero patches change nothing here
    return r;
  }

  Status end_of_source() {
    if (in_size_ && taken_ != *in_size_)
      return internal_error(
          fmt::format("stream: source ended at {} of its stated {} bytes", taken_, *in_size_));
    if (!out_size_) {
      VDISK_ASSIGN_OR_RETURN(const std::uint64_t s, pad_(taken_));
      out_size_ = s;
    }
    return {};
  }

  // ---- output ----

  Result<StreamRun> emit_data(std::span<std::byte> bytes) {
    overlay(pos_, bytes);
    pos_ += bytes.size();
    return StreamRun{StreamRun::Kind::data, bytes.size()};
  }

  Result<StreamRun> emit_pending(std::span<std::byte> dst) {
    const auto n = static_cast<std::size_t>(
        std::min<std::uint64_t>({dst.size(), pend_.size() - pend_at_, cap_}));
    std::memcpy(dst.data(), pend_.data() + pend_at_, n);
    pend_at_ += n;
    if (pend_at_ == pend_.size()) {
      pend_.clear();
      pend_.shrink_to_fit();
      pend_at_ = 0;
    }
    return emit_data(dst.first(n));
  }

  // The padding after the source: zeros, with the relocated backup's patches.
  Result<StreamRun> emit_padding(std::span<std::byte> dst) {
    if (pos_ >= *out_size_) return StreamRun{};
    std::uint64_t limit = std::min(*out_size_ - pos_, cap_);
    const Patch* p = next_data_patch(pos_);
    if (p && p->offset <= pos_) {
      const auto n =
          static_cast<std::size_t>(std::min<std::uint64_t>({limit, p->end() - pos_, dst.size()}));
      std::memset(dst.data(), 0, n);
      return emit_data(dst.first(n));
    }
    if (p) limit = std::min(limit, p->offset - pos_);
    pos_ += limit;
    return StreamRun{StreamRun::Kind::zero, limit};
  }

  // The first patch with new bytes that ends after `at`.
  const Patch* next_data_patch(std::uint64_t at) const {
    const auto& ps = a_.relocation.patches;
    auto it = std::upper_bound(ps.begin(), ps.end(), at,
                               [](std::uint64_t o, const Patch& q) { return o < q.end(); });
    for (; it != ps.end(); ++it)
      if (!it->bytes.empty()) return &*it;
    return nullptr;
  }

  // Applies the patches to bytes [offset, offset + b.size()) of the padded disk.
  void overlay(std::uint64_t offset, std::span<std::byte> b) const {
    const auto& ps = a_.relocation.patches;
    const std::uint64_t end = offset + b.size();
    auto it = std::upper_bound(ps.begin(), ps.end(), offset,
                               [](std::uint64_t o, const Patch& q) { return o < q.end(); });
    for (; it != ps.end() && it->offset < end; ++it) {
      const std::uint64_t s = std::max(offset, it->offset);
      const std::uint64_t e = std::min(end, it->end());
      std::byte* to = b.data() + (s - offset);
      if (it->bytes.empty())
        std::memset(to, 0, static_cast<std::size_t>(e - s));
      else
        std::memcpy(to, it->bytes.data() + (s - it->offset), static_cast<std::size_t>(e - s));
    }
  }

  // ---- the relocation plan ----

  // Holds the head until the primary GPT is in and plans from it; the head then waits in pend_.
  Status hold_head() {
    std::uint64_t need = std::min(kProbe, in_size_.value_or(kProbe));
    VDISK_RETURN_IF_ERROR(collect(head_, need));
    if (!in_size_) {
      const bool gpt = (head_.size() >= 1024 && has_signature(std::span(head_).subspan(512))) ||
                       (head_.size() >= 8192 && has_signature(std::span(head_).subspan(4096)));
      if (gpt) {
        a_.outcome = Analysis::Outcome::stale;
        a_.message =
            "gpt: the disk has a GPT, but a stream without a stated size (raw stdin) "
            "gives the new end only after the data, so the backup GPT is NOT moved to "
            "the new end (convert from a file, or run sgdisk -e on the result)";
      }
      return release_head();
    }
    if (head_.size() == need) {
      // LBA 1 is at hand: how far does the primary array reach?
      for (std::uint64_t lba : {std::uint64_t{512}, std::uint64_t{4096}}) {
        if (head_.size() < 2 * lba || !has_signature(std::span(head_).subspan(lba, lba))) continue;
        auto h = decode_header(std::span(head_).subspan(lba, lba), 1, lba, *in_size_ / lba);
        if (!h.ok()) break;  // plan_relocation reports it
        const std::uint64_t end = h->entries_lba * lba + h->array_bytes();
        if (end > kMaxHead) {
          a_.outcome = Analysis::Outcome::stale;
          a_.message = fmt::format(
              "gpt: the primary entry array ends at byte {}, past the first {} bytes a streamed "
              "input is held back; the backup GPT is NOT moved to the new end (convert from a "
              "file, or run sgdisk -e on the result)",
              end, kMaxHead);
          return release_head();
        }
        if (end > need && end <= *in_size_) VDISK_RETURN_IF_ERROR(collect(head_, end));
        break;
      }
    }
    HeadSource view(head_, *in_size_);
    auto a = plan_relocation(view, *out_size_, false);
    if (!a.ok() && a.status().code() != Errc::unsupported) return a.status();
    if (!a.ok()) {
      a_.outcome = Analysis::Outcome::stale;
      a_.message =
          fmt::format("{}; the backup GPT is NOT moved to the new end", a.status().message());
    } else {
      a_ = std::move(*a);
    }
    if (a_.outcome == Analysis::Outcome::relocated) {
      const Relocation& r = a_.relocation;
      const Header& h = r.primary;
      const std::uint64_t sectors = h.array_sectors(r.lba_size);
      hold_end_ = (h.alternate_lba + 1) * r.lba_size;
      hold_begin_ = h.alternate_lba >= sectors ? (h.alternate_lba - sectors) * r.lba_size : 0;
      hold_begin_ = std::max<std::uint64_t>(hold_begin_, head_.size());
      holding_ = hold_end_ <= *in_size_ && hold_begin_ < hold_end_;
      if (!holding_) VDISK_RETURN_IF_ERROR(finish_backup());
    }
    return release_head();
  }

  // The head waits in pend_; head_ keeps a copy while the old backup is still to be checked
  // (a tiny disk's backup may overlap the head).
  Status release_head() {
    pend_ = head_;
    pend_at_ = 0;
    if (!holding_) std::vector<std::byte>().swap(head_);
    return {};
  }

  // Holds the old backup's sectors, checks the old backup and plans its zeroing.
  Status hold_old_backup() {
    VDISK_RETURN_IF_ERROR(collect(hold_, hold_end_));
    holding_ = false;
    VDISK_RETURN_IF_ERROR(finish_backup());
    pend_ = std::move(hold_);
    pend_at_ = 0;
    std::vector<std::byte>().swap(head_);
    return {};
  }

  Status finish_backup() {
    const ReadFn read = [this](std::uint64_t offset,
                               std::uint64_t length) -> Result<std::vector<std::byte>> {
      if (detail::range_inside(offset, length, head_.size()))
        return std::vector<std::byte>(head_.begin() + static_cast<std::ptrdiff_t>(offset),
                                      head_.begin() + static_cast<std::ptrdiff_t>(offset + length));
      if (offset >= hold_begin_ && length <= hold_.size() &&
          offset - hold_begin_ <= hold_.size() - length) {
        const auto at = static_cast<std::ptrdiff_t>(offset - hold_begin_);
        return std::vector<std::byte>(hold_.begin() + at,
                                      hold_.begin() + at + static_cast<std::ptrdiff_t>(length));
      }
      return unsupported(
          fmt::format("bytes [{}, +{}) of the streamed input were not held back", offset, length));
    };
    auto st = finish_relocation(a_, read);
    if (!st.ok() && st.code() != Errc::unsupported) return st;
    if (!st.ok())
      a_.message += fmt::format(" (the old backup header was not held back: {})", st.message());
    a_.relocation.old_backup_pending = false;
    return {};
  }

  StreamSource& inner_;
  PadFn pad_;
  std::optional<std::uint64_t> in_size_;
  std::optional<std::uint64_t> out_size_;
  bool relocate_ = false;
  bool started_ = false;
  bool in_ended_ = false;
  bool used_placed_ = false;
  std::uint64_t taken_ = 0;
  std::uint64_t pos_ = 0;
  std::uint64_t carry_zero_ = 0;
  std::uint64_t cap_ = kNoLimit;  // read(): no run longer than the caller's buffer
  std::vector<std::byte> head_;
  std::vector<std::byte> pend_;
  std::size_t pend_at_ = 0;
  Analysis a_;
  bool holding_ = false;
  std::uint64_t hold_begin_ = 0, hold_end_ = 0;
  std::vector<std::byte> hold_;
};

}  // namespace

Result<std::unique_ptr<PaddedStream>> padded_stream(StreamSource& inner, PadFn pad, bool relocate) {
  std::optional<std::uint64_t> out_size;
  if (auto s = inner.size()) {
    VDISK_ASSIGN_OR_RETURN(const std::uint64_t padded, pad(*s));
    if (padded < *s)
      return invalid_argument(
          fmt::format("stream: padded size {} is below the source size {}", padded, *s));
    out_size = padded;
  }
  return std::unique_ptr<PaddedStream>(
      std::make_unique<Padded>(inner, std::move(pad), relocate, out_size));
}

}  // namespace vdisk::gpt
