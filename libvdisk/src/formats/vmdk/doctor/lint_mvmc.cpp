// Descriptor lint, MVMC's rule (see lint_rules.h): ConvertTo-MvmcVirtualHardDisk refuses every
// ddb key it does not know, naming the line's value, not its key (docs/vmdk.md §3).
#include <fmt/format.h>

#include <algorithm>

#include "formats/vmdk/doctor/lint_rules.h"

namespace vdisk::vmdk {
namespace lint {
namespace {

constexpr std::string_view kMvmcMessage =
    "The entry {} is not a supported disk database entry for the descriptor";

}  // namespace

void lint_mvmc_ddb_entries(LintContext& c) {
  for (const DescriptorLine& l : c.descriptor.lines) {
    if (l.kind != DescriptorLine::Kind::entry || !is_ddb_key(l.key)) continue;
    const bool kept = std::any_of(c.options.mvmc_keep.begin(), c.options.mvmc_keep.end(),
                                  [&](const std::string& k) { return iequals(k, l.key); });
    if (!kept) {
      LintFinding& f =
          c.add("mvmc-ddb-entry", l.number, kMvmc, LintSeverity::error, true,
                fmt::format("MVMC accepts only known disk database keys and {} is not one; its "
                            "message names the value '{}', not the key",
                            l.key, l.value),
                fmt::format(fmt::runtime(kMvmcMessage), l.value));
      f.key = l.key;
      f.value = l.value;
    }
  }
}

}  // namespace lint

std::vector<std::string> default_mvmc_keep() {
  return {"ddb.adapterType",          "ddb.geometry.cylinders",     "ddb.geometry.heads",
          "ddb.geometry.sectors",     "ddb.geometry.biosCylinders", "ddb.geometry.biosHeads",
          "ddb.geometry.biosSectors", "ddb.virtualHWVersion",       "ddb.toolsVersion"};
}

}  // namespace vdisk::vmdk
