// Fuzz target: the live-ISO hybridiser. plan_hybrid() on arbitrary bytes (El Torito catalog,
// boot image classification, EFI image sizing by a tree walk, system-area checks), then, for a
// "hybridize" plan, the whole hybrid view read and mapped. Invariants: a hybridize plan always
// builds a view of a whole number of MiB, no smaller than the input; every byte outside the
// plan's patches reads as the input's (zero past it); map() covers the view exactly, in order;
// the streaming form, when it hybridises too, emits the view's bytes.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <vector>

#include "formats/iso9660/livecd/hybrid.h"
#include "formats/raw/raw.h"
#include "vdisk/io.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace vdisk;
  using namespace vdisk::livecd;
  const std::span<const std::byte> in(reinterpret_cast<const std::byte*>(data), size);
  std::shared_ptr<const BlockSource> iso(raw::open_source(memory_view_file(in)));
  auto plan = plan_hybrid(*iso);
  if (!plan.ok()) return 0;
  if (plan->action != HybridAction::hybridize) return 0;
  if (plan->disk_size % kHybridAlign != 0 || plan->disk_size < size) std::abort();
  BootCode code;
  code.isohdpfx.assign(432, std::byte{0x11});
  code.grub_hybrid.assign(512, std::byte{0x22});
  auto patches = hybrid_patches(*plan, code);
  auto view = hybrid_disk(iso, *plan, code);
  if (!patches.ok() || !view.ok()) std::abort();
  const BlockSource& v = **view;
  if (v.size() != plan->disk_size) std::abort();
  std::vector<std::byte> buf(64 * 1024);
  for (std::uint64_t off = 0; off < v.size(); off += buf.size()) {
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), v.size() - off));
    if (!v.read(off, std::span(buf).first(n)).ok()) std::abort();
    for (std::size_t i = 0; i < n; ++i) {
      const std::uint64_t at = off + i;
      const bool patched = std::any_of(patches->begin(), patches->end(), [&](const Patch& p) {
        return at >= p.offset && at - p.offset < p.bytes.size();
      });
      if (patched) continue;
      const std::byte want = at < size ? in[static_cast<std::size_t>(at)] : std::byte{0};
      if (buf[i] != want) std::abort();
    }
  }
  std::vector<Extent> map;
  if (!v.map(0, v.size(), map).ok()) std::abort();
  std::uint64_t pos = 0;
  for (const Extent& e : map) {
    if (e.offset != pos || e.length == 0) std::abort();
    pos = e.end();
  }
  if (pos != v.size()) std::abort();

  // The streaming form on the same bytes: when it also hybridises, for the same ISO size (a raw
  // stream's size is taken from the PVD, which may disagree with the input's, and then the
  // stream fails at its end), its bytes are the view's up to any error.
  HybridStreamOptions so;
  so.load_code = [&](const HybridPlan&) -> Result<BootCode> { return code; };
  auto st = hybrid_stream(
      raw::open_stream(memory_stream(std::vector<std::byte>(in.begin(), in.end()))), so);
  if (!st.ok() || (*st)->plan().action != HybridAction::hybridize || (*st)->plan().iso_size != size)
    return 0;
  std::vector<std::byte> sbuf(100000);
  std::uint64_t spos = 0;
  for (;;) {
    auto run = (*st)->next(sbuf);
    if (!run.ok() || run->kind == StreamRun::Kind::end) break;
    if (run->length > v.size() - std::min(spos, v.size())) std::abort();
    std::vector<std::byte> want(static_cast<std::size_t>(run->length));
    if (!v.read(spos, want).ok()) std::abort();
    for (std::size_t i = 0; i < want.size(); ++i) {
      const std::byte got = run->kind == StreamRun::Kind::zero ? std::byte{0} : sbuf[i];
      if (got != want[i]) std::abort();
    }
    spos += run->length;
  }
  return 0;
}
