// Fuzz target: GPT validation and relocation on a hostile disk. The input is the whole disk;
// it is planned for padding to the next 64 KiB plus 64 KiB. A relocated result must hold a GPT
// that validates at its new place (abort otherwise), and reading and mapping the padded view
// must succeed. Differential: the stream view (padded_stream, runs of a size taken from the
// input, all-zero runs reported as zero runs) must give exactly the file view's bytes.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <span>
#include <vector>

#include "gpt/gpt_codec.h"
#include "gpt/gpt_relocate.h"
#include "gpt/gpt_stream.h"

namespace {

class SpanSource final : public vdisk::BlockSource {
 public:
  explicit SpanSource(std::span<const std::byte> b) : b_(b) {}
  std::uint64_t size() const override { return b_.size(); }
  vdisk::Status read(std::uint64_t offset, std::span<std::byte> dst) const override {
    if (offset > b_.size() || dst.size() > b_.size() - offset) return vdisk::out_of_range("read");
    if (!dst.empty()) std::memcpy(dst.data(), b_.data() + offset, dst.size());
    return {};
  }
  std::string_view format() const override { return "fuzz"; }
  std::span<const std::byte> bytes() const { return b_; }

 private:
  std::span<const std::byte> b_;
};

// The disk as a stream with a stated size, in runs of `step` bytes.
class SpanStream final : public vdisk::StreamSource {
 public:
  SpanStream(std::span<const std::byte> b, std::size_t step) : b_(b), step_(step) {}
  std::optional<std::uint64_t> size() const override { return b_.size(); }
  vdisk::Result<std::size_t> read(std::span<std::byte> dst) override {
    const std::size_t n = std::min(dst.size(), b_.size() - at_);
    if (n) std::memcpy(dst.data(), b_.data() + at_, n);
    at_ += n;
    return n;
  }
  vdisk::Result<vdisk::StreamRun> next(std::span<std::byte> dst) override {
    const std::size_t n = std::min({dst.size(), step_, b_.size() - at_});
    if (n == 0) return vdisk::StreamRun{};
    const auto part = b_.subspan(at_, n);
    at_ += n;
    if (std::all_of(part.begin(), part.end(), [](std::byte x) { return x == std::byte{0}; }))
      return vdisk::StreamRun{vdisk::StreamRun::Kind::zero, n};
    std::memcpy(dst.data(), part.data(), n);
    return vdisk::StreamRun{vdisk::StreamRun::Kind::data, n};
  }
  std::string_view format() const override { return "fuzz"; }

 private:
  std::span<const std::byte> b_;
  std::size_t step_;
  std::size_t at_ = 0;
};

// The stream view's bytes equal the file view's (abort otherwise).
void check_stream_view(std::span<const std::byte> disk, std::uint64_t padded,
                       const vdisk::BlockSource& file_view) {
  const std::size_t step = disk.empty() ? 512 : 1 + std::to_integer<std::size_t>(disk[0]) * 97;
  SpanStream in(disk, step);
  auto view = vdisk::gpt::padded_stream(
      in, [padded](std::uint64_t) -> vdisk::Result<std::uint64_t> { return padded; }, true);
  if (!view.ok()) std::abort();
  std::vector<std::byte> got, buf(65536), want(static_cast<std::size_t>(padded));
  for (;;) {
    auto r = (*view)->next(buf);
    if (!r.ok()) std::abort();
    if (r->kind == vdisk::StreamRun::Kind::end) break;
    if (r->kind == vdisk::StreamRun::Kind::zero)
      got.resize(got.size() + static_cast<std::size_t>(r->length), std::byte{0});
    else
      got.insert(got.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(r->length));
    if (got.size() > padded) std::abort();
  }
  if (!file_view.read(0, want).ok() || got != want) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > (4u << 20)) return 0;
  SpanSource src({reinterpret_cast<const std::byte*>(data), size});
  const std::uint64_t padded = (size / 65536 + 2) * 65536;
  auto a = vdisk::gpt::plan_relocation(src, padded);
  if (!a.ok()) return 0;
  const bool relocated = a->outcome == vdisk::gpt::Analysis::Outcome::relocated;
  {
    auto file_view = vdisk::gpt::relocated_source(
        src, padded, relocated ? a->relocation.patches : std::vector<vdisk::gpt::Patch>{});
    if (!file_view.ok()) std::abort();
    check_stream_view(src.bytes(), padded, **file_view);
  }
  if (!relocated) return 0;
  const auto& r = a->relocation;
  auto view = vdisk::gpt::relocated_source(src, padded, r.patches);
  if (!view.ok()) std::abort();
  std::vector<std::byte> out(static_cast<std::size_t>(padded));
  if (!(*view)->read(0, out).ok()) std::abort();
  std::vector<vdisk::Extent> map;
  if (!(*view)->map(0, padded, map).ok()) std::abort();
  const std::uint64_t lba = r.lba_size, lbas = padded / lba;
  std::span<const std::byte> o(out);
  auto p = vdisk::gpt::decode_header(o.subspan(lba, lba), 1, lba, lbas);
  auto b = vdisk::gpt::decode_header(o.subspan((lbas - 1) * lba, lba), lbas - 1, lba, lbas);
  if (!p.ok() || !b.ok() || p->alternate_lba != lbas - 1 || b->alternate_lba != 1) std::abort();
  if (!vdisk::gpt::decode_entries(o.subspan(b->entries_lba * lba, b->array_bytes()), *b,
                                  b->entries_lba * lba)
           .ok())
    std::abort();
  return 0;
}
