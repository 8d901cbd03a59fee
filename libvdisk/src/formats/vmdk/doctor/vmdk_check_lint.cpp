// The descriptor lint part of the VMDK check (see vdisk/check.h): every descriptor of the chain
// is linted with lint_descriptor() (vdisk/vmdk_repair.h); each finding for a selected consumer
// becomes one item naming the consumers, file, line, key and the consumer's own message.
#include <fmt/format.h>

#include <utility>

#include "formats/vmdk/doctor/vmdk_check_impl.h"

namespace vdisk::vmdk::check {
namespace {

constexpr std::pair<unsigned, std::string_view> kConsumerOrder[] = {
    {kMvmc, "MVMC"}, {kQemu, "qemu"}, {kVirtualBox, "VirtualBox"}, {kEsxi, "ESXi"}};

std::string replace_all(std::string s, std::string_view from, std::string_view to) {
  for (std::size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
    s.replace(at, from.size(), to);
  return s;
}

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return out;
}

CheckItem finding_item(const std::string& file, const LintFinding& f, bool strict) {
  CheckItem item;
  item.rule = fmt::format("descriptor accepted by {} [{}]", consumer_names(f.consumers), f.rule);
  item.id = "vmdk.lint." + f.rule;
  item.passed = false;
  item.severity =
      strict && f.severity == LintSeverity::error ? CheckSeverity::error : CheckSeverity::warning;
  std::string where = f.line ? fmt::format("line {}", f.line) : std::string("descriptor");
  if (!f.key.empty())
    where += fmt::format(" {} = \"{}\"", f.key, f.value);
  else if (!f.value.empty())
    where += fmt::format(" '{}'", f.value);
  // Messages name the file as "<file>" where the consumer prints the path it opened.
  const std::string message = replace_all(f.message, "<file>", file);
  item.detail =
      fmt::format("{}: {}: {} ({} for {}{})", file, where, f.detail, severity_name(f.severity),
                  consumer_names(f.consumers), f.fixable ? "; `vdconvert repair` fixes it" : "");
  if (!message.empty())
    item.detail += fmt::format("; {} says: {}", consumer_names(f.consumers), message);
  Properties& x = item.facts;
  x.add("file", file);
  x.add("line", std::uint64_t{f.line});
  if (!f.key.empty()) x.add("key", f.key);
  if (!f.value.empty() || !f.key.empty()) x.add("value", f.value);
  for (const auto& [bit, name] : kConsumerOrder)
    if (f.consumers & bit) x.add_list_string("consumers", name);
  x.add("lint_rule", f.rule);
  x.add("lint_severity", severity_name(f.severity));
  x.add("fixable", f.fixable);
  if (!message.empty()) x.add("message", message);
  return item;
}

}  // namespace

void Checker::lint(const Descriptor& d, std::string_view text, const std::string& name,
                   bool standalone, std::uint64_t area_bytes) {
  LintOptions o;
  o.standalone = standalone;
  o.area_bytes = area_bytes;
  linted_.push_back({name, lint_descriptor(d, text, o)});
}

void Checker::lint_items(CheckReport& report) const {
  // One passing item for each selected consumer that rejects nothing.
  for (const auto& [bit, name] : kConsumerOrder) {
    if (!(consumers_ & bit)) continue;
    bool any = false;
    for (const LintedDescriptor& l : linted_)
      for (const LintFinding& f : l.findings) any = any || (f.consumers & bit) != 0;
    if (any) continue;
    const std::size_t n = linted_.size();
    report.items.push_back({fmt::format("descriptor accepted by {}", name), true,
                            n == 0 ? std::string("no descriptor to lint")
                                   : fmt::format("{} descriptor{} linted: no line {} rejects", n,
                                                 n == 1 ? "" : "s", name)});
    report.items.back().id = "vmdk.accepted_by." + to_lower(name);
  }
  for (const LintedDescriptor& l : linted_)
    for (const LintFinding& f : l.findings)
      if (f.consumers & consumers_) report.items.push_back(finding_item(l.file, f, strict_));
}

}  // namespace vdisk::vmdk::check
