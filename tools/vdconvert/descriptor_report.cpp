// Rendering of descriptor lint findings and repair edits (see descriptor_report.h).
#include "descriptor_report.h"

#include <fmt/format.h>

namespace vdconvert {

using vdisk::vmdk::LintFinding;
using vdisk::vmdk::RepairEdit;

std::string describe_area(const std::string& path, const vdisk::vmdk::DescriptorArea& area) {
  if (area.embedded)
    return fmt::format("{}: embedded descriptor, {} bytes ({} sectors) at offset {}, {} bytes of "
                       "text, {} free\n",
                       path, area.size, area.size / 512, area.offset, area.text().size(),
                       area.size - area.text().size());
  return fmt::format("{}: text descriptor, {} bytes\n", path, area.size);
}

std::string render_finding(const LintFinding& f) {
  std::string where = f.line ? fmt::format("line {}", f.line) : std::string("descriptor");
  if (!f.key.empty()) where += fmt::format(" {} = \"{}\"", f.key, f.value);
  else if (!f.value.empty()) where += fmt::format(" '{}'", f.value);
  std::string out = fmt::format("{} [{}] {}: {} ({}){}\n", where, f.rule,
                                vdisk::vmdk::severity_name(f.severity),
                                vdisk::vmdk::consumer_names(f.consumers), f.detail,
                                f.fixable ? "" : "; not fixed by repair");
  if (!f.message.empty()) out += fmt::format("    error text: {}\n", f.message);
  return out;
}

std::string render_edit(const RepairEdit& e) {
  std::string out =
      e.line ? fmt::format("line {}: {}", e.line, vdisk::vmdk::action_name(e.action))
             : fmt::format("new line: {}", vdisk::vmdk::action_name(e.action));
  if (!e.key.empty()) out += fmt::format(" {} = \"{}\"", e.key, e.value);
  out += fmt::format(" [{}; {}]\n", e.rule, vdisk::vmdk::consumer_names(e.consumers));
  out += fmt::format("    reason: {}\n", e.reason);
  if (!e.prevents.empty()) out += fmt::format("    prevents: {}\n", e.prevents);
  if (!e.before.empty() || e.action != vdisk::vmdk::RepairAction::insert)
    out += fmt::format("    - {}\n", e.before);
  if (e.action != vdisk::vmdk::RepairAction::remove) out += fmt::format("    + {}\n", e.after);
  return out;
}

}  // namespace vdconvert
