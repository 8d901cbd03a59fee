// Fuzz target: VMDK descriptor lint + repair. The first byte picks the options (consumers,
// delete/comment, standalone, area = the input size or unbounded); the rest is the text.
// Invariants (abort on violation):
// - repair either succeeds or refuses with invalid_argument (the text does not fit the area);
// - the repaired text never exceeds the area, parses, and parse -> serialize -> parse of it
//   gives the same structure;
// - a repaired text that needs no further edit keeps its bytes when planned again.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "vdisk/vmdk.h"
#include "vdisk/vmdk_repair.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint8_t opt = data[0];
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  namespace vm = vdisk::vmdk;
  auto parsed = vm::parse_descriptor(text);
  if (!parsed.ok()) return 0;
  vm::LintOptions lo;
  lo.standalone = (opt & 0x20) != 0;
  lo.area_bytes = (opt & 0x40) ? text.size() : 0;
  (void)vm::lint_descriptor(*parsed, text, lo);

  vm::RepairOptions ro;
  ro.consumers = opt & 0x0F;
  if (ro.consumers == 0) ro.consumers = vm::kAllConsumers;
  ro.delete_lines = (opt & 0x10) != 0;
  ro.standalone = lo.standalone;
  ro.area_bytes = lo.area_bytes;
  if (opt & 0x80) ro.mvmc_keep.clear();
  auto plan = vm::plan_repair(text, ro);
  if (!plan.ok()) {
    if (plan.status().code() == vdisk::Errc::invalid_argument) return 0;
    std::abort();
  }
  if (ro.area_bytes && plan->text.size() > ro.area_bytes) std::abort();
  auto a = vm::parse_descriptor(plan->text);
  if (!a.ok()) std::abort();
  const std::string s = vm::serialize_descriptor(*a);
  auto b = vm::parse_descriptor(s);
  if (b.ok() && !(*a == *b)) std::abort();
  if (!b.ok() && b.status().code() != vdisk::Errc::resource_exhausted) std::abort();
  auto again = vm::plan_repair(plan->text, ro);
  if (again.ok() && again->edits.empty() && again->text != plan->text) std::abort();
  return 0;
}
