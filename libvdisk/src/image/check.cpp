// check_image(): dispatch to the rule set of each target.
#include "vdisk/check.h"

#include <fmt/format.h>

#include <algorithm>

#include "gcp/gcp.h"
#include "qcow2/qcow2_check.h"
#include "vdisk/image.h"
#include "vdisk/io.h"
#include "vhd/vhd.h"
#include "vmdk/vmdk_check.h"

namespace vdisk {

std::size_t CheckReport::failures() const {
  return static_cast<std::size_t>(
      std::count_if(items.begin(), items.end(), [](const CheckItem& i) { return i.fails(); }));
}

std::size_t CheckReport::warnings() const {
  return static_cast<std::size_t>(
      std::count_if(items.begin(), items.end(), [](const CheckItem& i) { return i.warns(); }));
}

bool CheckReport::passed() const { return !items.empty() && failures() == 0; }

Properties CheckReport::to_properties() const {
  Properties p;
  p.add("target", target);
  p.add("path", path);
  p.add("passed", passed());
  p.add("failures", std::uint64_t{failures()});
  p.add("warnings", std::uint64_t{warnings()});
  for (const auto& item : items) {
    Properties& r = p.add_list_item("rules");
    r.add("rule", item.id);
    r.add("statement", item.rule);
    r.add("passed", item.passed);
    if (!item.passed)
      r.add("severity", item.severity == CheckSeverity::error ? "error" : "warning");
    r.add("detail", item.detail);
    if (!item.facts.empty()) r.add_object("facts") = item.facts;
  }
  return p;
}

namespace {

// The rule sets. A target's rule set has the target's name (TargetInfo::check); the others name
// a consumer of VMDKs.
struct RuleSet {
  std::string_view name;
  Result<CheckReport> (*run)(const std::filesystem::path& path, std::string_view name,
                             const CheckOptions& options);
};
Result<CheckReport> azure(const std::filesystem::path& p, std::string_view, const CheckOptions&) {
  return vhd::check_azure(p);
}
Result<CheckReport> gcp(const std::filesystem::path& p, std::string_view, const CheckOptions&) {
  return gcp::check_gcp(p);
}
Result<CheckReport> qcow2(const std::filesystem::path& p, std::string_view, const CheckOptions&) {
  return qcow2::check_qcow2(p);
}
Result<CheckReport> vmdk(const std::filesystem::path& p, std::string_view name,
                         const CheckOptions& o) {
  return vmdk::check_vmdk(p, name, o);
}
constexpr RuleSet kRuleSets[] = {{"azure", azure}, {"gcp", gcp},    {"vmdk", vmdk},
                                 {"mvmc", vmdk},   {"qemu", vmdk},  {"virtualbox", vmdk},
                                 {"esxi", vmdk},   {"qcow2", qcow2}};

}  // namespace

std::vector<std::string_view> check_targets() {
  std::vector<std::string_view> out;
  for (const auto& r : kRuleSets) out.push_back(r.name);
  return out;
}

Result<CheckReport> check_image(const std::filesystem::path& path, std::string_view target,
                                const CheckOptions& options) {
  for (const auto& r : kRuleSets)
    if (r.name == target) return r.run(path, target, options);
  return invalid_argument(fmt::format("unknown check target '{}' (known: {})", target,
                                      fmt::join(check_targets(), ", ")));
}

Result<std::string> default_check_target(const std::filesystem::path& path) {
  VDISK_ASSIGN_OR_RETURN(auto file, open_file(path));
  VDISK_ASSIGN_OR_RETURN(std::string format, probe_format(*file));
  if (format == "vmdk") return std::string("vmdk");
  if (format == "gcp-tarball") return std::string("gcp");
  if (format == "qcow2") return std::string("qcow2");
  return invalid_argument(
      fmt::format("{} is a {} image; name the rule set to check with --for "
                  "(known: {})",
                  path.string(), format, fmt::join(check_targets(), ", ")));
}

}  // namespace vdisk
