// check_image(): the registry of rule sets (contract/check_rules.h) and the loop over it.
#include "vdisk/check.h"

#include <fmt/format.h>

#include <algorithm>

#include "contract/check_rules.h"
#include "vdisk/image.h"
#include "vdisk/io.h"

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

namespace detail {

std::span<const CheckRuleSet* const> check_rule_sets() {
  // Help order. Adding a rule set: its folder's CheckRuleSet and one entry here.
  static const std::vector<const CheckRuleSet*> sets = [] {
    std::vector<const CheckRuleSet*> v = {&azure_rules(), &gcp_rules(), &aws_rules()};
    for (const auto& r : vmdk_rule_sets()) v.push_back(&r);
    v.push_back(&qcow2_rules());
    return v;
  }();
  return sets;
}

}  // namespace detail

std::vector<std::string_view> check_targets() {
  std::vector<std::string_view> out;
  for (const auto* r : detail::check_rule_sets()) out.push_back(r->name);
  return out;
}

namespace {

const detail::CheckRuleSet* find_rule_set(std::string_view target) {
  for (const auto* r : detail::check_rule_sets())
    if (r->name == target) return r;
  return nullptr;
}

Status unknown_target(std::string_view target) {
  return invalid_argument(fmt::format("unknown check target '{}' (known: {})", target,
                                      fmt::join(check_targets(), ", ")));
}

}  // namespace

Result<CheckReport> check_image(const std::filesystem::path& path, std::string_view target,
                                const CheckOptions& options) {
  const detail::CheckRuleSet* r = find_rule_set(target);
  if (!r) return unknown_target(target);
  VDISK_ASSIGN_OR_RETURN(auto file, open_file(path));
  return r->run(std::move(file), path, path.string(), target, options);
}

Result<CheckReport> check_image(std::unique_ptr<RandomAccessFile> file, const std::string& display,
                                std::string_view target, const CheckOptions& options) {
  const detail::CheckRuleSet* r = find_rule_set(target);
  if (!r) return unknown_target(target);
  return r->run(std::move(file), {}, display, target, options);
}

Result<std::string> default_check_target(const RandomAccessFile& file, std::string_view display) {
  VDISK_ASSIGN_OR_RETURN(std::string format, probe_format(file));
  for (const auto* r : detail::check_rule_sets())
    if (!r->default_for_format.empty() && r->default_for_format == format)
      return std::string(r->name);
  return invalid_argument(
      fmt::format("{} is a {} image; name the rule set to check with --for "
                  "(known: {})",
                  display, format, fmt::join(check_targets(), ", ")));
}

Result<std::string> default_check_target(const std::filesystem::path& path) {
  VDISK_ASSIGN_OR_RETURN(auto file, open_file(path));
  return default_check_target(*file, path.string());
}

}  // namespace vdisk
