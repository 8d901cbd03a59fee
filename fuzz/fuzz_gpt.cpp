// Fuzz target: GPT validation and relocation on a hostile disk. The input is the whole disk;
// it is planned for padding to the next 64 KiB plus 64 KiB. A relocated result must hold a GPT
// that validates at its new place (abort otherwise), and reading and mapping the padded view
// must succeed.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>
#include <vector>

#include "gpt/gpt_codec.h"
#include "gpt/gpt_relocate.h"

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

 private:
  std::span<const std::byte> b_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > (4u << 20)) return 0;
  SpanSource src({reinterpret_cast<const std::byte*>(data), size});
  const std::uint64_t padded = (size / 65536 + 2) * 65536;
  auto a = vdisk::gpt::plan_relocation(src, padded);
  if (!a.ok() || a->outcome != vdisk::gpt::Analysis::Outcome::relocated) return 0;
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
