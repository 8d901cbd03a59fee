// Descriptor lint, VirtualBox's rules (see lint_rules.h), as its VMDK backend pre-processes a
// descriptor: the first line, descriptor version 1, header entries then extents then ddb entries
// (classified by how each line starts), strict extent syntax, one extent in an embedded
// descriptor, and room for the ddb.uuid.* keys it adds on a read-write open.
#include <fmt/format.h>

#include <array>

#include "formats/vmdk/doctor/lint_rules.h"

namespace vdisk::vmdk::lint {
namespace {

// VirtualBox's strict extent syntax: ACCESS SP SECTORS SP TYPE [SP "FILE" [SP OFFSET]].
bool virtualbox_extent_ok(std::string_view body, const ExtentLine& e) {
  if (e.type != ExtentType::sparse && e.type != ExtentType::flat && e.type != ExtentType::zero &&
      e.type != ExtentType::vmfs)
    return false;
  if (!e.extra.empty()) return false;
  return body == canonical_extent(e);
}

std::string_view trim_left(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  return s;
}

// The section a parsed entry or extent line belongs to (what repair sorts by).
VirtualBoxSection model_section(const DescriptorLine& l) {
  if (l.kind == DescriptorLine::Kind::extent) return VirtualBoxSection::extents;
  if (l.kind == DescriptorLine::Kind::entry)
    return is_ddb_key(l.key) ? VirtualBoxSection::ddb : VirtualBoxSection::header;
  return VirtualBoxSection::none;
}

}  // namespace

bool virtualbox_first_line(std::string_view body) {
  return body == "# Disk DescriptorFile" || body == "# Disk Descriptor File" ||
         body == "#Disk Descriptor File" || body == "#Disk DescriptorFile";
}

bool commented_ddb_entry(std::string_view body) {
  if (body.empty() || body.front() != '#') return false;
  body = trim_left(body.substr(1));
  if (body.size() < 5 || !iequals(body.substr(0, 4), "ddb.")) return false;
  const std::size_t eq = body.find('=');
  return eq != std::string_view::npos && eq > 4;
}

VirtualBoxSection virtualbox_section(std::string_view body) {
  if (body.empty() || body.front() == '#') return VirtualBoxSection::none;
  if (body.starts_with("RW") || body.starts_with("RDONLY") || body.starts_with("NOACCESS"))
    return VirtualBoxSection::extents;
  if (body.starts_with("ddb.")) return VirtualBoxSection::ddb;
  return VirtualBoxSection::header;
}

std::size_t virtualbox_additions(const Descriptor& d) {
  std::size_t n = 0;
  for (std::string_view key : kVirtualBoxUuidKeys)
    if (!d.find(key)) n += virtualbox_uuid_line_bytes(key);  // key="GUID"\n
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

namespace {

// Repair can sort the entries into VirtualBox's order when every entry line, written from the
// first column, falls into the section its parsed kind belongs to, and the sections an entry
// needs before it are not empty (extents need a header entry, ddb entries an extent).
bool order_fixable(const LintContext& c) {
  std::size_t header = 0, extents = 0, ddb = 0;
  for (const DescriptorLine& l : c.descriptor.lines) {
    const VirtualBoxSection want = model_section(l);
    if (want == VirtualBoxSection::none) continue;
    std::string_view b = trim_left(c.body(l.number));
    std::string canonical;
    if (l.kind == DescriptorLine::Kind::extent) b = canonical = canonical_extent(l.extent);
    if (virtualbox_section(b) != want) return false;
    (want == VirtualBoxSection::header ? header : want == VirtualBoxSection::extents ? extents : ddb)++;
  }
  return (header > 0 || extents + ddb == 0) && (extents > 0 || ddb == 0);
}

}  // namespace

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
      LintFinding& f = c.add("vbox-entry-order", l.number, kVirtualBox, LintSeverity::error,
                             order_fixable(c),
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
    if (need > 0 && room < need) {
      // Repair may drop commented-out ddb lines (inert for every consumer) to make room.
      std::uint64_t droppable = 0;
      for (const RawLine& l : c.raw)
        if (commented_ddb_entry(l.body)) droppable += l.body.size() + l.end.size();
      const bool fixable = room + droppable >= need;
      c.add("vbox-room", 0, kVirtualBox, LintSeverity::warning, fixable,
            fmt::format(
                "VirtualBox adds its ddb.uuid.* keys ({} bytes) when it first opens the disk "
                "read-write, but only {} of the {} descriptor bytes are free; it then cannot "
                "write its descriptor (versions that did not check overwrote the grain "
                "directory){}",
                need, room, c.options.area_bytes,
                fixable ? "; repair drops commented-out ddb lines to make room"
                        : "; remedy: delete comment lines (descriptor extract, edit, descriptor "
                          "replace), copy the disk to a VMDK with a larger descriptor area "
                          "(qemu-img convert -O vmdk writes 20 sectors), or attach it read-only "
                          "in VirtualBox (it adds the keys only on read-write opens)"),
            "VMDK: descriptor too long in '<file>'");
    }
  }
}

}  // namespace vdisk::vmdk::lint
