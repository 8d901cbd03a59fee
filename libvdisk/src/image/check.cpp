// check_image(): dispatch to the rule set of each target.
#include "vdisk/check.h"

#include <fmt/format.h>

#include "gcp/gcp.h"
#include "vhd/vhd.h"
#include "vmdk/vmdk_check.h"

namespace vdisk {

bool CheckReport::passed() const {
  for (const auto& item : items)
    if (!item.passed) return false;
  return !items.empty();
}

Properties CheckReport::to_properties() const {
  Properties p;
  p.add("target", target);
  p.add("path", path);
  p.add("passed", passed());
  for (const auto& item : items) {
    Properties& r = p.add_list_item("rules");
    r.add("rule", item.rule);
    r.add("passed", item.passed);
    r.add("detail", item.detail);
  }
  return p;
}

std::vector<std::string_view> check_targets() { return {"azure", "gcp", "vmdk"}; }

Result<CheckReport> check_image(const std::filesystem::path& path, std::string_view target) {
  if (target == "azure") return vhd::check_azure(path);
  if (target == "gcp") return gcp::check_gcp(path);
  if (target == "vmdk") return vmdk::check_vmdk(path);
  return invalid_argument(fmt::format("unknown check target '{}' (known: {})", target,
                                      fmt::join(check_targets(), ", ")));
}

}  // namespace vdisk
