// Lint findings, repair edits and descriptor areas as text and as Properties (vmdk_repair.h).
#include "vdisk/vmdk_repair.h"

#include <fmt/format.h>

#include <cstdint>

namespace vdisk::vmdk {

std::string describe_area(const std::string& path, const DescriptorArea& area) {
  if (area.embedded)
    return fmt::format(
        "{}: embedded descriptor, {} bytes ({} sectors) at offset {}, {} bytes of "
        "text, {} free\n",
        path, area.size, area.size / 512, area.offset, area.text().size(),
        area.size - area.text().size());
  return fmt::format("{}: text descriptor, {} bytes\n", path, area.size);
}

std::string render_finding(const LintFinding& f) {
  std::string where = f.line ? fmt::format("line {}", f.line) : std::string("descriptor");
  if (!f.key.empty())
    where += fmt::format(" {} = \"{}\"", f.key, f.value);
  else if (!f.value.empty())
    where += fmt::format(" '{}'", f.value);
  std::string out =
      fmt::format("{} [{}] {}: {} ({}){}\n", where, f.rule, severity_name(f.severity),
                  consumer_names(f.consumers), f.detail, f.fixable ? "" : "; not fixed by repair");
  if (!f.message.empty()) out += fmt::format("    error text: {}\n", f.message);
  return out;
}

std::string render_edit(const RepairEdit& e) {
  std::string out = e.line ? fmt::format("line {}: {}", e.line, action_name(e.action))
                           : fmt::format("new line: {}", action_name(e.action));
  if (!e.key.empty()) out += fmt::format(" {} = \"{}\"", e.key, e.value);
  out += fmt::format(" [{}; {}]\n", e.rule, consumer_names(e.consumers));
  out += fmt::format("    reason: {}\n", e.reason);
  if (!e.prevents.empty()) out += fmt::format("    prevents: {}\n", e.prevents);
  if (!e.before.empty() || e.action != RepairAction::insert)
    out += fmt::format("    - {}\n", e.before);
  if (e.action != RepairAction::remove) out += fmt::format("    + {}\n", e.after);
  return out;
}

void add_consumers_json(Properties& p, std::string_view key, unsigned mask) {
  const std::pair<unsigned, std::string_view> names[] = {
      {kMvmc, "MVMC"}, {kQemu, "qemu"}, {kVirtualBox, "VirtualBox"}, {kEsxi, "ESXi"}};
  for (const auto& [bit, name] : names)
    if (mask & bit) p.add_list_string(key, name);
}

void add_area_json(Properties& p, const DescriptorArea& area) {
  Properties& a = p.add_object("area");
  a.add("embedded", area.embedded);
  a.add("offset", area.offset);
  a.add("size", area.size);
  a.add("text_bytes", static_cast<std::uint64_t>(area.text().size()));
  if (area.embedded) a.add("free_bytes", area.size - area.text().size());
}

void add_finding_json(Properties& p, const LintFinding& f) {
  p.add("line", static_cast<std::uint64_t>(f.line));
  p.add("rule", f.rule);
  p.add("severity", severity_name(f.severity));
  p.add("key", f.key);
  p.add("value", f.value);
  add_consumers_json(p, "consumers", f.consumers);
  p.add("message", f.message);
  p.add("detail", f.detail);
  p.add("fixable", f.fixable);
}

void add_edit_json(Properties& p, const RepairEdit& e) {
  p.add("line", static_cast<std::uint64_t>(e.line));
  p.add("action", action_name(e.action));
  p.add("rule", e.rule);
  p.add("key", e.key);
  p.add("value", e.value);
  add_consumers_json(p, "consumers", e.consumers);
  p.add("reason", e.reason);
  p.add("prevents", e.prevents);
  if ((e.consumers & kMvmc) && e.rule.find("mvmc-") != std::string::npos)
    p.add("mvmc_message", e.prevents);
  p.add("before", e.before);
  p.add("after", e.after);
}

}  // namespace vdisk::vmdk
