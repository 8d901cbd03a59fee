// The invariants of VMDK descriptor repair, shared by fuzz_vmdk_repair and
// fuzz_vmdk_repair_uuids (abort on violation):
// - repair either succeeds or refuses with invalid_argument (the text does not fit the area, or
//   the uuid options do not apply);
// - the repaired text never exceeds the area, parses, and parse -> serialize -> parse of it
//   gives the same structure;
// - a repaired text that needs no further edit keeps its bytes when planned again.
#ifndef VDISK_FUZZ_REPAIR_INVARIANTS_H_
#define VDISK_FUZZ_REPAIR_INVARIANTS_H_

#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "vdisk/vmdk.h"
#include "vdisk/vmdk_repair.h"

namespace vdisk::fuzz {

// Returns the repaired text, or nullopt when the repair was (rightly) refused.
inline std::optional<std::string> check_repair(std::string_view text,
                                               const vmdk::RepairOptions& ro) {
  namespace vm = vdisk::vmdk;
  auto plan = vm::plan_repair(text, ro);
  if (!plan.ok()) {
    if (plan.status().code() == Errc::invalid_argument) return std::nullopt;
    std::abort();
  }
  if (ro.area_bytes && plan->text.size() > ro.area_bytes) std::abort();
  auto a = vm::parse_descriptor(plan->text);
  if (!a.ok()) std::abort();
  const std::string s = vm::serialize_descriptor(*a);
  auto b = vm::parse_descriptor(s);
  if (b.ok() && !(*a == *b)) std::abort();
  if (!b.ok() && b.status().code() != Errc::resource_exhausted) std::abort();
  auto again = vm::plan_repair(plan->text, ro);
  if (again.ok() && again->edits.empty() && again->text != plan->text) std::abort();
  return plan->text;
}

}  // namespace vdisk::fuzz

#endif  // VDISK_FUZZ_REPAIR_INVARIANTS_H_
