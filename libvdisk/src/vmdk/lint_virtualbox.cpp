// Descriptor lint, VirtualBox's rules (see lint_rules.h), as its VMDK backend pre-processes a
// descriptor: the first line, descriptor version 1, header entries then extents then ddb entries
// (classified by how each line starts), strict extent syntax, one extent in an embedded
// descriptor, and room for the ddb.uuid.* keys it adds on a read-write open.
#include <fmt/format.h>

#include <array>

#include "vmdk/lint_rules.h"

namespace vdisk::vmdk::lint {
namespace {

bool virtualbox_first_line(std::string_view body) {
  return body == "# Disk DescriptorFile" || body == "# Disk Descriptor File" ||
         body == "#Disk Descriptor File" || body == "#Disk DescriptorFile";
}

// VirtualBox's strict extent syntax: ACCESS SP SECTORS SP TYPE [SP "FILE" [SP OFFSET]].
bool virtualbox_extent_ok(std::string_view body, const ExtentLine& e) {
  if (e.type != ExtentType::sparse && e.type != ExtentType::flat && e.type != ExtentType::zero &&
      e.type != ExtentType::vmfs)
    return false;
  if (!e.extra.empty()) return false;
  return body == canonical_extent(e);
}

}  // namespace

std::size_t virtualbox_additions(const Descriptor& d) {
  static constexpr std::array<std::string_view, 4> kKeys{
      "ddb.uuid.image", "ddb.uuid.parent", "ddb.uuid.modification", "ddb.uuid.parentmodification"};
  std::size_t n = 0;
  for (std::string_view key : kKeys)
    if (!d.find(key)) n += key.size() + 1 + 38 + 1;  // key="GUID"\n
  return n;
}

void lint_virtualbox_first_line(LintContext& c) {
  // VirtualBox: the first line must be the "# Disk DescriptorFile" comment.
  if (c.raw.empty() || !virtualbox_first_line(c.raw[0].body))
    c.add("vbox-first-line", 0, kVirtualBox, LintSeverity::error, true,
          "VirtualBox requires '# Disk DescriptorFile' as the very first line",
          "VMDK: descriptor does not start as expected in '<file>'");
}

void lint_virtualbox_version(LintContext& c) {
  // Descriptor version: VirtualBox reads version=1 only.
  if (const DescriptorLine* v = c.descriptor.find("version"); v && v->value != "1") {
    LintFinding& f = c.add("vbox-version", v->number, kVirtualBox, LintSeverity::warning, false,
                           "VirtualBox accepts only descriptor version 1",
                           "VMDK: unsupported format version in descriptor in '<file>'");
    f.key = v->key;
    f.value = v->value;
  }
}

void lint_virtualbox_structure(LintContext& c) {
  // Entries in order: header keys, then extents, then ddb (comments and blank lines anywhere).
  enum { header, extents, ddb } section = header;
  bool seen_header = false, seen_extent = false;
  for (const DescriptorLine& l : c.descriptor.lines) {
    if (l.kind == DescriptorLine::Kind::blank || l.kind == DescriptorLine::Kind::comment) continue;
    const std::string_view b = c.body(l.number);
    const bool is_ext = b.starts_with("RW") || b.starts_with("RDONLY") || b.starts_with("NOACCESS");
    const bool is_ddb = b.starts_with("ddb.");
    bool bad = false;
    if (is_ext) {
      bad = !seen_header || section == ddb;
      section = extents;
      seen_extent = true;
    } else if (is_ddb) {
      bad = !seen_header || !seen_extent;
      section = ddb;
    } else {
      bad = section != header;
      seen_header = true;
    }
    if (bad) {
      LintFinding& f = c.add("vbox-entry-order", l.number, kVirtualBox, LintSeverity::error, false,
                             "VirtualBox requires header entries, then extent lines, then ddb "
                             "entries, each line starting in the first column",
                             "VMDK: incorrect ordering of entries in descriptor in '<file>'");
      f.key = l.key;
      f.value = std::string(b);
      break;  // VirtualBox stops at the first one
    }
  }
  std::size_t n_extents = 0;
  for (const DescriptorLine& l : c.descriptor.lines) {
    if (l.kind != DescriptorLine::Kind::extent) continue;
    ++n_extents;
    if (!virtualbox_extent_ok(c.body(l.number), l.extent)) {
      const ExtentType t = l.extent.type;
      const bool fixable = (t == ExtentType::sparse || t == ExtentType::flat ||
                            t == ExtentType::zero || t == ExtentType::vmfs) &&
                           l.extent.extra.empty() &&
                           (t == ExtentType::zero || l.extent.file.has_value());
      LintFinding& f = c.add("vbox-extent", l.number, kVirtualBox, LintSeverity::error, fixable,
                             "VirtualBox reads extent lines only in the exact form "
                             "'ACCESS SECTORS TYPE \"FILE\" [OFFSET]' (single spaces, upper "
                             "case, type SPARSE/FLAT/ZERO/VMFS)",
                             "VMDK: parse error in extent description in '<file>'");
      f.value = std::string(c.body(l.number));
    }
  }
  if (!c.options.standalone && n_extents != 1)
    c.add("vbox-one-extent", 0, kVirtualBox, LintSeverity::error, false,
          fmt::format("an embedded descriptor must name exactly one extent, found {}", n_extents),
          "VMDK: monolithic image may only have one extent in '<file>'");
  if (c.options.area_bytes > 0) {
    const std::size_t need = virtualbox_additions(c.descriptor);
    const std::uint64_t used = c.text.size();
    const std::uint64_t room = c.options.area_bytes > used ? c.options.area_bytes - used : 0;
    if (need > 0 && room < need)
      c.add("vbox-room", 0, kVirtualBox, LintSeverity::warning, false,
            fmt::format("VirtualBox adds its ddb.uuid.* keys (about {} bytes) when it opens the "
                        "disk, but only {} of the {} descriptor bytes are free; an overflow "
                        "overwrites the grain directory",
                        need, room, c.options.area_bytes));
  }
}

}  // namespace vdisk::vmdk::lint
