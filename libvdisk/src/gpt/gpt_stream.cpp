// GPT-aware padding for streams (see gpt_stream.h).
#include "gpt/gpt_stream.h"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "gpt/gpt_codec.h"
#include "util/checked.h"

namespace vdisk::gpt {
namespace {

constexpr std::uint64_t kProbe = 8192;  // LBA 1 with 512- or 4096-byte LBAs

// The buffered head as a source of the full size; anything past it is not available.
class HeadSource final : public BlockSource {
 public:
  HeadSource(const std::vector<std::byte>& head, std::uint64_t size) : head_(head), size_(size) {}
  std::uint64_t size() const override { return size_; }
  Status read(std::uint64_t offset, std::span<std::byte> dst) const override {
    if (!detail::range_inside(offset, dst.size(), head_.size()))
      return unsupported(fmt::format("gpt: bytes [{}, +{}) of a streamed input are not held",
                                     offset, dst.size()));
    std::memcpy(dst.data(), head_.data() + offset, dst.size());
    return {};
  }
  std::string_view format() const override { return "stream"; }

 private:
  const std::vector<std::byte>& head_;
  std::uint64_t size_;
};

class StreamSink final : public GptStreamSink {
 public:
  StreamSink(std::unique_ptr<BlockSink> inner, std::optional<std::uint64_t> size,
             std::uint64_t new_size, BlockSink* tap)
      : inner_(std::move(inner)), size_(size), new_size_(new_size), tap_(tap) {
    need_ = std::min(kProbe, size_.value_or(kProbe));
  }

  Status write(std::uint64_t offset, std::span<const std::byte> data) override {
    return feed(offset, data.size(), data.data());
  }
  Status write_zeroes(std::uint64_t offset, std::uint64_t length) override {
    return feed(offset, length, nullptr);
  }

  Status finish() override {
    final_ = true;
    if (!planned_) VDISK_RETURN_IF_ERROR(plan());
    if (holding_) VDISK_RETURN_IF_ERROR(release_hold());
    if (a_.outcome == Analysis::Outcome::relocated && size_ && next_ < new_size_) {
      // The padding, carrying the relocated backup array and header at its end.
      const std::uint64_t from = std::max(next_, *size_);
      VDISK_RETURN_IF_ERROR(out(from, new_size_ - from, nullptr));
    }
    return inner_->finish();
  }

  const Analysis& analysis() const override { return a_; }

 private:
  Status feed(std::uint64_t offset, std::uint64_t length, const std::byte* data) {
    if (offset != next_)
      return internal_error(fmt::format("gpt: stream write at {} but expected {}", offset, next_));
    next_ = offset + length;
    while (!planned_ && length > 0) {
      const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(length, need_ - head_.size()));
      if (data) {
        head_.insert(head_.end(), data, data + n);
        data += n;
      } else {
        head_.resize(head_.size() + n, std::byte{0});
      }
      offset += n;
      length -= n;
      if (head_.size() == need_) VDISK_RETURN_IF_ERROR(plan());
    }
    return length > 0 ? pass(offset, length, data) : Status();
  }

  // Called with need_ bytes of head: either asks for more (the primary array lies further) or
  // plans, then releases the head.
  Status plan() {
    if (!size_) {
      planned_ = true;
      const bool gpt = (head_.size() >= 1024 && has_signature(std::span(head_).subspan(512))) ||
                       (head_.size() >= 8192 && has_signature(std::span(head_).subspan(4096)));
      if (gpt) {
        a_.outcome = Analysis::Outcome::stale;
        a_.message = "gpt: the disk has a GPT, but a stream without a stated size (raw stdin) "
                     "gives the new end only after the data, so the backup GPT is NOT moved to "
                     "the new end (convert from a file, or run sgdisk -e on the result)";
      }
      return pass(0, head_.size(), head_.data());
    }
    if (!final_ && (head_.size() == kProbe || head_.size() == *size_)) {
      // LBA 1 is at hand: how far does the primary array reach?
      for (std::uint64_t lba : {std::uint64_t{512}, std::uint64_t{4096}}) {
        if (head_.size() < 2 * lba || !has_signature(std::span(head_).subspan(lba, lba))) continue;
        auto h = decode_header(std::span(head_).subspan(lba, lba), 1, lba, *size_ / lba);
        if (!h.ok()) break;  // plan_relocation reports it
        const std::uint64_t end = h->entries_lba * lba + h->array_bytes();
        if (end > kMaxHead) {
          planned_ = true;
          a_.outcome = Analysis::Outcome::stale;
          a_.message = fmt::format(
              "gpt: the primary entry array ends at byte {}, past the first {} bytes a streamed "
              "input is held back; the backup GPT is NOT moved to the new end (convert from a "
              "file, or run sgdisk -e on the result)",
              end, kMaxHead);
          return pass(0, head_.size(), head_.data());
        }
        if (end > need_ && end <= *size_) {
          need_ = end;
          return {};
        }
        break;
      }
    }
    planned_ = true;
    HeadSource view(head_, *size_);
    auto a = plan_relocation(view, new_size_, false);
    if (!a.ok() && a.status().code() != Errc::unsupported) return a.status();
    if (!a.ok()) {
      a_.outcome = Analysis::Outcome::stale;
      a_.message = fmt::format("{}; the backup GPT is NOT moved to the new end",
                               a.status().message());
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
      holding_ = hold_end_ <= *size_ && hold_begin_ < hold_end_;
      if (!holding_) VDISK_RETURN_IF_ERROR(finish_backup());
    }
    return pass(0, head_.size(), head_.data());
  }

  // Bytes after the head: the old backup's sectors are held until its header is complete.
  Status pass(std::uint64_t offset, std::uint64_t length, const std::byte* data) {
    if (holding_ && offset + length > hold_begin_ && offset < hold_end_) {
      if (offset < hold_begin_) {
        const std::uint64_t n = hold_begin_ - offset;
        VDISK_RETURN_IF_ERROR(out(offset, n, data));
        offset += n;
        length -= n;
        if (data) data += n;
      }
      const auto n = static_cast<std::size_t>(std::min(length, hold_end_ - offset));
      if (data) hold_.insert(hold_.end(), data, data + n);
      else hold_.resize(hold_.size() + n, std::byte{0});
      offset += n;
      length -= n;
      if (data) data += n;
      if (offset == hold_end_) VDISK_RETURN_IF_ERROR(release_hold());
      if (length == 0) return {};
    }
    return out(offset, length, data);
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
      return unsupported(fmt::format("bytes [{}, +{}) of the streamed input were not held back",
                                     offset, length));
    };
    auto st = finish_relocation(a_, read);
    if (!st.ok() && st.code() != Errc::unsupported) return st;
    if (!st.ok()) a_.message += fmt::format(" (the old backup header was not held back: {})",
                                            st.message());
    a_.relocation.old_backup_pending = false;
    return {};
  }

  Status release_hold() {
    holding_ = false;
    VDISK_RETURN_IF_ERROR(finish_backup());
    return out(hold_begin_, hold_.size(), hold_.data());
  }

  // Writes [offset, offset + length) to the inner sink (and the tap) with the plan's patches.
  Status out(std::uint64_t offset, std::uint64_t length, const std::byte* data) {
    const auto& ps = a_.relocation.patches;
    const std::uint64_t end = offset + length;
    auto it = std::upper_bound(ps.begin(), ps.end(), offset,
                               [](std::uint64_t o, const Patch& p) { return o < p.end(); });
    std::uint64_t at = offset;
    while (at < end) {
      std::uint64_t stop = end;
      const std::byte* src = data ? data + (at - offset) : nullptr;
      if (it != ps.end() && it->offset <= at) {
        stop = std::min(end, it->end());
        src = it->bytes.empty() ? nullptr : it->bytes.data() + (at - it->offset);
      } else if (it != ps.end() && it->offset < end) {
        stop = it->offset;
      }
      VDISK_RETURN_IF_ERROR(put(at, stop - at, src));
      at = stop;
      if (it != ps.end() && it->end() <= at) ++it;
    }
    return {};
  }

  Status put(std::uint64_t offset, std::uint64_t length, const std::byte* data) {
    if (length == 0) return {};
    if (data) {
      const std::span<const std::byte> s(data, static_cast<std::size_t>(length));
      VDISK_RETURN_IF_ERROR(inner_->write(offset, s));
      if (tap_) VDISK_RETURN_IF_ERROR(tap_->write(offset, s));
      return {};
    }
    VDISK_RETURN_IF_ERROR(inner_->write_zeroes(offset, length));
    if (tap_) VDISK_RETURN_IF_ERROR(tap_->write_zeroes(offset, length));
    return {};
  }

  std::unique_ptr<BlockSink> inner_;
  std::optional<std::uint64_t> size_;
  std::uint64_t new_size_;
  BlockSink* tap_;
  std::uint64_t next_ = 0;
  std::uint64_t need_ = 0;
  std::vector<std::byte> head_;
  bool planned_ = false;
  bool final_ = false;  // finish() came: plan with what is held
  Analysis a_;
  bool holding_ = false;
  std::uint64_t hold_begin_ = 0, hold_end_ = 0;
  std::vector<std::byte> hold_;
};

}  // namespace

std::unique_ptr<GptStreamSink> make_gpt_stream_sink(std::unique_ptr<BlockSink> inner,
                                                    std::optional<std::uint64_t> source_size,
                                                    std::uint64_t new_size, BlockSink* tap) {
  return std::make_unique<StreamSink>(std::move(inner), source_size, new_size, tap);
}

}  // namespace vdisk::gpt
